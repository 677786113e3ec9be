import { createHash } from "node:crypto";
import { deliveryProjection } from "../domain/delivery-rules.ts";
import { eventFamily, type StoredEvent } from "../domain/events.ts";
import type { NewDelivery } from "../domain/subscription.ts";
import type { Clock } from "../ports/clock.ts";
import type { Storage } from "../ports/storage.ts";

/** The dispatcher's place in the feed: every event up to this position has its deliveries queued. */
export const DISPATCH_CURSOR = "dispatch";

/** Consumer group on the bus whose members fan events out to webhook subscriptions. */
export const DISPATCH_GROUP = "openesc-dispatch";

/** The ordering key of a delivery: a hash of the subject, so that the queue keeps no ESI in the clear. */
export function subjectKey(subject: string): string {
  return createHash("sha256").update(subject.toLowerCase()).digest("hex");
}

/**
 * Fans events out into webhook deliveries: for each event, every active subscription that may see it
 * and wants it gets a delivery, queued in the store.
 *
 * A bus batch only says "the feed has grown up to here": the dispatcher reads the events themselves from
 * the outbox, from its own cursor on, under that cursor's lock. So whichever process of the consumer group
 * gets a batch, deliveries are queued exactly once and in feed order (which per-subject order rests on),
 * and a batch that arrives again after a crash finds nothing left to do.
 */
export class EventDispatcher {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #chunk: number;
  readonly #onQueued: () => void;

  constructor(storage: Storage, clock: Clock, options: { onQueued: () => void; chunk?: number }) {
    this.#storage = storage;
    this.#clock = clock;
    this.#onQueued = options.onQueued;
    this.#chunk = options.chunk ?? 500;
  }

  /** The bus consumer: queues the deliveries of every event up to the batch's last one. */
  async handle(batch: readonly StoredEvent[]): Promise<void> {
    const target = batch.reduce((max, e) => Math.max(max, e.position), 0);
    let queued = 0;
    for (;;) {
      const step = await this.#storage.transaction(async (tx) => {
        const cursor = Number((await tx.cursors.getForUpdate(DISPATCH_CURSOR)) ?? "0");
        if (cursor >= target) return { done: true, queued: 0 };
        const events = await tx.outbox.readAfter(cursor, this.#chunk);
        const last = events[events.length - 1];
        if (last === undefined) return { done: true, queued: 0 };
        const deliveries = await this.#deliveriesOf(tx, events);
        const added = deliveries.length > 0 ? await tx.deliveries.enqueue(deliveries) : 0;
        await tx.cursors.set(DISPATCH_CURSOR, String(last.position));
        return { done: last.position >= target, queued: added };
      });
      queued += step.queued;
      if (step.done) break;
    }
    if (queued > 0) this.#onQueued();
  }

  async #deliveriesOf(
    tx: Parameters<Parameters<Storage["transaction"]>[0]>[0],
    events: readonly StoredEvent[],
  ): Promise<NewDelivery[]> {
    const subscriptions = await tx.subscriptions.listActive();
    if (subscriptions.length === 0) return [];
    const escns = [...new Set(events.filter((e) => eventFamily(e.type) === "card").map((e) => e.subject))];
    const holders =
      escns.length > 0 ? await tx.subscriptions.holdersOfCards(escns) : new Map<string, string[]>();
    const createdAt = this.#clock.now().toISOString();
    const deliveries: NewDelivery[] = [];
    for (const event of events) {
      const following = new Set(holders.get(event.subject) ?? []);
      const key = subjectKey(event.subject);
      for (const subscription of subscriptions) {
        const projection = deliveryProjection(event, subscription, following.has(subscription.id));
        if (projection === null) continue;
        deliveries.push({
          subscriptionId: subscription.id,
          eventId: event.id,
          position: event.position,
          subjectKey: key,
          projection,
          createdAt,
        });
      }
    }
    return deliveries;
  }
}
