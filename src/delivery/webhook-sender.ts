import { CLOUD_EVENT_CONTENT_TYPE, toCloudEvent } from "../domain/cloud-event.ts";
import type { Subscription } from "../domain/subscription.ts";
import type { Clock } from "../ports/clock.ts";
import { OutboundFailure, type OutboundHttp, type OutboundResponse } from "../ports/outbound-http.ts";
import type { ClaimedDelivery, Storage } from "../ports/storage.ts";
import type { DeliveryOutcome, RetryPolicy } from "./retry-policy.ts";
import { signWebhook } from "./standard-webhooks.ts";

export interface WebhookSenderOptions {
  readonly publicUrl: string;
  /** This process, as the holder of its claims. */
  readonly holder: string;
  readonly timeoutMs: number;
  /** Attempts under way at once in this process, in all and for one subscription. */
  readonly concurrency: number;
  readonly perSubscription: number;
  readonly userAgent: string;
}

/**
 * Sends queued deliveries as signed webhooks. Each process claims due deliveries from the shared queue (a
 * claim outlives the attempt's timeout, so a process that dies leaves its claims to lapse and be taken up
 * by another), sends them concurrently, and records each outcome: delivered; failed and due again after an
 * exponential, jittered delay; or, past the retry horizon or on a refusal that retrying cannot fix, dead
 * (the dead-letter list, from which the subscriber redelivers by hand).
 *
 * Every attempt is signed afresh (Standard Webhooks): same `webhook-id` (the event's id), new timestamp,
 * so receivers that reject stale timestamps accept a late retry and still drop a duplicate by id. A slow
 * subscriber holds at most `perSubscription` attempts; the others go on.
 */
export class WebhookSender {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #http: OutboundHttp;
  readonly #policy: RetryPolicy;
  readonly #options: WebhookSenderOptions;
  readonly #inFlight = new Map<string, number>();
  readonly #attempts = new Set<Promise<void>>();
  /** Subscriptions read recently: a fan-out sends many deliveries of few subscriptions. */
  readonly #subscriptions = new Map<string, { subscription: Subscription | undefined; until: number }>();
  readonly #outcomes: OutcomeBatch;
  #total = 0;
  #onSettled: () => void = () => undefined;

  constructor(
    storage: Storage,
    clock: Clock,
    http: OutboundHttp,
    policy: RetryPolicy,
    options: WebhookSenderOptions,
  ) {
    this.#storage = storage;
    this.#clock = clock;
    this.#http = http;
    this.#policy = policy;
    this.#options = options;
    this.#outcomes = new OutcomeBatch(storage);
  }

  /** Called when an attempt ends (a slot is free again): the pump wakes the sender. */
  onSettled(listener: () => void): void {
    this.#onSettled = listener;
  }

