import { type CloudEvent, toCloudEvent } from "../domain/cloud-event.ts";
import { readerProjection } from "../domain/delivery-rules.ts";
import { InvalidValueError } from "../domain/errors.ts";
import { eventFamily } from "../domain/events.ts";
import type { Subscription } from "../domain/subscription.ts";
import { type Principal, requireScope } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

export interface FeedPage {
  readonly items: readonly CloudEvent[];
  /** Where the next page starts: the position of the last event looked at (seen or not). */
  readonly next: string;
}

/** Outbox rows one page may look through for the caller's events, so that a sparse feed stays cheap. */
const SCAN_LIMIT = 5000;

/** A cursor of the feed: an event's `sequence` (its position); "0" is the beginning. */
export function parseFeedCursor(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d{1,15}$/.test(value.trim())) {
    throw new InvalidValueError(
      "CURSOR_INVALID",
      field,
      "must be the `sequence` of an event (a whole number), or 0 for the beginning",
    );
  }
  return Number(value.trim());
}

/**
 * The event feed as one organisation may see it: the pull feed (`after=<cursor>`) and the server-sent
 * event stream both read it. The feed is the outbox itself, in commit order, so any hub process serves
 * it, a reader that pages on from its cursor misses nothing, and a subscriber back from an outage catches
 * up here. The caller sees the events of its own audience in full and, when it names one of its
 * subscriptions, that subscription's filters apply, including the public form of card events for the
 * cards it follows.
 */
export class EventFeedService {
  readonly #ctx: Pick<ServiceContext, "storage">;
  readonly #publicUrl: string;

  constructor(ctx: Pick<ServiceContext, "storage">, options: { publicUrl: string }) {
    this.#ctx = ctx;
    this.#publicUrl = options.publicUrl;
  }

  authorise(caller: Principal): void {
    requireScope(caller, "events:read");
  }

  /** Position of the newest event: where a stream that asks for new events only starts. */
  latest(): Promise<number> {
    return this.#ctx.storage.read.outbox.latestPosition();
  }

  async page(
    caller: Principal,
    options: { after: number; limit: number; subscription: Subscription | null },
  ): Promise<FeedPage> {
    requireScope(caller, "events:read");
    const reader = options.subscription ?? {
      id: "",
      organisationId: caller.organisation.id,
      types: null,
      issuer: null,
      cardSet: false,
    };
    const read = this.#ctx.storage.read;
    const items: CloudEvent[] = [];
    let next = options.after;
    let scanned = 0;
    while (items.length < options.limit && scanned < SCAN_LIMIT) {
      const chunk = await read.outbox.readAfter(next, Math.min(500, SCAN_LIMIT - scanned));
      if (chunk.length === 0) break;
      scanned += chunk.length;
      const followed = options.subscription
        ? await followedCards(
            read,
            options.subscription,
            chunk.map((e) => (eventFamily(e.type) === "card" ? e.subject : "")),
          )
        : new Set<string>();
      for (const event of chunk) {
        next = event.position;
        const projection = readerProjection(event, reader, followed.has(event.subject));
        if (projection !== null) {
          items.push(toCloudEvent(event, projection, this.#publicUrl));
          if (items.length === options.limit) break;
        }
      }
    }
    return { items, next: String(next) };
  }
}

async function followedCards(
  read: ServiceContext["storage"]["read"],
  subscription: Subscription,
  subjects: readonly string[],
): Promise<Set<string>> {
  const escns = [...new Set(subjects.filter((s) => s !== ""))];
  if (escns.length === 0) return new Set();
  const holders = await read.subscriptions.holdersOfCards(escns);
  return new Set(escns.filter((escn) => holders.get(escn)?.includes(subscription.id)));
}
