/**
 * ESCN: the European Student Card Number, the number printed (and QR-encoded) on every European Student
 * Card.
 *
 * An ESCN is an RFC 4122 version 1 (time-based) UUID whose 48-bit node field is not a MAC address but
 * twelve decimal digits: a 3-digit prefix naming the issuing server, then the issuer's 9-digit PIC
 * (EuropeanStudentCard/escn-java-generator `EscnFactory.java`). There is no checksum, so the layout rules
 * below are the only protection against typing errors, and every reason says which rule broke. (RFC 4122
 * asks for the multicast bit in a node that is not a MAC address; the ESC scheme does not set it, and
 * neither does this module, since the node must read as the prefix and PIC.)
 *
 * The canonical form is lower case; upper case is accepted on input because UUIDs are case-insensitive
 * (RFC 4122 §3) and scanners and spreadsheets upper-case them. Whitespace is an error, not trimmed: a
 * value with stray spaces usually comes from a broken export, and silently fixing it hides the bug.
 *
 * Generation randomises the 14-bit clock sequence and the sub-millisecond part of the timestamp for every
 * number. Cards issued in bulk get near-identical timestamps; with a counter-style clock sequence one
 * student's number would give away the neighbours' numbers, and the public status endpoint answers for
 * any number anyone can guess.
 */
import { randomBytes } from "node:crypto";
import { InvalidValueError } from "./errors.ts";
import { type Pic, parsePic } from "./pic.ts";

/** An ESCN in canonical (lower-case) form. Only {@link parseEscn} and the generators make one. */
export type Escn = string & { readonly __brand: "Escn" };

/** 100-ns intervals between the UUID epoch (1582-10-15T00:00Z, the Gregorian reform) and the Unix epoch. */
const GREGORIAN_TO_UNIX = 122_192_928_000_000_000n;
/** A version 1 UUID holds a 60-bit timestamp: it runs out in the year 5236. */
const MAX_TICKS = (1n << 60n) - 1n;
const TICKS_PER_MS = 10_000;
/** Bytes of randomness per ESCN: 2 for the clock sequence, 4 for the 100-ns offset within the millisecond. */
const RANDOM_BYTES_PER_ESCN = 6;
/**
 * Upper bound for one {@link generateEscns} call. One millisecond holds 10,000 × 16,384 distinct values,
 * so the distinctness guarantee stays cheap far below that. Services impose their own, much smaller cap.
 */
export const MAX_ESCNS_PER_CALL = 1_000_000;

const HYPHEN_POSITIONS = [8, 13, 18, 23] as const;
const HEX = /^[0-9a-fA-F]$/;
const NODE = /^[0-9]{12}$/;
const PREFIX = /^[0-9]{3}$/;

/** Reads an ESCN from outside; throws `ESCN_INVALID` naming the rule that broke. Returns the lower-case form. */
export function parseEscn(value: unknown, field = "cardNumber"): Escn {
  const problem = escnProblem(value);
  if (problem !== undefined) throw new InvalidValueError("ESCN_INVALID", field, problem);
  return (value as string).toLowerCase() as Escn;
}

/**
 * Whether `value` is an ESCN in canonical form. An upper-case ESCN is valid input for {@link parseEscn}
 * but is not yet an {@link Escn}, since the brand promises the lower-case form that is stored and compared.
 */
export function isEscn(value: unknown): value is Escn {
  return escnProblem(value) === undefined && value === (value as string).toLowerCase();
}

/** The PIC of the issuer: the last nine digits of the node field. */
export function escnPic(escn: Escn): Pic {
  return escn.slice(27) as Pic;
}

/** The 3-digit prefix of the issuing server: the first three digits of the node field. */
export function escnPrefix(escn: Escn): string {
  return escn.slice(24, 27);
}

/**
 * When the ESCN was generated, to the millisecond, read from the UUID's 60-bit timestamp as RFC 4122
 * defines it. ESCNs from the consortium's reference generator (escn-java-generator `EscnFactory`) decode
 * to dates in the 17th century: it adds the 1582-to-1970 offset in milliseconds to a count of 100-ns
 * intervals. Its published example `3e506370-826a-103d-bf76-001000000001` decodes to 1637-08-25 here
 * (2024-10-28 under that generator's arithmetic). So do not base decisions on the timestamp of an ESCN
 * made elsewhere.
 */
export function escnTimestamp(escn: Escn): Date {
  const timeLow = BigInt(`0x${escn.slice(0, 8)}`);
  const timeMid = BigInt(`0x${escn.slice(9, 13)}`);
  const timeHigh = BigInt(`0x${escn.slice(15, 18)}`);
  const ticks = (timeHigh << 48n) | (timeMid << 32n) | timeLow;
  const sinceUnix = ticks - GREGORIAN_TO_UNIX;
  const perMs = BigInt(TICKS_PER_MS);
  let ms = sinceUnix / perMs;
  if (sinceUnix < 0n && sinceUnix % perMs !== 0n) ms -= 1n; // floor, not truncation, before 1970
  return new Date(Number(ms));
}

export interface GenerateEscnOptions {
  /** The issuing server's prefix: exactly three decimal digits. */
  readonly prefix: string;
  /** The issuer's PIC. */
  readonly pic: Pic;
  /** The moment to stamp into the ESCN; the current time by default. */
  readonly now?: Date;
  /** Source of randomness, `crypto.randomBytes` by default; replaceable for tests. */
  readonly random?: (n: number) => Buffer;
}

/** Makes one new ESCN for `pic` behind server `prefix`, with a random clock sequence. */
export function generateEscn(options: GenerateEscnOptions): Escn {
  return generateEscns(1, options)[0]!;
}

