import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { nanos } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { isEventType, type StoredEvent } from "../../../domain/events.ts";
import type { BatchHandler, BusConsumer, ConsumeOptions, EventBus } from "../../../ports/event-bus.ts";
import { isNatsSubjectPrefix, natsConsumerName, natsSubjectFor } from "./nats-subject.ts";

/** Where the bus reports what it gets over by itself (pino's logger fits). */
export interface NatsEventBusLog {
  warn(details: object, message: string): void;
}

export interface NatsEventBusOptions {
  /** The NATS server(s), `NATS_URL`: `nats://127.0.0.1:4222`, or a comma-separated list of them. */
  readonly servers: string | readonly string[];
  /** The JetStream stream holding the events (default `OPENESC_EVENTS`). */
  readonly stream?: string;
  /** Events are published on `<prefix>.<family>.<issuer>` (default `openesc.events`). */
  readonly subjectPrefix?: string;
  /** Longest wait for any one NATS operation: connect, stream and consumer set-up, publish ack (5000). */
  readonly timeoutMs?: number;
  /** How long JetStream remembers an event id to drop a second publication (default 120,000 ms). */
  readonly duplicateWindowMs?: number;
  /** How long the stream keeps events (default 7 days): the longest a group may be away and catch up. */
  readonly maxAgeMs?: number;
  /** How long a delivered batch may stay unacknowledged before it goes to another member (30,000). */
  readonly ackWaitMs?: number;
  /** How long a batch whose handler failed waits before it is delivered again (default 1000 ms). */
  readonly nakDelayMs?: number;
  /** Connection name shown by the server's monitoring. */
  readonly name?: string;
  readonly log?: NatsEventBusLog;
}

const DEFAULT_BATCH_SIZE = 256;
/** Publications in flight at once: enough to keep the link busy, few enough to bound memory. */
const PUBLISH_PIPELINE = 512;
/** How long a member waits for the rest of a batch the server says is on its way. */
const BATCH_LINGER_MS = 10;
/** Pause before a member whose subscription failed starts again. */
const RESTART_DELAY_MS = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

interface Connected {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
}

/**
 * The event bus on NATS JetStream, for several hub processes: events are stored in one stream (file
 * storage, kept `maxAgeMs`), each on `<prefix>.<family>.<issuer>` with its id as `Nats-Msg-Id`, so the
 * stream drops a second publication within the duplicate window. A consumer group is a durable pull
 * consumer shared by every process that joins it; `max_ack_pending` equal to the batch size keeps one
 * batch in flight across the group. Works with NATS 2.9 (one filter per consumer, no metadata).
 *
 * ```ts
 * const bus = new NatsEventBus({ servers: process.env.NATS_URL! });
 * await bus.init(); // connects, creates or updates the stream
 * await bus.consume("webhooks", async (batch) => dispatcher.handle(batch));
 * ```
 *
 * Every NATS call is bounded by `timeoutMs`; the client reconnects by itself, without limit.
 */
