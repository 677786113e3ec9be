import { once } from "node:events";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { InvalidValueError } from "../../../domain/errors.ts";
import type { Subscription } from "../../../domain/subscription.ts";
import { parseFeedCursor } from "../../../services/event-feed-service.ts";
import type { Principal } from "../../../services/principal.ts";
import type { RouteDeps } from "../../app.ts";
import { bearerSecret, principalOf } from "../../plugins/authentication.ts";
import { nativeRef } from "../../schemas/native-schemas.ts";
import { bearer, problems } from "../common-responses.ts";

const TAGS = ["events"];
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;
/** Events one stream reads at once from the feed. */
const STREAM_PAGE = 200;

const FeedQuery = Type.Object({
  after: Type.Optional(
    // No length bound here: any malformed cursor, a long one too, is CURSOR_INVALID (parseFeedCursor).
    Type.String({
      description:
        "The `sequence` of the last event seen (the `next` of the previous page); 0 or absent: from the beginning",
    }),
  ),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, description: "Events per page (default 100; maximum configured)" }),
  ),
  subscription: Type.Optional(
    Type.String({
      description: "Apply this subscription's filters (types, issuer, card set) instead of the defaults",
    }),
  ),
});

const StreamQuery = Type.Object({
  after: Type.Optional(
    // No length bound here: any malformed cursor, a long one too, is CURSOR_INVALID (parseFeedCursor).
    Type.String({
      description:
        "Start after this `sequence` (`Last-Event-ID` wins when both are given); absent: new events only",
    }),
  ),
  subscription: FeedQuery.properties.subscription,
});

type FeedQueryType = { after?: string; limit?: number; subscription?: string };

/**
 * The event feed, two ways: a pull feed (`after=<cursor>`, for notify-then-pull and for catching up
 * after an outage) and a server-sent event stream resumable with `Last-Event-ID`. Both read the same
 * feed, in commit order, through any hub process.
 */
export function eventRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  /** Whether the token that opened a stream would still be accepted: a revoked or expired one ends it. */
  const stillAuthorised = async (request: FastifyRequest): Promise<boolean> => {
    const secret = bearerSecret(request.headers.authorization);
    if (secret === undefined) return false;
    try {
      await services.tokens.authenticate(secret, "change-notification");
      return true;
    } catch {
      return false;
    }
  };
  const subscriptionOf = async (caller: Principal, id: string | undefined): Promise<Subscription | null> =>
    id === undefined ? null : services.subscriptions.find(caller, id);

  app.get<{ Querystring: FeedQueryType }>(
    "/events",
    {
      config: { auth: true, purpose: "change-notification" },
      schema: {
        operationId: "listEvents",
        tags: TAGS,
        summary: "The pull feed: events the caller may see, after a cursor",
        description:
          "Page with `after` = the previous answer's `next` (also every event's `sequence`). An empty page with a `next` further on means " +
          "events were looked through that the caller may not see. Events are CloudEvents (docs/events.md).",
        security: bearer,
        querystring: FeedQuery,
        response: {
          200: {
            description: "A page of events",
            content: {
              "application/json": {
                schema: Type.Object({
                  items: Type.Array(nativeRef("CloudEvent")),
                  next: Type.String({ description: "Cursor of the next page: pass it as `after`" }),
                }),
              },
            },
          },
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      services.events.authorise(caller);
      const limit = request.query.limit ?? Math.min(100, options.maxPageSize);
      if (limit > options.maxPageSize) {
        throw new InvalidValueError("PAGE_SIZE_TOO_LARGE", "limit", `must be at most ${options.maxPageSize}`);
      }
      const after = parseFeedCursor(request.query.after, "after") ?? 0;
      const subscription = await subscriptionOf(caller, request.query.subscription);
      return services.events.page(caller, { after, limit, subscription });
    },
  );

  app.get<{ Querystring: { after?: string; subscription?: string }; Headers: { "last-event-id"?: string } }>(
    "/events/stream",
    {
      config: { auth: true, purpose: "change-notification" },
      schema: {
        operationId: "streamEvents",
        tags: TAGS,
        summary: "Server-sent events: the feed, live",
        description:
          "Each message: `id` = the event's `sequence`, `event` = its CloudEvents type, `data` = the CloudEvent. " +
          "Reconnect with `Last-Event-ID` to resume without a gap. Any hub process serves any stream.",
        security: bearer,
        querystring: StreamQuery,
        response: {
          200: {
            description: "An endless stream of events",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const caller = principalOf(request);
      services.events.authorise(caller);
      const resumeFrom =
        parseFeedCursor(request.headers["last-event-id"], "last-event-id") ??
        parseFeedCursor(request.query.after, "after");
      const subscription = await subscriptionOf(caller, request.query.subscription);
      if (request.method === "HEAD") {
        // The stream's headers, without the stream: a HEAD must end.
        return reply.code(200).header("content-type", "text/event-stream; charset=utf-8").send();
      }
      let after = resumeFrom ?? (await services.events.latest());
      const watch = services.delivery.feedWatch;
      reply.hijack();
      const raw = reply.raw;
      let open = true;
      raw.on("close", () => {
        open = false;
        watch.notify();
      });
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
        // The connection ends with the stream: a client reconnects on a new one, and a stopping hub does
        // not wait for a kept-alive socket left behind.
        connection: "close",
      });
      raw.write("retry: 2000\n\n");
      try {
        while (open && !watch.closed) {
          const page = await services.events.page(caller, { after, limit: STREAM_PAGE, subscription });
          const moved = Number(page.next) !== after;
          after = Number(page.next);
          for (const event of page.items) {
            const message = `id: ${event.sequence}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
            // A slow reader: wait for it, or for it to hang up (a drain that never comes must not hold us).
            if (!raw.write(message) && open) await Promise.race([once(raw, "drain"), once(raw, "close")]);
          }
          if (moved) continue;
          const woken = await watch.wait(KEEP_ALIVE_MS);
          // Before anything more goes out: the token must still hold (not revoked, not expired).
          if (!open || !(await stillAuthorised(request))) break;
          if (!woken) raw.write(": keep-alive\n\n");
        }
      } catch (error) {
        // The store went away mid-stream: end it; the client resumes with Last-Event-ID.
        request.log.warn({ err: error }, "event stream ended by an error");
      } finally {
        raw.end();
      }
    },
  );
}
