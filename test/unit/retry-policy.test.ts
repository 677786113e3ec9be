import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_RETRY_SETTINGS,
  type DeliveryVerdict,
  RetryPolicy,
} from "../../src/delivery/retry-policy.ts";
import {
  OutboundFailure,
  type OutboundFailureReason,
  type OutboundResponse,
} from "../../src/ports/outbound-http.ts";

const answer = (status: number, retryAfterSeconds: number | null = null): OutboundResponse => ({
  status,
  location: status >= 300 && status < 400 ? "https://elsewhere.example/" : null,
  retryAfterSeconds,
});
const failure = (reason: OutboundFailureReason) => new OutboundFailure(reason, "what went wrong");

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const CREATED = new Date("2026-03-01T00:00:00Z");
const at = (ms: number) => new Date(CREATED.getTime() + ms);

describe("RetryPolicy.classify", () => {
  const policy = new RetryPolicy();
  const table: [string, OutboundResponse | OutboundFailure, DeliveryVerdict][] = [
    ["200", answer(200), "delivered"],
    ["201", answer(201), "delivered"],
    ["202", answer(202), "delivered"],
    ["204", answer(204), "delivered"],
    ["299", answer(299), "delivered"],
    ["301 (redirects are not followed)", answer(301), "retry"],
    ["302", answer(302), "retry"],
    ["307", answer(307), "retry"],
    ["308", answer(308), "retry"],
    ["304", answer(304), "retry"],
    ["400", answer(400), "give-up"],
    ["401", answer(401), "give-up"],
    ["403", answer(403), "give-up"],
    ["404", answer(404), "give-up"],
    ["405", answer(405), "give-up"],
    ["408 Request Timeout", answer(408), "retry"],
    ["409", answer(409), "give-up"],
    ["410 Gone", answer(410), "give-up"],
    ["413", answer(413), "give-up"],
    ["422", answer(422), "give-up"],
    ["429 Too Many Requests", answer(429), "retry"],
    ["500", answer(500), "retry"],
    ["502", answer(502), "retry"],
    ["503", answer(503), "retry"],
    ["504", answer(504), "retry"],
    ["599", answer(599), "retry"],
    ["a status outside the classes (a broken server)", answer(600), "retry"],
    ["timeout", failure("timeout"), "retry"],
    ["connection", failure("connection"), "retry"],
    ["tls", failure("tls"), "retry"],
    ["response-too-large", failure("response-too-large"), "retry"],
    ["address-refused (fixable by DNS or the operator)", failure("address-refused"), "retry"],
    ["invalid-url (will never parse)", failure("invalid-url"), "give-up"],
  ];
  for (const [what, outcome, verdict] of table) {
    it(`${what} → ${verdict}`, () => assert.equal(policy.classify(outcome), verdict));
  }
});

describe("RetryPolicy backoff", () => {
  const policy = new RetryPolicy({ baseDelayMs: 5 * SECOND, maxDelayMs: HOUR, horizonMs: 24 * HOUR });

  it("doubles from the base delay up to the maximum", () => {
    const delays = [1, 2, 3, 4, 5, 10, 11, 12, 50, 2000].map((attempts) => policy.backoffMs(attempts));
    assert.deepEqual(delays, [5000, 10000, 20000, 40000, 80000, 2_560_000, HOUR, HOUR, HOUR, HOUR]);
  });

  it("refuses a number of attempts below 1 or not whole (a bug in the caller)", () => {
    for (const attempts of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => policy.backoffMs(attempts), TypeError, String(attempts));
      assert.throws(() => policy.nextAttemptAt(attempts, CREATED, CREATED), TypeError);
    }
  });

  it("jitters between half the backoff and the backoff ('equal' jitter)", () => {
    const now = at(10 * MINUTE);
    const delayOf = (attempts: number, random: number) =>
      policy.nextAttemptAt(attempts, CREATED, now, () => random)!.getTime() - now.getTime();
    assert.equal(delayOf(1, 0), 2500);
    assert.equal(delayOf(1, 0.5), 3750);
    assert.equal(delayOf(1, 0.9999999), 5000);
    assert.equal(delayOf(3, 0), 10000);
    assert.equal(delayOf(3, 0.25), 12500);
    assert.equal(delayOf(20, 0), HOUR / 2);
    assert.ok(HOUR - delayOf(20, 0.9999999) < 5);
    // A generator gone wrong cannot push the delay outside the bounds.
    assert.equal(delayOf(1, -3), 2500);
    assert.equal(delayOf(1, 7), 5000);
  });

  it("stays within the bounds for many draws of Math.random", () => {
    const now = at(0);
    for (let attempts = 1; attempts <= 15; attempts++) {
      const backoff = policy.backoffMs(attempts);
      for (let i = 0; i < 200; i++) {
        const delay = policy.nextAttemptAt(attempts, CREATED, now)!.getTime() - now.getTime();
        assert.ok(delay >= backoff / 2 && delay <= backoff, `attempt ${attempts}: ${delay} ms`);
      }
    }
  });

  it("gives null when the next attempt would fall after the horizon (then: dead-letter list)", () => {
    const lastMinute = at(24 * HOUR - 2 * SECOND);
    // Attempt 1: 2.5 s to 5 s from now.
    assert.equal(
      policy.nextAttemptAt(1, CREATED, lastMinute, () => 0),
      null,
    );
    assert.deepEqual(
      policy.nextAttemptAt(1, CREATED, at(24 * HOUR - 2500), () => 0),
      at(24 * HOUR),
    );
    assert.equal(
      policy.nextAttemptAt(1, CREATED, at(24 * HOUR - 2499), () => 0),
      null,
    );
    assert.equal(
      policy.nextAttemptAt(12, CREATED, at(23 * HOUR + 10 * MINUTE), () => 0.9),
      null,
    );
    assert.deepEqual(
      policy.nextAttemptAt(12, CREATED, at(23 * HOUR + 10 * MINUTE), () => 0),
      at(23.5 * HOUR + 10 * MINUTE),
    );
    assert.equal(
      policy.nextAttemptAt(1, CREATED, at(25 * HOUR), () => 0),
      null,
    );
  });

  it("with the defaults, a subscriber down for good is tried a few dozen times over 24 hours", () => {
    const defaults = new RetryPolicy(DEFAULT_RETRY_SETTINGS);
    let now = CREATED;
    let attempts = 1;
    for (;;) {
      const next = defaults.nextAttemptAt(attempts, CREATED, now, () => 0.5);
      if (next === null) break;
      assert.ok(next > now);
      now = next;
      attempts++;
    }
    assert.ok(attempts >= 30 && attempts <= 45, `${attempts} attempts`);
    assert.ok(now.getTime() - CREATED.getTime() > 23 * HOUR);
  });
});

