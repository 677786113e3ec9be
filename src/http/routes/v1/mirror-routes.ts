import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { MIRROR_JOB_KINDS, MIRROR_OPERATIONS, type MirrorJob } from "../../../domain/mirror-job.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { data } from "../../schemas/data-annotation.ts";
import { KeysetQuery } from "../../schemas/native-schemas.ts";
import { literals, nullable } from "../../schemas/schema-helpers.ts";
import { bearer, problems } from "../common-responses.ts";
import { encodeCursor, keysetPage } from "./keyset-cursor.ts";

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const TAGS = ["mirror"];
const config = { auth: true, purpose: "card-management" } as const;
const progress = data("mirror.progress");

const MirrorReport = Type.Object(
  {
    organisation: Type.String({
      description: "The mirrored organisation: the caller's",
      ...data("organisation.id"),
    }),
    url: Type.String({
      description: "The router's base URL (its token is never shown)",
      ...data("mirror.router"),
    }),
    pending: Type.Integer({ description: "Persons and cards waiting to be pushed", ...progress }),
    retrying: Type.Integer({ description: "Of those, how many failed their latest attempt", ...progress }),
    done: Type.Integer({ description: "Persons and cards the router holds as the hub does", ...progress }),
    refused: Type.Integer({ description: "Persons and cards the router refused", ...progress }),
    lastSuccessAt: nullable(Type.String({ format: "date-time" }), {
      description: "When the router last accepted a change",
      ...progress,
    }),
    lastFailure: nullable(
      Type.Object(
        {
          at: Type.String({ format: "date-time", ...progress }),
          status: nullable(Type.Integer(), progress),
          code: nullable(Type.String(), progress),
          message: Type.String(progress),
        },
        { additionalProperties: false },
      ),
      {
        description: "The latest failed attempt of a job still pending (the router down, a bad token…)",
        ...progress,
      },
    ),
  },
  { description: "What the organisation's mirror to its ESC Router has done" },
);

const Refusal = Type.Object({
  kind: literals(MIRROR_JOB_KINDS, data("mirrorJob.state")),
  subject: Type.String({ description: "The person's ESI, or the card's ESCN", ...data("mirrorJob.subject") }),
  operation: literals(MIRROR_OPERATIONS, data("mirrorJob.state")),
  status: Type.Integer({ description: "The router's HTTP status", ...data("mirrorJob.attempts") }),
  code: nullable(Type.String(), { description: "The router's error code", ...data("mirrorJob.attempts") }),
  message: Type.String({ description: "The router's error message", ...data("mirrorJob.attempts") }),
  refusedAt: Type.String({ format: "date-time", ...data("mirrorJob.attempts") }),
  queuedAt: Type.String({
    format: "date-time",
    description: "When the change it refused was queued",
    ...data("mirrorJob.attempts"),
  }),
});

function refusalView(job: MirrorJob) {
  return {
    kind: job.kind,
    subject: job.subject,
    operation: job.operation ?? "PUT",
    status: job.lastStatus ?? 0,
    code: job.lastCode,
    message: job.lastMessage ?? "",
    refusedAt: job.settledAt ?? job.lastAttemptAt ?? job.queuedAt,
    queuedAt: job.queuedAt,
  };
}

/**
 * The report of the caller organisation's mirror to an ESC Router (`OPENESC_MIRRORS`): its progress, and
 * the persons and cards the router refused with the router's own words. An organisation without a mirror
 * gets 404 `MIRROR_NOT_FOUND`; nobody sees another organisation's mirror.
 */
export function mirrorRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  app.get(
    "/mirror",
    {
      config,
      schema: {
        operationId: "getMirror",
        tags: TAGS,
        summary: "The caller's mirror to its ESC Router: pending, done and refused, last success and failure",
        security: bearer,
        response: { 200: json(MirrorReport, "The report"), ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const { organisationId, ...report } = await services.mirrors.report(principalOf(request));
      return { organisation: organisationId, ...report };
    },
  );

  app.get<{ Querystring: { after?: string; limit?: number } }>(
    "/mirror/refusals",
    {
      config,
      schema: {
        operationId: "listMirrorRefusals",
        tags: TAGS,
        summary: "The persons and cards the caller's ESC Router refused, with its words, cursor-paged",
        description:
          "A refused change is not sent again until the person or card changes at the hub; then its job is queued again and leaves this list.",
        security: bearer,
        querystring: Type.Object(KeysetQuery),
        response: {
          200: json(
            Type.Object({
              items: Type.Array(Refusal),
              next: nullable(Type.String({ description: "Cursor of the next page; null on the last page" })),
            }),
            "A page",
          ),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const page = await services.mirrors.refusals(
        principalOf(request),
        keysetPage(request.query, options.maxPageSize),
      );
      return { items: page.items.map(refusalView), next: encodeCursor(page.next) };
    },
  );
}