  /** Claims what is due and starts sending it; true when it filled every free slot (more may be due). */
  async runOnce(): Promise<boolean> {
    const free = this.#options.concurrency - this.#total;
    // While attempts are under way, claim in batches (a quarter of the slots at least), not one
    // transaction for every slot that frees up.
    const batch = Math.max(1, Math.floor(this.#options.concurrency / 4));
    if (free <= 0 || (this.#total > 0 && free < batch)) return false;
    const now = this.#clock.now();
    const busy = [...this.#inFlight].filter(([, n]) => n >= this.#options.perSubscription).map(([id]) => id);
    const claimed = await this.#storage.transaction((tx) =>
      tx.deliveries.claimDue({
        now: now.toISOString(),
        holder: this.#options.holder,
        // Long enough for the attempt and its bookkeeping; a claim of a dead process lapses after it.
        until: new Date(now.getTime() + 2 * this.#options.timeoutMs + 5000).toISOString(),
        limit: free,
        excludeSubscriptions: busy,
      }),
    );
    for (const item of claimed) this.#start(item);
    return claimed.length === free && this.#total < this.#options.concurrency;
  }

  /** Waits for the attempts under way (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.#attempts.size > 0) await Promise.allSettled([...this.#attempts]);
  }

  #start(item: ClaimedDelivery): void {
    const id = item.delivery.subscriptionId;
    this.#inFlight.set(id, (this.#inFlight.get(id) ?? 0) + 1);
    this.#total += 1;
    const attempt = this.#attempt(item)
      .catch(() => undefined) // the claim lapses and another attempt follows; the pump logs store failures
      .finally(() => {
        const left = (this.#inFlight.get(id) ?? 1) - 1;
        if (left === 0) this.#inFlight.delete(id);
        else this.#inFlight.set(id, left);
        this.#total -= 1;
        this.#attempts.delete(attempt);
        this.#onSettled();
      });
    this.#attempts.add(attempt);
  }

  /** The subscription, read at most once a second: a change of URL or secret applies within a second. */
  async #subscription(id: string): Promise<Subscription | undefined> {
    const now = Date.now();
    const cached = this.#subscriptions.get(id);
    if (cached !== undefined && cached.until > now) return cached.subscription;
    const subscription = await this.#storage.read.subscriptions.find(id);
    if (this.#subscriptions.size > 10_000) this.#subscriptions.clear();
    this.#subscriptions.set(id, { subscription, until: now + 1000 });
    return subscription;
  }

  async #attempt({ delivery, event }: ClaimedDelivery): Promise<void> {
    const subscription = await this.#subscription(delivery.subscriptionId);
    if (subscription === undefined) return; // deleted meanwhile, with its queue
    const startedAt = this.#clock.now();
    if (event === undefined) {
      await this.#fail(subscription, delivery.id, delivery.attempts, delivery.createdAt, {
        status: null,
        error: "the event is no longer in the feed (purged)",
        retry: false,
      });
      return;
    }
    const body = JSON.stringify(toCloudEvent(event, delivery.projection, this.#options.publicUrl));
    const headers = {
      ...signWebhook(subscription.secret, event.id, startedAt, body),
      "content-type": CLOUD_EVENT_CONTENT_TYPE,
      "user-agent": this.#options.userAgent,
    };
    let response: OutboundResponse;
    try {
      response = await this.#http.post(subscription.url, {
        headers,
        body,
        timeoutMs: this.#options.timeoutMs,
      });
    } catch (error) {
      if (!(error instanceof OutboundFailure)) throw error;
      await this.#fail(subscription, delivery.id, delivery.attempts, delivery.createdAt, {
        status: null,
        error: error.message,
        retry: this.#policy.classify(error) === "retry",
        outcome: error,
      });
      return;
    }
    const verdict = this.#policy.classify(response);
    const at = this.#clock.now().toISOString();
    if (verdict === "delivered") {
      await this.#outcomes.record(async (tx) => {
        await tx.deliveries.markDelivered(delivery.id, at, response.status);
        await tx.subscriptions.recordAttempt(subscription.id, at, response.status, null);
      });
      return;
    }
    await this.#fail(subscription, delivery.id, delivery.attempts, delivery.createdAt, {
      status: response.status,
      error: describeRefusal(response),
      retry: verdict === "retry",
      outcome: response,
    });
  }

  async #fail(
    subscription: Subscription,
    deliveryId: number,
    attemptsBefore: number,
    createdAt: string,
    outcome: { status: number | null; error: string; retry: boolean; outcome?: DeliveryOutcome },
  ): Promise<void> {
    const now = this.#clock.now();
    const at = now.toISOString();
    const next = outcome.retry
      ? this.#policy.nextAttemptAt(attemptsBefore + 1, new Date(createdAt), now, Math.random, outcome.outcome)
      : null;
    const error = next === null && outcome.retry ? `${outcome.error}; retry horizon reached` : outcome.error;
    await this.#outcomes.record(async (tx) => {
      await tx.deliveries.markFailed(deliveryId, {
        at,
        status: outcome.status,
        error,
        nextAttemptAt: next === null ? null : next.toISOString(),
      });
      await tx.subscriptions.recordAttempt(subscription.id, at, outcome.status, error);
    });
  }
}

type Repositories = Parameters<Parameters<Storage["transaction"]>[0]>[0];

/**
 * Outcomes of attempts, written together: every outcome that arrives while a transaction is being written
 * goes into the next one, so a fan-out to a thousand subscribers costs a few commits, not a thousand. An
 * attempt counts as finished only once its outcome is stored (until then its claim holds), so a crash
 * between the answer and the write means one more attempt, never a lost delivery.
 */
class OutcomeBatch {
  readonly #storage: Storage;
  #pending: { write: (tx: Repositories) => Promise<void>; done: (error?: unknown) => void }[] = [];
  #writing: Promise<void> | undefined;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  record(write: (tx: Repositories) => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ write, done: (error) => (error === undefined ? resolve() : reject(error)) });
      this.#writing ??= this.#flush();
    });
  }

  async #flush(): Promise<void> {
    // Let the outcomes of attempts that finish together join this batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, 500);
      try {
        await this.#storage.transaction(async (tx) => {
          for (const item of batch) await item.write(tx);
        });
        for (const item of batch) item.done();
      } catch (error) {
        for (const item of batch) item.done(error);
      }
    }
    this.#writing = undefined;
  }
}

/** Why an answer is not a delivery, in words the subscriber can act on. */
function describeRefusal(response: OutboundResponse): string {
  if (response.status >= 300 && response.status < 400) {
    return `answered ${response.status}: redirects are not followed${response.location ? ` (to ${response.location.slice(0, 200)})` : ""}`;
  }
  return `answered ${response.status}`;
}
