import type { Clock } from "../ports/clock.ts";
import type { EventBus } from "../ports/event-bus.ts";
import type { Storage } from "../ports/storage.ts";
import type { LeaderLock } from "../services/leader-lock.ts";
import { DISPATCH_CURSOR } from "./event-dispatcher.ts";

/** The relay's place in the feed: the position of the last event the bus holds. */
export const RELAY_CURSOR = "relay";

/** The lease was lost between reading and recording: another process relays now. */
class RelayLeaseLost extends Error {}

/**
 * Moves outbox events, in feed order, to the bus. One process at a time relays (the lease "relay"); its
 * place in the feed is a cursor in the store, moved only after the bus has the events, so a crash at any
 * moment means publishing some events again (the bus drops them by id; consumers are idempotent), never
 * skipping one.
 *
 * When the relay first runs on a store it starts at the feed's end: earlier events stay in the pull feed
 * and are not published again.
 */
export class OutboxRelay {
  readonly #storage: Storage;
  readonly #bus: EventBus;
  readonly #lock: LeaderLock;
  readonly #batchSize: number;
  readonly #clock: Clock;
  readonly #leaseCheckMs: number;
  /** Until when this process may relay without asking the store again (a fraction of the lease's life). */
  #trustedUntil = 0;

  constructor(
    storage: Storage,
    bus: EventBus,
    lock: LeaderLock,
    options: { clock: Clock; leaseTtlMs: number; batchSize?: number },
  ) {
    this.#storage = storage;
    this.#bus = bus;
    this.#lock = lock;
    this.#clock = options.clock;
    this.#leaseCheckMs = Math.floor(options.leaseTtlMs / 3);
    this.#batchSize = options.batchSize ?? 500;
  }

  /** Publishes the next batch; true when more may be waiting. False at once when another process relays. */
  async runOnce(): Promise<boolean> {
    // Each recorded batch renews the lease in its own transaction; between batches, ask the store only
    // now and then, so that an idle relay woken by every commit costs no extra write per commit.
    const now = this.#clock.now().getTime();
    if (now >= this.#trustedUntil) {
      if (!(await this.#lock.acquire())) return false;
      this.#trustedUntil = now + this.#leaseCheckMs;
    }
    const stored = await this.#storage.read.cursors.get(RELAY_CURSOR);
    if (stored === undefined) {
      await this.#record(await this.#storage.read.outbox.latestPosition(), { alsoDispatch: true });
      return true;
    }
    const events = await this.#storage.read.outbox.readAfter(Number(stored), this.#batchSize);
    if (events.length === 0) return false;
    await this.#bus.publish(events);
    await this.#record(events[events.length - 1]?.position ?? Number(stored));
    return events.length === this.#batchSize;
  }

  /** Gives the lease up (at shutdown), so that another process takes over without waiting for it to lapse. */
  release(): Promise<void> {
    this.#trustedUntil = 0;
    return this.#lock.release();
  }

  /**
   * Moves the relay's cursor. The first time, the dispatcher's starts at the same place: no subscription
   * existed before, so there is nothing earlier to fan out (and a long history is not read for nothing).
   */
  async #record(position: number, options: { alsoDispatch?: boolean } = {}): Promise<void> {
    try {
      await this.#storage.transaction(async (tx) => {
        if (!(await this.#lock.holdsIn(tx))) throw new RelayLeaseLost();
        if (options.alsoDispatch && (await tx.cursors.getForUpdate(DISPATCH_CURSOR)) === undefined) {
          await tx.cursors.set(DISPATCH_CURSOR, String(position));
        }
        this.#trustedUntil = this.#clock.now().getTime() + this.#leaseCheckMs;
        await tx.cursors.set(RELAY_CURSOR, String(position));
      });
    } catch (error) {
      // Someone else took over: what we published stays published (and is dropped as a duplicate).
      if (!(error instanceof RelayLeaseLost)) throw error;
      this.#trustedUntil = 0;
    }
  }
}
