import type { StoredEvent } from "../../../domain/events.ts";
import { type Clock, systemClock } from "../../../ports/clock.ts";
import type { BatchHandler, BusConsumer, ConsumeOptions, EventBus } from "../../../ports/event-bus.ts";

/** Where the bus reports a watcher that threw (pino's logger fits). */
export interface MemoryEventBusLog {
  warn(details: object, message: string): void;
}

export interface MemoryEventBusOptions {
  /** How many recently published event ids are remembered to drop a second publication (default 100,000). */
  readonly duplicateWindowSize?: number;
  /** How long an id is remembered, like JetStream's duplicate window (default 120,000 ms). */
  readonly duplicateWindowMs?: number;
  readonly clock?: Clock;
  readonly log?: MemoryEventBusLog;
}

const DEFAULT_BATCH_SIZE = 256;

interface Member {
  readonly handler: BatchHandler;
  readonly batchSize: number;
  /** The batch being handled, so that `stop` can wait for it. */
  running: Promise<void> | undefined;
}

/**
 * The event bus of a single hub process, and the embedded default: `publish` hands the events, in order,
 * to every consumer group with a member in this process (one member per batch, in turn) and resolves once
 * each group has handled them, so the relay moves its cursor only past handled events. When a handler
 * rejects, `publish` rejects and the relay publishes again later; groups that had already handled the
 * events then see them again (at least once, as the port says).
 *
 * Nothing is kept: a group with no member when events are published never gets them, and the bus forgets
 * everything when the process stops. That is sound because the outbox, not the bus, is the record: a
 * group reads what it needs from the feed, with its own cursor, and the bus only says that there is more.
 *
 * Publications run one at a time, so a group sees events in publish order. A handler must therefore not
 * wait for a `publish` on the same bus.
 *
 * ```ts
 * const bus = new MemoryEventBus();
 * await bus.init();
 * await bus.consume("webhooks", async (batch) => dispatcher.handle(batch), { batchSize: 100 });
 * await bus.publish(events); // resolves once "webhooks" has handled them
 * ```
 */
export class MemoryEventBus implements EventBus {
  readonly kind = "memory";
  readonly #groups = new Map<string, { members: Member[]; next: number }>();
  readonly #watchers = new Set<(event: StoredEvent) => void>();
  /** Recently published ids with when they were published, oldest first (a Map keeps insertion order). */
  readonly #published = new Map<string, number>();
  readonly #windowSize: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #log: MemoryEventBusLog | undefined;
  /** The publication under way: the next one starts after it. */
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: MemoryEventBusOptions = {}) {
    this.#windowSize = positiveInteger(options.duplicateWindowSize ?? 100_000, "duplicateWindowSize");
    this.#windowMs = positiveInteger(options.duplicateWindowMs ?? 120_000, "duplicateWindowMs");
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log;
  }

  async init(): Promise<void> {
    if (this.#closed) throw new Error("the event bus is closed");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.clear();
    const members = [...this.#groups.values()].flatMap((group) => group.members);
    this.#groups.clear();
    await Promise.all(members.map((member) => stopMember(member)));
  }

  publish(events: readonly StoredEvent[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the event bus is closed"));
    const run = this.#tail.then(() => this.#publishNow(events));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async consume(group: string, handler: BatchHandler, options: ConsumeOptions = {}): Promise<BusConsumer> {
    if (this.#closed) throw new Error("the event bus is closed");
    if (group === "") throw new TypeError("a consumer group needs a name");
    const member: Member = {
      handler,
      batchSize: positiveInteger(options.batchSize ?? DEFAULT_BATCH_SIZE, "batchSize"),
      running: undefined,
    };
    let entry = this.#groups.get(group);
    if (entry === undefined) {
      entry = { members: [], next: 0 };
      this.#groups.set(group, entry);
    }
    entry.members.push(member);
    return {
      stop: async () => {
        const current = this.#groups.get(group);
        if (current !== undefined) {
          current.members = current.members.filter((m) => m !== member);
          if (current.members.length === 0) this.#groups.delete(group);
        }
        await stopMember(member);
      },
    };
  }

  async watch(listener: (event: StoredEvent) => void): Promise<BusConsumer> {
    if (this.#closed) throw new Error("the event bus is closed");
    // A distinct function per call, so that watching twice with one listener gives two watchers.
    const watcher = (event: StoredEvent) => listener(event);
    this.#watchers.add(watcher);
    return {
      stop: async () => {
        this.#watchers.delete(watcher);
      },
    };
  }

  async #publishNow(events: readonly StoredEvent[]): Promise<void> {
    if (this.#closed) throw new Error("the event bus is closed");
    const now = this.#clock.now().getTime();
    this.#forgetOldIds(now);
    const fresh: StoredEvent[] = [];
    const seen = new Set<string>();
    for (const event of events) {
      if (this.#published.has(event.id) || seen.has(event.id)) continue;
      seen.add(event.id);
      fresh.push(event);
    }
    if (fresh.length === 0) return;
    const outcomes = await Promise.allSettled(
      [...this.#groups.keys()].map((group) => this.#deliver(group, fresh)),
    );
    const failed = outcomes.find((outcome) => outcome.status === "rejected");
    // Ids are remembered only once every group has the events: the relay's next attempt must get through.
    if (failed !== undefined) throw failed.reason;
    for (const event of fresh) {
      this.#published.delete(event.id);
      this.#published.set(event.id, now);
    }
    this.#forgetOldIds(now);
    for (const event of fresh) {
      for (const watcher of this.#watchers) {
        try {
          watcher(event);
        } catch (error) {
          this.#log?.warn(
            { err: error, eventId: event.id },
            "an event bus watcher threw; the event is published",
          );
        }
      }
    }
  }

  /** Hands `events` to `group` in batches, each to the next member in turn; stops at the first failure. */
  async #deliver(group: string, events: readonly StoredEvent[]): Promise<void> {
    let from = 0;
    while (from < events.length) {
      const entry = this.#groups.get(group);
      if (entry === undefined || entry.members.length === 0) return;
      const member = entry.members[entry.next % entry.members.length]!;
      entry.next = (entry.next + 1) % entry.members.length;
      const batch = events.slice(from, from + member.batchSize);
      const running = (async () => member.handler(batch))();
      member.running = running.then(
        () => undefined,
        () => undefined,
      );
      try {
        await running;
      } finally {
        member.running = undefined;
      }
      from += batch.length;
    }
  }

  #forgetOldIds(now: number): void {
    for (const [id, at] of this.#published) {
      if (this.#published.size <= this.#windowSize && now - at < this.#windowMs) break;
      this.#published.delete(id);
    }
  }
}

async function stopMember(member: Member): Promise<void> {
  // Taken out of its group already, so it gets no further batch; the one under way is finished.
  await member.running;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`);
  return value;
}