export class NatsEventBus implements EventBus {
  readonly kind = "nats";
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly #options: NatsEventBusOptions;
  readonly #timeoutMs: number;
  readonly #members = new Set<NatsGroupMember>();
  readonly #watches = new Set<Subscription>();
  #ready: Promise<Connected> | undefined;
  #connected: Connected | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: NatsEventBusOptions) {
    this.#options = options;
    this.stream = options.stream ?? "OPENESC_EVENTS";
    this.subjectPrefix = options.subjectPrefix ?? "openesc.events";
    if (!/^[A-Za-z0-9_-]+$/.test(this.stream)) {
      throw new TypeError(`stream ${JSON.stringify(this.stream)}: letters, digits, "_" and "-" only`);
    }
    if (!isNatsSubjectPrefix(this.subjectPrefix)) {
      throw new TypeError(`subjectPrefix ${JSON.stringify(this.subjectPrefix)}: dot-separated, no wildcard`);
    }
    this.#timeoutMs = positive(options.timeoutMs ?? 5000, "timeoutMs");
    const window = positive(options.duplicateWindowMs ?? 120_000, "duplicateWindowMs");
    const maxAge = positive(options.maxAgeMs ?? 7 * DAY_MS, "maxAgeMs");
    if (window > maxAge) throw new TypeError("duplicateWindowMs cannot be longer than maxAgeMs");
    positive(options.ackWaitMs ?? 30_000, "ackWaitMs");
    positive(options.nakDelayMs ?? 1000, "nakDelayMs");
  }

  async init(): Promise<void> {
    if (this.#closing !== undefined) throw new Error("the event bus is closed");
    this.#ready ??= this.#connect().then(
      (connected) => {
        this.#connected = connected;
        return connected;
      },
      (error: unknown) => {
        this.#ready = undefined;
        throw error;
      },
    );
    await this.#ready;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async publish(events: readonly StoredEvent[]): Promise<void> {
    const { js } = this.#live();
    const timeout = this.#timeoutMs;
    for (let from = 0; from < events.length; from += PUBLISH_PIPELINE) {
      const chunk = events.slice(from, from + PUBLISH_PIPELINE);
      const acks = chunk.map((event) =>
        within(
          js.publish(natsSubjectFor(this.subjectPrefix, event), JSON.stringify(event), {
            msgID: event.id,
            timeout,
            expect: { streamName: this.stream },
          }),
          timeout,
          "publish acknowledgement",
        ),
      );
      // Every publication is settled before returning, so a late failure is never an unhandled rejection.
      const outcomes = await Promise.allSettled(acks);
      const failures = outcomes.filter((outcome) => outcome.status === "rejected");
      if (failures.length > 0) {
        throw new Error(`NATS did not acknowledge ${failures.length} of ${chunk.length} events`, {
          cause: failures[0]?.reason,
        });
      }
    }
  }

  async consume(group: string, handler: BatchHandler, options: ConsumeOptions = {}): Promise<BusConsumer> {
    const connected = this.#live();
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1)
      throw new TypeError("batchSize must be a positive integer");
    const member = new NatsGroupMember(connected, handler, {
      stream: this.stream,
      durable: natsConsumerName(group),
      filter: `${this.subjectPrefix}.>`,
      batchSize,
      timeoutMs: this.#timeoutMs,
      ackWaitMs: this.#options.ackWaitMs ?? 30_000,
      nakDelayMs: this.#options.nakDelayMs ?? 1000,
      log: this.#options.log,
    });
    // Registered first, so that a close() arriving while it starts stops it too.
    this.#members.add(member);
    try {
      await member.start();
    } catch (error) {
      this.#members.delete(member);
      await member.stop();
      throw error;
    }
    return {
      stop: async () => {
        this.#members.delete(member);
        await member.stop();
      },
    };
  }

  async watch(listener: (event: StoredEvent) => void): Promise<BusConsumer> {
    const { nc } = this.#live();
    const log = this.#options.log;
    const subscription = nc.subscribe(`${this.subjectPrefix}.>`, {
      callback: (error, message) => {
        if (error !== null) return;
        const event = decodeStoredEvent(message.data);
        if (event === undefined) return;
        try {
          listener(event);
        } catch (thrown) {
          log?.warn({ err: thrown, eventId: event.id }, "an event bus watcher threw");
        }
      },
    });
    this.#watches.add(subscription);
    try {
      // Once the server has the subscription, every later publication reaches it.
      await within(nc.flush(), this.#timeoutMs, "subscribe");
    } catch (error) {
      this.#watches.delete(subscription);
      subscription.unsubscribe();
      throw error;
    }
    return {
      stop: async () => {
        this.#watches.delete(subscription);
        subscription.unsubscribe();
      },
    };
  }

  #live(): Connected {
    if (this.#closing !== undefined) throw new Error("the event bus is closed");
    if (this.#connected === undefined) throw new TypeError("NatsEventBus: call init() first");
    return this.#connected;
  }

  async #connect(): Promise<Connected> {
    const timeout = this.#timeoutMs;
    const configured = this.#options.servers;
    // NATS_URL may list several servers, comma-separated; the client takes them as a list.
    const servers = (typeof configured === "string" ? configured.split(",") : [...configured])
      .map((server) => server.trim())
      .filter((server) => server !== "");
    const nc = await within(
      // No async stack traces: they cost two captured errors per publish, and every call has our own timeout.
      connect({
        servers,
        timeout,
        name: this.#options.name ?? "openesc",
        maxReconnectAttempts: -1,
        noAsyncTraces: true,
      }),
      timeout,
      "connect",
      (late) => void late.close().catch(() => undefined),
    );
    try {
      const jsm = await within(jetstreamManager(nc, { timeout }), timeout, "JetStream account check");
      await this.#ensureStream(jsm);
      this.#reportConnectionChanges(nc);
      return { nc, jsm, js: jetstream(nc, { timeout }) };
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  /** Creates the stream, or brings an existing one to our subjects, retention and duplicate window. */
  async #ensureStream(jsm: JetStreamManager): Promise<void> {
    const subject = `${this.subjectPrefix}.>`;
    const max_age = nanos(this.#options.maxAgeMs ?? 7 * DAY_MS);
    const duplicate_window = nanos(this.#options.duplicateWindowMs ?? 120_000);
    try {
      await within(
        jsm.streams.add({
          name: this.stream,
          subjects: [subject],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          max_age,
          duplicate_window,
        }),
        this.#timeoutMs,
        "stream creation",
      );
      return;
    } catch (error) {
      // 10058: the stream exists with another configuration (an identical one is simply accepted).
      if (!(error instanceof JetStreamApiError && error.code === 10058)) throw error;
    }
    const info = await within(jsm.streams.info(this.stream), this.#timeoutMs, "stream info");
    const subjects = info.config.subjects ?? [];
    await within(
      jsm.streams.update(this.stream, {
        subjects: subjects.includes(subject) ? subjects : [...subjects, subject],
        max_age,
        duplicate_window,
      }),
      this.#timeoutMs,
      "stream update",
    );
  }

  #reportConnectionChanges(nc: NatsConnection): void {
    const log = this.#options.log;
    if (log === undefined) return;
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect" || status.type === "reconnect") {
          log.warn({ nats: status.type, server: status.server }, `NATS ${status.type}`);
        }
      }
    })().catch(() => undefined);
  }

  async #shutdown(): Promise<void> {
    await Promise.all([...this.#members].map((member) => member.stop()));
    this.#members.clear();
    for (const subscription of this.#watches) subscription.unsubscribe();
    this.#watches.clear();
    const connected = await this.#ready?.catch(() => undefined);
    if (connected === undefined) return;
    try {
      // Draining sends the acknowledgements still buffered before the connection closes.
      await within(connected.nc.drain(), this.#timeoutMs, "drain");
    } catch {
      await connected.nc.close().catch(() => undefined);
    }
  }
}

interface MemberSettings {
  readonly stream: string;
  readonly durable: string;
  readonly filter: string;
  readonly batchSize: number;
  readonly timeoutMs: number;
  readonly ackWaitMs: number;
  readonly nakDelayMs: number;
  readonly log: NatsEventBusLog | undefined;
}

/**
 * One process's member of a consumer group. It keeps a pull subscription open (`consume`), gathers what
 * arrives into batches of at most `batchSize`, and runs the handler on one batch at a time. A plain
 * `fetch` would do too, but the v3 client's fetch waits for a full batch or its expiry (at least 1 s)
 * before returning, so a quiet stream would delay every event by that much.
 */
class NatsGroupMember {
  readonly #nats: Connected;
  readonly #handler: BatchHandler;
  readonly #settings: MemberSettings;
  readonly #buffer: JsMsg[] = [];
  #messages: ConsumerMessages | undefined;
  #running: Promise<void> | undefined;
  #batchComplete: (() => void) | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(nats: Connected, handler: BatchHandler, settings: MemberSettings) {
    this.#nats = nats;
    this.#handler = handler;
    this.#settings = settings;
  }

  /** Creates the durable consumer when missing (or updates its batch size and ack wait) and subscribes. */
  async start(): Promise<void> {
    const { stream, durable, batchSize, timeoutMs } = this.#settings;
    await this.#ensureConsumer();
    const consumer = await within(this.#nats.js.consumers.get(stream, durable), timeoutMs, "consumer lookup");
    if (this.#stopped) return;
    const messages = await consumer.consume({
      max_messages: batchSize,
      // The server keeps a pull request this long: short, so a stopped member's request soon lapses.
      expires: Math.min(30_000, Math.max(1000, timeoutMs)),
      callback: (message) => this.#receive(message),
    });
    this.#messages = messages;
    void (async () => {
      for await (const note of messages.status()) {
        if (note.type === "consumer_not_found" || note.type === "consumer_deleted") {
          await this.#ensureConsumer().catch(() => undefined);
        }
      }
    })().catch(() => undefined);
    void messages.closed().then((error) => {
      if (this.#stopped || this.#nats.nc.isClosed()) return;
      this.#settings.log?.warn(
        { err: error, group: durable },
        "event bus subscription ended; starting it again",
      );
      this.#restartLater();
    });
  }

  /** Stops pulling, hands back what is buffered, and waits for the batch under way (at most an ack wait). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#batchComplete?.();
    this.#messages?.stop();
    for (const message of this.#buffer.splice(0)) settle(() => message.nak());
    if (this.#running === undefined) return;
    // Past the ack wait the batch goes to another member anyway: waiting longer would only hang shutdown.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#running,
      new Promise((resolve) => (timer = setTimeout(resolve, this.#settings.ackWaitMs))),
    ]);
    clearTimeout(timer);
  }

  async #ensureConsumer(): Promise<void> {
    const { stream, durable, filter, batchSize, timeoutMs, ackWaitMs } = this.#settings;
    const config: Partial<ConsumerConfig> = {
      durable_name: durable,
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: batchSize,
      ack_wait: nanos(ackWaitMs),
    };
    try {
      // NATS 2.9 creates the consumer, accepts an identical one, and updates one whose limits differ.
      await within(this.#nats.jsm.consumers.add(stream, config), timeoutMs, "consumer creation");
    } catch (error) {
      // Later servers refuse a create that differs from the existing consumer: update it instead.
      if (!(error instanceof JetStreamApiError)) throw error;
      await within(
        this.#nats.jsm.consumers.update(stream, durable, {
          max_ack_pending: batchSize,
          ack_wait: nanos(ackWaitMs),
        }),
        timeoutMs,
        "consumer update",
      ).catch(() => Promise.reject(error));
    }
  }

  #restartLater(): void {
    if (this.#stopped) return;
    this.#restartTimer = setTimeout(() => {
      this.start().catch((error: unknown) => {
        this.#settings.log?.warn(
          { err: error, group: this.#settings.durable },
          "event bus consumer did not restart",
        );
        this.#restartLater();
      });
    }, RESTART_DELAY_MS);
  }

  #receive(message: JsMsg): void {
    if (this.#stopped) {
      settle(() => message.nak());
      return;
    }
    this.#buffer.push(message);
    if (this.#buffer.length >= this.#settings.batchSize) this.#batchComplete?.();
    this.#running ??= this.#drain()
      .catch((error: unknown) => {
        // Not expected (handler failures are caught per batch); unacknowledged events come back anyway.
        this.#settings.log?.warn({ err: error, group: this.#settings.durable }, "event bus member failed");
      })
      .finally(() => {
        this.#running = undefined;
      });
  }

  async #drain(): Promise<void> {
    const { batchSize } = this.#settings;
    while (this.#buffer.length > 0 && !this.#stopped) {
      const last = this.#buffer[this.#buffer.length - 1]!;
      if (this.#buffer.length < batchSize && last.info.pending > 0) await this.#lingerForBatch();
      if (this.#stopped) return;
      // Redeliveries may arrive after later events: hand the batch over in stream order.
      const batch = this.#buffer.splice(0, batchSize).sort((a, b) => a.seq - b.seq);
      await this.#handle(batch);
    }
  }

  /** Waits briefly for the rest of a batch the server has said is coming. */
  async #lingerForBatch(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, BATCH_LINGER_MS);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#batchComplete = done;
    });
    this.#batchComplete = undefined;
  }

  async #handle(batch: readonly JsMsg[]): Promise<void> {
    const { log, durable, nakDelayMs } = this.#settings;
    const events: StoredEvent[] = [];
    const messages: JsMsg[] = [];
    for (const message of batch) {
      const event = decodeStoredEvent(message.data);
      if (event === undefined) {
        // A payload that will never decode would come back for ever: set it aside, keep the group going.
        log?.warn(
          { group: durable, seq: message.seq, subject: message.subject },
          "undecodable event set aside",
        );
        settle(() => message.term());
        continue;
      }
      events.push(event);
      messages.push(message);
    }
    if (events.length === 0) return;
    try {
      await this.#handler(events);
    } catch (error) {
      log?.warn({ err: error, group: durable, events: events.length }, "event batch failed; it comes again");
      for (const message of messages) settle(() => message.nak(nakDelayMs));
      return;
    }
    for (const message of messages) settle(() => message.ack());
  }
}

/** An event as published, or undefined when the payload is not one (another publisher, a bad byte). */
function decodeStoredEvent(data: Uint8Array): StoredEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const event = value as Record<string, unknown>;
  const ok =
    typeof event["id"] === "string" &&
    typeof event["position"] === "number" &&
    isEventType(event["type"]) &&
    typeof event["subject"] === "string" &&
    Array.isArray(event["audience"]) &&
    typeof event["data"] === "object" &&
    event["data"] !== null &&
    typeof event["occurredAt"] === "string";
  return ok ? (value as StoredEvent) : undefined;
}

/** Acknowledgements are fire-and-forget; on a closed connection they throw, and the ack wait settles it. */
function settle(acknowledge: () => void): void {
  try {
    acknowledge();
  } catch {
    // The message comes again after the ack wait.
  }
}

/**
 * `promise`, or a rejection after `ms`: the client bounds most calls itself, this bounds the rest. When
 * the answer comes after the deadline, `late` receives it (to close a connection nobody will use).
 */
function within<T>(promise: Promise<T>, ms: number, what: string, late?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(new Error(`NATS ${what} took longer than ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (expired) late?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!expired) reject(error);
      },
    );
  });
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number of ms`);
  return value;
}
