/**
 * When a webhook delivery is done, tried again, or given up (to the dead-letter list), and when it is
 * tried again: exponential backoff with jitter, within a horizon counted from the delivery's creation.
 */
import { OutboundFailure, type OutboundResponse } from "../ports/outbound-http.ts";

/** What one attempt came to: an answer, or a failure that gave none. */
export type DeliveryOutcome = OutboundResponse | OutboundFailure;

export type DeliveryVerdict = "delivered" | "retry" | "give-up";

export interface RetrySettings {
  /** Delay after the first failed attempt, before jitter; each further failure doubles it. */
  readonly baseDelayMs: number;
  /** Longest delay between two attempts. */
  readonly maxDelayMs: number;
  /** No attempt is made later than this after the delivery was created. */
  readonly horizonMs: number;
}

/** The hub's defaults: 5 s, doubling up to 1 h, for 24 h (some 35 attempts in all). */
export const DEFAULT_RETRY_SETTINGS: RetrySettings = Object.freeze({
  baseDelayMs: 5_000,
  maxDelayMs: 3_600_000,
  horizonMs: 86_400_000,
});

/**
 * The retry rules of webhook deliveries.
 *
 * ```ts
 * const policy = new RetryPolicy(DEFAULT_RETRY_SETTINGS);
 * if (policy.classify(outcome) === "retry") {
 *   const next = policy.nextAttemptAt(delivery.attempts, new Date(delivery.createdAt), clock.now(), Math.random, outcome);
 *   // null: the horizon has passed, the delivery goes to the dead-letter list
 * }
 * ```
 */
export class RetryPolicy {
  readonly settings: RetrySettings;

  constructor(settings: RetrySettings = DEFAULT_RETRY_SETTINGS) {
    const { baseDelayMs, maxDelayMs, horizonMs } = settings;
    for (const [name, value] of Object.entries({ baseDelayMs, maxDelayMs, horizonMs })) {
      if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`);
    }
    if (maxDelayMs < baseDelayMs) throw new TypeError("maxDelayMs must not be below baseDelayMs");
    this.settings = Object.freeze({ baseDelayMs, maxDelayMs, horizonMs });
  }

  /**
   * - 2xx: delivered.
   * - 408, 429, 5xx: retry (the subscriber is busy or broken for now).
   * - 3xx: retry. Redirects are never followed; the subscriber sees the status and `Location` in the
   *   delivery's last error and can fix the subscription's URL while retries go on.
   * - Other 4xx: give up at once. The subscriber refused this delivery (a 400 will not become a 200 by
   *   sending the same bytes again); it goes to the dead-letter list to be replayed after a fix.
   * - Every network failure (timeout, connection, TLS, headers too large): retry.
   * - `address-refused`: retry too. The URL was accepted when the subscription was made, so the refusal
   *   comes from where its name now resolves or from the operator's setting (private addresses no longer
   *   allowed): a configuration problem that the subscriber's DNS or the operator can fix within the horizon.
   * - `invalid-url`: give up. Subscription URLs are checked when made, so this is a bug waiting never cures.
   */
  classify(outcome: DeliveryOutcome): DeliveryVerdict {
    if (outcome instanceof OutboundFailure) return outcome.reason === "invalid-url" ? "give-up" : "retry";
    const { status } = outcome;
    if (status >= 200 && status < 300) return "delivered";
    if (status === 408 || status === 429) return "retry";
    if (status >= 400 && status < 500) return "give-up";
    return "retry";
  }

  /** The delay after `attempts` failed attempts, before jitter: base × 2^(attempts−1), at most max. */
  backoffMs(attempts: number): number {
    if (!Number.isInteger(attempts) || attempts < 1) throw new TypeError("attempts must be an integer ≥ 1");
    const { baseDelayMs, maxDelayMs } = this.settings;
    // 2 ** 1024 is Infinity, which the cap absorbs.
    return Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1));
  }

  /**
   * When to try again after `attempts` attempts have failed, or null when that would fall after
   * `firstCreatedAt + horizon` (the delivery then goes to the dead-letter list).
   *
   * "Equal" jitter: a uniformly random delay between half the backoff and the backoff, so deliveries that
   * failed together spread out but none comes back sooner than half its backoff. When `outcome` is a 429 or
   * 503 with `Retry-After` seconds, the delay is at least that (up to the maximum delay).
   */
  nextAttemptAt(
    attempts: number,
    firstCreatedAt: Date,
    now: Date,
    random: () => number = Math.random,
    outcome?: DeliveryOutcome,
  ): Date | null {
    const backoff = this.backoffMs(attempts);
    const draw = Math.min(Math.max(random(), 0), 1);
    let delay = backoff / 2 + draw * (backoff / 2);
    const retryAfter = retryAfterMs(outcome);
    if (retryAfter !== null) delay = Math.max(delay, Math.min(retryAfter, this.settings.maxDelayMs));
    const next = now.getTime() + Math.round(delay);
    if (next > firstCreatedAt.getTime() + this.settings.horizonMs) return null;
    return new Date(next);
  }
}

function retryAfterMs(outcome: DeliveryOutcome | undefined): number | null {
  if (outcome === undefined || outcome instanceof OutboundFailure) return null;
  if (outcome.status !== 429 && outcome.status !== 503) return null;
  return outcome.retryAfterSeconds === null ? null : outcome.retryAfterSeconds * 1000;
}
