import { createHash } from "node:crypto";
import { type DomainEvent, eventFamily, eventIssuer } from "../../../domain/events.ts";

/** The subject token of an event that is about no organisation (consent events). */
export const NO_ISSUER_TOKEN = "_";

/** Longest token we write; longer values keep a readable start and end with a hash of the whole. */
const MAX_TOKEN_LENGTH = 128;

/** Characters written as they are; every other byte is written `%XX` (its UTF-8 bytes, upper-case hex). */
const KEPT = /^[A-Za-z0-9_:-]$/;

/**
 * The subject an event is published on: `<prefix>.<family>.<issuer>`, so that a consumer can take one
 * family, or one organisation's events, with a single filter (`openesc.events.card.>`,
 * `openesc.events.*.999859608`) — NATS 2.9 allows one filter per consumer.
 *
 * ```ts
 * natsSubjectFor("openesc.events", cardCreated); // "openesc.events.card.999859608"
 * ```
 *
 * Tokens are encoded so that `.`, `*`, `>`, whitespace and non-printable characters never reach the
 * subject, and two different issuers never share a token: see {@link natsSubjectToken}.
 */
export function natsSubjectFor(prefix: string, event: Pick<DomainEvent, "type" | "data">): string {
  return `${prefix}.${natsSubjectToken(eventFamily(event.type))}.${natsSubjectToken(eventIssuer(event))}`;
}

/**
 * One subject token for `value`: letters, digits, `_`, `:` and `-` as they are, every other character as
 * `%XX` per UTF-8 byte (so `%` itself becomes `%25`); null or empty is `_`, and a value that is exactly `_`
 * is `%5F`, so it cannot be mistaken for "no issuer". A token longer than 128 characters keeps its first
 * 100 and ends with `~` and 16 hex digits of the value's SHA-256.
 */
export function natsSubjectToken(value: string | null): string {
  if (value === null || value === "") return NO_ISSUER_TOKEN;
  if (value === NO_ISSUER_TOKEN) return "%5F";
  let token = "";
  for (const char of value) {
    if (KEPT.test(char)) {
      token += char;
    } else {
      for (const byte of Buffer.from(char, "utf8"))
        token += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  if (token.length <= MAX_TOKEN_LENGTH) return token;
  return `${token.slice(0, 100)}~${createHash("sha256").update(value).digest("hex").slice(0, 16)}`;
}

/**
 * The durable consumer name of a consumer group: letters, digits, `_` and `-` kept, anything else replaced
 * by `_` and then, so that `a.b` and `a_b` stay two groups, a hash of the original appended. JetStream
 * writes the name as a folder, so it stays short (at most 64 characters).
 */
export function natsConsumerName(group: string): string {
  if (group === "") throw new TypeError("a consumer group needs a name");
  const kept = group.replace(/[^A-Za-z0-9_-]/g, "_");
  if (kept === group && kept.length <= 64) return kept;
  const hash = createHash("sha256").update(group).digest("hex").slice(0, 12);
  return `${kept.slice(0, 51)}-${hash}`;
}

/** Whether `prefix` is a usable subject prefix: dot-separated tokens, none empty, no wildcard or space. */
export function isNatsSubjectPrefix(prefix: string): boolean {
  return prefix.split(".").every((token) => /^[\x21-\x7e]+$/.test(token) && !/[*>]/.test(token));
}