describe("RetryPolicy and Retry-After", () => {
  const policy = new RetryPolicy({ baseDelayMs: 5 * SECOND, maxDelayMs: HOUR, horizonMs: 24 * HOUR });
  const now = at(MINUTE);
  const delayAfter = (outcome: OutboundResponse | OutboundFailure, attempts = 1) =>
    policy.nextAttemptAt(attempts, CREATED, now, () => 0, outcome)!.getTime() - now.getTime();

  it("waits at least Retry-After seconds on a 429 or a 503", () => {
    assert.equal(delayAfter(answer(429, 120)), 120 * SECOND);
    assert.equal(delayAfter(answer(503, 30)), 30 * SECOND);
  });

  it("keeps the backoff when it is longer than Retry-After", () => {
    assert.equal(delayAfter(answer(429, 1), 5), 40 * SECOND);
  });

  it("caps Retry-After at the maximum delay", () => {
    assert.equal(delayAfter(answer(429, 86_400)), HOUR);
  });

  it("ignores Retry-After on other statuses, and when there is none", () => {
    assert.equal(delayAfter(answer(500, 120)), 2500);
    assert.equal(delayAfter(answer(301, 120)), 2500);
    assert.equal(delayAfter(answer(429, null)), 2500);
    assert.equal(delayAfter(failure("timeout")), 2500);
  });

  it("gives null when Retry-After points past the horizon", () => {
    const late = at(24 * HOUR - MINUTE);
    assert.equal(
      policy.nextAttemptAt(1, CREATED, late, () => 0, answer(503, 120)),
      null,
    );
  });
});

describe("RetryPolicy settings", () => {
  it("defaults to 5 s, 1 h and 24 h", () => {
    assert.deepEqual(DEFAULT_RETRY_SETTINGS, {
      baseDelayMs: 5000,
      maxDelayMs: 3_600_000,
      horizonMs: 86_400_000,
    });
    assert.deepEqual(new RetryPolicy().settings, DEFAULT_RETRY_SETTINGS);
    assert.ok(Object.isFrozen(DEFAULT_RETRY_SETTINGS));
  });

  it("refuses settings that make no sense", () => {
    const base = { baseDelayMs: 1000, maxDelayMs: 10_000, horizonMs: 100_000 };
    assert.throws(() => new RetryPolicy({ ...base, baseDelayMs: 0 }), TypeError);
    assert.throws(() => new RetryPolicy({ ...base, maxDelayMs: -1 }), TypeError);
    assert.throws(() => new RetryPolicy({ ...base, horizonMs: Number.NaN }), TypeError);
    assert.throws(() => new RetryPolicy({ ...base, maxDelayMs: 999 }), /maxDelayMs must not be below/);
    assert.doesNotThrow(() => new RetryPolicy({ baseDelayMs: 1, maxDelayMs: 1, horizonMs: 1 }));
  });
});
