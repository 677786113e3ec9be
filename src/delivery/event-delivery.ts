import type { Clock } from "../ports/clock.ts";
import type { BusConsumer, EventBus } from "../ports/event-bus.ts";
import type { OutboundHttp } from "../ports/outbound-http.ts";
import type { Storage } from "../ports/storage.ts";
import { type CredentialStatusUpdater, STATUS_LIST_GROUP } from "../services/credential-status-updater.ts";
import type { ExpiryJob } from "../services/expiry-job.ts";
import type { LeaderLock } from "../services/leader-lock.ts";
import { DISPATCH_GROUP, EventDispatcher } from "./event-dispatcher.ts";
import { FeedWatch } from "./feed-watch.ts";
import { MIRROR_GROUP, type MirrorQueue } from "./mirror-queue.ts";
import type { MirrorSender } from "./mirror-sender.ts";
import { OutboxRelay } from "./outbox-relay.ts";
import { Pump, type PumpLog } from "./pump.ts";
import type { RetryPolicy } from "./retry-policy.ts";
import { WebhookSender, type WebhookSenderOptions } from "./webhook-sender.ts";

export interface EventDeliveryOptions {
  readonly relayLock: LeaderLock;
  readonly relayLeaseTtlMs: number;
  readonly expiry: ExpiryJob;
  readonly expiryIntervalMs: number;
  readonly http: OutboundHttp;
  readonly retryPolicy: RetryPolicy;
  readonly sender: WebhookSenderOptions;
  /** How often each loop looks for work nobody woke it for. */
  readonly pollMs: number;
  /** Keeps credential status lists in step with verdicts (a consumer group of its own). */
  readonly statusLists?: {
    readonly updater: CredentialStatusUpdater;
    /** How often lists that changed unseen, or whose tokens age, are signed. */
    readonly signEveryMs: number;
  };
  /** Mirrors organisations to ESC Routers (a consumer group and a sender of its own), when any is configured. */
  readonly mirror?: {
    readonly queue: MirrorQueue;
    readonly sender: MirrorSender;
  };
}

/**
 * The way a change travels after it commits, wired together for one process: the relay moves outbox
 * events to the bus (one process at a time); the dispatcher, a member of the bus's consumer group, queues
 * a webhook delivery per matching subscription; the sender sends what is due; the feed watch wakes the
 * server-sent-event streams; the expiry job turns passing dates into events; when mirrors are configured,
 * a group of its own queues mirror jobs and a sender pushes them to the ESC Routers. Commits in this process
 * wake the relay and the streams at once; everything else is also found by polling.
 */
export class EventDelivery {
  readonly bus: EventBus;
  readonly feedWatch: FeedWatch;
  readonly relay: OutboxRelay;
  readonly dispatcher: EventDispatcher;
  readonly sender: WebhookSender;
  readonly #storage: Storage;
  readonly #options: EventDeliveryOptions;
  #relayPump: Pump | undefined;
  #senderPump: Pump | undefined;
  #expiryPump: Pump | undefined;
  #statusListPump: Pump | undefined;
  #mirrorPump: Pump | undefined;
  #consumers: BusConsumer[] = [];
  #started = false;

  constructor(storage: Storage, clock: Clock, bus: EventBus, options: EventDeliveryOptions) {
    this.bus = bus;
    this.#storage = storage;
    this.#options = options;
    this.feedWatch = new FeedWatch(() => storage.read.outbox.latestPosition(), { pollMs: options.pollMs });
    this.relay = new OutboxRelay(storage, bus, options.relayLock, {
      clock,
      leaseTtlMs: options.relayLeaseTtlMs,
    });
    this.dispatcher = new EventDispatcher(storage, clock, { onQueued: () => this.wakeSender() });
    this.sender = new WebhookSender(storage, clock, options.http, options.retryPolicy, options.sender);
    this.sender.onSettled(() => this.wakeSender());
  }

  /** A transaction with events committed in this process. */
  eventsCommitted(): void {
    this.#relayPump?.wake();
    this.feedWatch.notify();
  }

  /** Deliveries were queued (or put back in the queue): send them now. */
  wakeSender(): void {
    this.#senderPump?.wake();
  }

  /** Mirror jobs were queued: push them now. */
  wakeMirror(): void {
    this.#mirrorPump?.wake();
  }

  async start(log?: PumpLog): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { pollMs } = this.#options;
    await this.bus.init();
    // Claims this holder left behind (a crash of the previous run on a store of its own) are free again.
    await this.#storage.transaction((tx) => tx.deliveries.releaseClaims(this.#options.sender.holder));
    this.#consumers.push(await this.bus.consume(DISPATCH_GROUP, (batch) => this.dispatcher.handle(batch)));
    this.#consumers.push(await this.bus.watch(() => this.feedWatch.notify()));
    const statusLists = this.#options.statusLists;
    if (statusLists) {
      this.#consumers.push(
        await this.bus.consume(STATUS_LIST_GROUP, (batch) => statusLists.updater.handle(batch)),
      );
      this.#statusListPump = new Pump(
        "status list signer",
        async () => {
          await statusLists.updater.signPending();
          return false;
        },
        { idleMs: statusLists.signEveryMs, log },
      );
    }
    const mirror = this.#options.mirror;
    if (mirror) {
      await this.#storage.transaction((tx) => tx.mirrorJobs.releaseClaims(this.#options.sender.holder));
      this.#consumers.push(await this.bus.consume(MIRROR_GROUP, (batch) => mirror.queue.handle(batch)));
      this.#mirrorPump = new Pump("ESC Router mirror", () => mirror.sender.runOnce(), {
        idleMs: pollMs,
        log,
      });
    }
    // Commits of other processes sharing the store wake this one's relay and streams at once.
    if (this.#storage.watchCommits) {
      this.#consumers.push(await this.#storage.watchCommits(() => this.eventsCommitted()));
    }
    this.#relayPump = new Pump("event relay", () => this.relay.runOnce(), { idleMs: pollMs, log });
    this.#senderPump = new Pump("webhook sender", () => this.sender.runOnce(), { idleMs: pollMs, log });
    this.#expiryPump = new Pump(
      "expiry job",
      async () => {
        await this.#options.expiry.runOnce();
        return false;
      },
      { idleMs: this.#options.expiryIntervalMs, log },
    );
    // The relay's first run on a new store sets where the feed's delivery starts: done before the
    // caller goes on (to listen), so that no change can slip in ahead of it.
    await this.relay.runOnce();
    this.#relayPump.start();
    this.#senderPump.start();
    this.#expiryPump.start();
    this.#statusListPump?.start();
    this.#mirrorPump?.start();
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await Promise.all([
      this.#relayPump?.stop(),
      this.#senderPump?.stop(),
      this.#expiryPump?.stop(),
      this.#statusListPump?.stop(),
      this.#mirrorPump?.stop(),
    ]);
    for (const consumer of this.#consumers.splice(0)) await consumer.stop().catch(() => undefined);
    await this.sender.drain();
    this.feedWatch.close();
    await Promise.all([
      this.relay.release().catch(() => undefined),
      this.#options.expiry.release().catch(() => undefined),
    ]);
    await this.bus.close();
  }
}