/**
 * Makes `count` ESCNs that are distinct from each other, all stamped with the same millisecond.
 *
 * Each one gets its own random clock sequence and a random 100-ns offset inside the millisecond, so they
 * cannot be derived from one another. Distinctness inside the batch is checked, not just likely: on a
 * collision the number is drawn again. Distinctness against numbers made elsewhere rests on the odds
 * (one in 163,840,000 for two numbers made in the same millisecond) and on the store's unique key.
 */
export function generateEscns(count: number, options: GenerateEscnOptions): Escn[] {
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_ESCNS_PER_CALL) {
    throw new TypeError(`count must be an integer from 0 to ${MAX_ESCNS_PER_CALL}, got ${count}`);
  }
  if (typeof options.prefix !== "string" || !PREFIX.test(options.prefix)) {
    throw new InvalidValueError(
      "ESCN_INVALID",
      "prefix",
      "must be exactly 3 decimal digits (the issuing server's prefix, e.g. 001)",
    );
  }
  const node = options.prefix + parsePic(options.pic, "pic");
  const now = options.now ?? new Date();
  const ms = now.getTime();
  if (!Number.isFinite(ms)) throw new TypeError("now must be a valid Date");
  const base = BigInt(ms) * BigInt(TICKS_PER_MS) + GREGORIAN_TO_UNIX;
  if (base < 0n || base + BigInt(TICKS_PER_MS - 1) > MAX_TICKS) {
    throw new RangeError("now must lie between 1582-10-15 and the year 5236 to fit a version 1 UUID");
  }
  if (count === 0) return [];

  const random = options.random ?? randomBytes;
  const pool = draw(random, RANDOM_BYTES_PER_ESCN * count);
  const seen = new Set<string>();
  const out: Escn[] = [];
  for (let i = 0; i < count; i++) {
    let bytes = pool.subarray(i * RANDOM_BYTES_PER_ESCN, (i + 1) * RANDOM_BYTES_PER_ESCN);
    let clockSeq = bytes.readUInt16BE(0) & 0x3fff;
    let offset = bytes.readUInt32BE(2) % TICKS_PER_MS;
    let escn = formatEscn(base + BigInt(offset), clockSeq, node);
    for (let attempt = 1; seen.has(escn); attempt++) {
      if (attempt <= 8) {
        bytes = draw(random, RANDOM_BYTES_PER_ESCN);
        clockSeq = bytes.readUInt16BE(0) & 0x3fff;
        offset = bytes.readUInt32BE(2) % TICKS_PER_MS;
      } else {
        // Only a broken random source gets here; stepping through the space still ends in a free value.
        clockSeq = (clockSeq + 1) & 0x3fff;
        if (clockSeq === 0) offset = (offset + 1) % TICKS_PER_MS;
      }
      escn = formatEscn(base + BigInt(offset), clockSeq, node);
    }
    seen.add(escn);
    out.push(escn as Escn);
  }
  return out;
}

/**
 * All the rules of {@link escnProblem} in one expression, to accept a valid ESCN at once (the public status
 * parses one per request); the rule-by-rule checks run only to explain a refusal.
 */
const VALID_ESCN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-1[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9]{12}$/;

/** The first broken rule, or undefined when `value` is an ESCN (in either case). */
function escnProblem(value: unknown): string | undefined {
  if (typeof value === "string" && VALID_ESCN.test(value)) return undefined;
  if (typeof value !== "string") {
    return `must be a string, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`;
  }
  if (/\s/.test(value)) return "must not contain whitespace";
  if (value.length !== 36) {
    return `must be 36 characters (8-4-4-4-12 hexadecimal digits with hyphens), got ${value.length}`;
  }
  for (const at of HYPHEN_POSITIONS) {
    if (value[at] !== "-") {
      return "must have the 8-4-4-4-12 layout, with hyphens at positions 9, 14, 19 and 24";
    }
  }
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (!(HYPHEN_POSITIONS as readonly number[]).includes(i) && !HEX.test(c)) {
      return `character '${c}' at position ${i + 1} is not a hexadecimal digit`;
    }
  }
  const version = value[14]!;
  if (version !== "1") return `version must be 1 (a time-based UUID), got ${version}`;
  const variant = value[19]!.toLowerCase();
  if (!"89ab".includes(variant)) {
    return `variant must be RFC 4122: the fourth group must start with 8, 9, a or b, got ${variant}`;
  }
  if (!NODE.test(value.slice(24))) {
    return "node must be 12 decimal digits: a 3-digit prefix and the issuer's 9-digit PIC";
  }
  return undefined;
}

/** Lays out a version 1 UUID (RFC 4122 §4.2.2): timestamp fields, version 1, variant 10, then the node. */
function formatEscn(ticks: bigint, clockSeq: number, node: string): string {
  const timeLow = Number(ticks & 0xffff_ffffn);
  const timeMid = Number((ticks >> 32n) & 0xffffn);
  const timeHighAndVersion = Number((ticks >> 48n) & 0x0fffn) | 0x1000;
  const clockSeqAndVariant = (clockSeq & 0x3fff) | 0x8000;
  return `${hex(timeLow, 8)}-${hex(timeMid, 4)}-${hex(timeHighAndVersion, 4)}-${hex(clockSeqAndVariant, 4)}-${node}`;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

function draw(random: (n: number) => Buffer, n: number): Buffer {
  const bytes: unknown = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length < n) {
    throw new TypeError(`random(${n}) must return at least ${n} bytes`);
  }
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
