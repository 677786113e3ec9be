/**
 * Webhook signatures per the Standard Webhooks specification (https://www.standardwebhooks.com/): the
 * receiver checks `webhook-signature`, an HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${body}` under
 * the subscription's secret, and refuses timestamps more than about five minutes old. So every attempt of
 * a delivery is signed afresh, with the time it is sent and the same `webhook-id` (the event's id, which
 * lets the receiver drop duplicates).
 *
 * Signed with node:crypto; the tests verify with the specification's reference library.
 */
import { createHmac, randomBytes } from "node:crypto";

/** `whsec_` + base64 of the key. Only {@link generateWebhookSecret} and {@link isWebhookSecret} make one. */
export type WebhookSecret = string & { readonly __brand: "WebhookSecret" };

/** The three headers that go with each attempt. */
export interface WebhookSignatureHeaders {
  readonly "webhook-id": string;
  /** Seconds since the epoch. */
  readonly "webhook-timestamp": string;
  /** `v1,` + base64 HMAC-SHA256. */
  readonly "webhook-signature": string;
}

const PREFIX = "whsec_";
const KEY_BYTES = 32;
// The specification asks for keys of 24 to 64 bytes.
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// Visible ASCII only: the id travels in a header and receivers compare it byte for byte to drop duplicates.
const WEBHOOK_ID = /^[\x21-\x7e]{1,256}$/;

/** A fresh secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): WebhookSecret {
  return `${PREFIX}${randomBytes(KEY_BYTES).toString("base64")}` as WebhookSecret;
}

/** Whether `text` is `whsec_` + canonical base64 of a 24- to 64-byte key. */
export function isWebhookSecret(text: unknown): text is WebhookSecret {
  if (typeof text !== "string" || !text.startsWith(PREFIX)) return false;
  const encoded = text.slice(PREFIX.length);
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return false;
  const key = Buffer.from(encoded, "base64");
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES && key.toString("base64") === encoded;
}

/**
 * The headers for one attempt of sending `body` (the exact bytes sent, as a string) at `timestamp`.
 *
 * ```ts
 * const headers = signWebhook(subscription.secret, delivery.eventId, clock.now(), body);
 * await http.post(subscription.url, { headers: { ...headers, "content-type": "application/json" }, body, timeoutMs });
 * ```
 *
 * @throws TypeError for a malformed secret, id or date (our own data: a bug, not bad input).
 */
export function signWebhook(
  secret: string,
  id: string,
  timestamp: Date,
  body: string,
): WebhookSignatureHeaders {
  if (!isWebhookSecret(secret)) throw new TypeError("not a Standard Webhooks secret (whsec_…)");
  if (!WEBHOOK_ID.test(id)) throw new TypeError(`not a usable webhook-id: ${JSON.stringify(id)}`);
  const milliseconds = timestamp.getTime();
  if (!Number.isFinite(milliseconds)) throw new TypeError("the timestamp is not a valid date");
  const seconds = String(Math.floor(milliseconds / 1000));
  const key = Buffer.from(secret.slice(PREFIX.length), "base64");
  const signature = createHmac("sha256", key)
    .update(`${id}.${seconds}.`)
    .update(body, "utf8")
    .digest("base64");
  return { "webhook-id": id, "webhook-timestamp": seconds, "webhook-signature": `v1,${signature}` };
}
