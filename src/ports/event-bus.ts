import type { StoredEvent } from "../domain/events.ts";

/**
 * The event bus: the relay publishes outbox events on it, in feed order; consumer groups do the work that
 * follows (fanning events out to webhook subscriptions), and every hub process can watch it to wake its
 * server-sent-event streams. Two adapters: in-process (the embedded default) and NATS JetStream.
 *
 * Delivery is at least once. Consumers must be idempotent by event id: after a crash the relay may publish
 * an event again, and a group may see a batch again when a member dies before acknowledging it.
 */
export interface EventBus {
  readonly kind: "memory" | "nats";
  /** Connects and creates what the bus needs (stream, consumers); rejects within a bounded time. */
  init(): Promise<void>;
  /** Stops every consumer and watcher of this process and disconnects; idempotent. */
  close(): Promise<void>;
  /**
   * Publishes `events` in order. Resolves when the bus holds them: stored durably (JetStream acknowledged
   * them) or, in process, handled by every consumer group of this process. Rejects when any is not: the
   * caller publishes them again later. An event whose id was already published within the de-duplication
   * window is dropped, not delivered twice.
   */
  publish(events: readonly StoredEvent[]): Promise<void>;
  /**
   * Joins consumer group `group` (durable: it outlives processes). Each event reaches one member of each
   * group; batches are handed out one at a time across the whole group, in publish order, so a group sees
   * events in order even when several processes share it. A batch is acknowledged when `handler` resolves;
   * when it rejects, or the member dies first, the batch is delivered again (to any member).
   */
  consume(group: string, handler: BatchHandler, options?: ConsumeOptions): Promise<BusConsumer>;
  /**
   * Calls `listener` for every event published from now on, by any process sharing the bus. Best effort
   * (no acknowledgement, no replay): for waking readers that then read the feed, never as the record.
   */
  watch(listener: (event: StoredEvent) => void): Promise<BusConsumer>;
}

export type BatchHandler = (batch: readonly StoredEvent[]) => Promise<void>;

export interface ConsumeOptions {
  /** Most events handed to one call of the handler (default 256). */
  readonly batchSize?: number;
}

export interface BusConsumer {
  /** Stops receiving; a batch being handled is finished (or left unacknowledged) first. */
  stop(): Promise<void>;
}

/** The bus partition of an event: its family (the type's first word) and the organisation it is about. */
export interface EventPartition {
  readonly family: string;
  readonly issuer: string;
}
