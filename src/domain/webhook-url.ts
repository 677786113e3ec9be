/**
 * The URL a webhook subscription is delivered to, checked when the subscription is made.
 *
 * Parsing follows WHATWG URL, as the sender's `new URL()` will: it normalises the many ways of writing an
 * IPv4 address (`http://2130706433/`, `http://0x7f.1/`, `http://127.1/`) to a dotted quad, so an IP literal
 * is classified as what it reaches, not as what it looks like. A host *name* cannot be judged here (a name
 * may resolve anywhere, and differently tomorrow): the outbound adapter checks each resolved address at
 * connect time, with the same {@link addressRefusal}.
 */
import { InvalidValueError } from "./errors.ts";
import { type AddressPolicy, addressRefusal, describeAddressClass } from "./ip-address-class.ts";

/** A subscription URL in WHATWG-normalised form. Only {@link parseWebhookUrl} makes one. */
export type WebhookUrl = string & { readonly __brand: "WebhookUrl" };

export const WEBHOOK_URL_MAX_LENGTH = 2048;

const SCHEME = /^https?:\/\//i;
// Whitespace and controls: WHATWG would silently strip or drop them, so what is stored would differ from
// what was typed.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const INVISIBLE = /[\u0000-\u0020\u007f-\u00a0\u2028\u2029]/;

/**
 * Reads a subscription URL; throws `WEBHOOK_URL_INVALID` naming the rule that broke.
 *
 * ```ts
 * parseWebhookUrl("https://hooks.example.org/esc", { allowPrivateAddresses: false });
 * // "https://hooks.example.org/esc"
 * parseWebhookUrl("http://0x7f.1/", { allowPrivateAddresses: false });
 * // throws: url: must not point to a loopback address (127.0.0.1)
 * ```
 */
export function parseWebhookUrl(text: unknown, policy: AddressPolicy, field = "url"): WebhookUrl {
  const fail = (reason: string) => new InvalidValueError("WEBHOOK_URL_INVALID", field, reason);
  if (typeof text !== "string") throw fail(`must be a string, got ${typeName(text)}`);
  if (text === "") throw fail("must not be empty");
  if (text.length > WEBHOOK_URL_MAX_LENGTH) {
    throw fail(`must be at most ${WEBHOOK_URL_MAX_LENGTH} characters, got ${text.length}`);
  }
  if (INVISIBLE.test(text)) throw fail("must not contain whitespace or control characters");
  if (!SCHEME.test(text)) throw fail("must be an absolute URL starting with http:// or https://");

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw fail("is not a valid URL");
  }
  if (url.username !== "" || url.password !== "") {
    throw fail("must not contain a user name or password; the hub signs every delivery instead");
  }
  if (url.hash !== "" || text.includes("#")) throw fail("must not have a fragment (#…)");
  if (url.href.length > WEBHOOK_URL_MAX_LENGTH) {
    throw fail(
      `must be at most ${WEBHOOK_URL_MAX_LENGTH} characters once normalised, got ${url.href.length}`,
    );
  }

  const host = url.hostname.endsWith(".") ? url.hostname.slice(0, -1) : url.hostname;
  if ((host === "localhost" || host.endsWith(".localhost")) && !policy.allowPrivateAddresses) {
    throw fail(`must not point to a loopback host name (${url.hostname})`);
  }
  const literal = ipLiteral(url.hostname);
  if (literal !== null) {
    const refused = addressRefusal(literal, policy);
    if (refused !== null) throw fail(`must not point to ${describeAddressClass(refused)} (${literal})`);
  }
  return url.href as WebhookUrl;
}

/**
 * The IP address a WHATWG-parsed host names, or null for a host name. WHATWG leaves an IPv4 host as a
 * dotted quad (every other form is rewritten, and a name ending in a number is an error) and an IPv6 host
 * in brackets.
 */
export function ipLiteral(hostname: string): string | null {
  if (hostname.startsWith("[") && hostname.endsWith("]")) return hostname.slice(1, -1);
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) ? hostname : null;
}

function typeName(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}
