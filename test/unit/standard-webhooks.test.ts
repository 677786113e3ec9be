import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { generateWebhookSecret, isWebhookSecret, signWebhook } from "../../src/delivery/standard-webhooks.ts";

// The signature example of the Standard Webhooks specification (and of its reference libraries' tests).
const SPEC_VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

const BODY = JSON.stringify({ type: "card.created", data: { cardNumber: "é ✓ 🎓" } });
const EVENT_ID = "0190c2a4-7b7e-7c3e-9f0a-1d2e3f405162";

/** The specification's recipe, written out independently of the module under test. */
function specSignature(secret: string, id: string, seconds: string, body: string): string {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${seconds}.${body}`).digest("base64")}`;
}

describe("generateWebhookSecret", () => {
  it("makes whsec_ + base64 of 32 random bytes, different every time", () => {
    const secrets = new Set(Array.from({ length: 100 }, () => generateWebhookSecret()));
    assert.equal(secrets.size, 100);
    for (const secret of secrets) {
      assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(Buffer.from(secret.slice(6), "base64").length, 32);
      assert.ok(isWebhookSecret(secret));
    }
  });

  it("makes secrets the reference library accepts", () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook(secret, EVENT_ID, new Date(), BODY);
    assert.deepEqual(new Webhook(secret).verify(BODY, { ...headers }), JSON.parse(BODY));
  });
});

describe("isWebhookSecret", () => {
  const key = (bytes: number) => `whsec_${randomBytes(bytes).toString("base64")}`;

  it("accepts whsec_ + canonical base64 of a 24- to 64-byte key", () => {
    for (const secret of [key(24), key(32), key(64), SPEC_VECTOR.secret]) {
      assert.equal(isWebhookSecret(secret), true, secret);
    }
  });

  const refused: [unknown, string][] = [
    [undefined, "not a string"],
    [42, "not a string"],
    ["", "empty"],
    ["whsec_", "no key"],
    [key(32).slice(6), "no prefix"],
    [key(32).replace("whsec_", "WHSEC_"), "prefix in upper case"],
    [key(23), "key shorter than the specification's 24 bytes"],
    [key(65), "key longer than the specification's 64 bytes"],
    [`whsec_${"_".repeat(43)}=`, "base64url characters"],
    [key(32).replace(/=$/, ""), "padding missing"],
    [`${key(32)} `, "trailing space"],
    [`whsec_${"A".repeat(42)}B=`, "non-canonical base64 (unused bits set)"],
  ];
  for (const [value, why] of refused) {
    it(`refuses ${why}`, () => assert.equal(isWebhookSecret(value), false));
  }
});

describe("signWebhook", () => {
  it("reproduces the specification's example signature", () => {
    const headers = signWebhook(
      SPEC_VECTOR.secret,
      SPEC_VECTOR.id,
      new Date(SPEC_VECTOR.timestamp * 1000),
      SPEC_VECTOR.body,
    );
    assert.deepEqual(headers, {
      "webhook-id": SPEC_VECTOR.id,
      "webhook-timestamp": String(SPEC_VECTOR.timestamp),
      "webhook-signature": SPEC_VECTOR.signature,
    });
  });

  it("gives the three headers, the timestamp in whole seconds", () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook(secret, EVENT_ID, new Date("2026-03-01T12:00:00.999Z"), BODY);
    assert.deepEqual(Object.keys(headers).sort(), ["webhook-id", "webhook-signature", "webhook-timestamp"]);
    assert.equal(headers["webhook-id"], EVENT_ID);
    assert.equal(headers["webhook-timestamp"], String(Date.UTC(2026, 2, 1, 12) / 1000));
    assert.match(headers["webhook-signature"], /^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it("matches an independent node:crypto computation of HMAC-SHA256(id.timestamp.body)", () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook(secret, EVENT_ID, new Date(), BODY);
    assert.equal(
      headers["webhook-signature"],
      specSignature(secret, EVENT_ID, headers["webhook-timestamp"], BODY),
    );
  });

  it("is verified by the reference library, which refuses a changed body, id or secret", () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook(secret, EVENT_ID, new Date(), BODY);
    assert.deepEqual(new Webhook(secret).verify(BODY, { ...headers }), JSON.parse(BODY));

    const refuses = (verify: () => unknown) => assert.throws(verify, WebhookVerificationError);
    refuses(() => new Webhook(secret).verify(BODY.replace("created", "deleted"), { ...headers }));
    refuses(() => new Webhook(secret).verify(BODY, { ...headers, "webhook-id": `${EVENT_ID}0` }));
    refuses(() => new Webhook(generateWebhookSecret()).verify(BODY, { ...headers }));
  });

  it("goes stale: the reference verifier refuses a timestamp 6 minutes old, so each retry is signed afresh", () => {
    const secret = generateWebhookSecret();
    const firstAttempt = signWebhook(secret, EVENT_ID, new Date(Date.now() - 6 * 60_000), BODY);
    assert.throws(
      () => new Webhook(secret).verify(BODY, { ...firstAttempt }),
      (error: unknown) => error instanceof WebhookVerificationError && /too old/.test(error.message),
    );

    const retry = signWebhook(secret, EVENT_ID, new Date(), BODY);
    assert.equal(retry["webhook-id"], firstAttempt["webhook-id"], "a retry keeps the webhook-id");
    assert.notEqual(retry["webhook-signature"], firstAttempt["webhook-signature"]);
    assert.deepEqual(new Webhook(secret).verify(BODY, { ...retry }), JSON.parse(BODY));
  });

  it("throws a TypeError for a malformed secret, id or date (our own data)", () => {
    const secret = generateWebhookSecret();
    assert.throws(() => signWebhook("not-a-secret", EVENT_ID, new Date(), BODY), TypeError);
    assert.throws(() => signWebhook(secret, "", new Date(), BODY), TypeError);
    assert.throws(() => signWebhook(secret, "id\r\nx-injected: 1", new Date(), BODY), TypeError);
    assert.throws(() => signWebhook(secret, EVENT_ID, new Date(Number.NaN), BODY), TypeError);
  });
});
