/**
 * The IETF Token Status List (draft-ietf-oauth-status-list): a compressed array of 1, 2, 4 or 8-bit
 * status values, published as a signed Status List Token (`typ: statuslist+jwt`). A credential points
 * at its entry with `status: { status_list: { idx, uri } }`; `uri` equals the list token's `sub`.
 *
 * @example
 * const list = new StatusList(100_000, 2);
 * list.set(randomFreeIndex(list.size, (i) => taken.has(i)), STATUS_SUSPENDED);
 * const jwt = await signStatusListToken({ list, uri, key, issuedAt: new Date(), ttlSeconds: 900 });
 */
import { type KeyObject, randomInt } from "node:crypto";
import { promisify } from "node:util";
import { deflate, deflateSync, inflateSync } from "node:zlib";
import { type CryptoKey, errors, type JWTHeaderParameters, jwtVerify, SignJWT } from "jose";

// The same numbers as VERDICT_STATUS_LIST_VALUE in src/domain/card-verdict.ts (a unit test checks it).
export const STATUS_VALID = 0;
export const STATUS_INVALID = 1;
export const STATUS_SUSPENDED = 2;

export type StatusBits = 1 | 2 | 4 | 8;

/** The claim a referenced token (credential) carries to point at its status entry. */
export interface StatusClaim {
  status_list: { idx: number; uri: string };
}

export type StatusListErrorReason =
  | "malformed"
  | "bad-signature"
  | "wrong-type"
  | "wrong-uri"
  | "expired"
  | "bad-list";

/** A status list or Status List Token from outside that cannot be trusted; `reason` is stable. */
export class StatusListError extends Error {
  override readonly name = "StatusListError";
  constructor(
    readonly reason: StatusListErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Every index of the list is taken: the caller should open a new list. */
export class StatusListFullError extends Error {
  override readonly name = "StatusListFullError";
}

/** Inflated lists larger than this are refused, so a small `lst` cannot exhaust memory (zip bomb). */
export const MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function isStatusBits(bits: unknown): bits is StatusBits {
  return bits === 1 || bits === 2 || bits === 4 || bits === 8;
}

/** A fixed-size array of status values, packed least significant bits first within each byte. */
export class StatusList {
  readonly size: number;
  readonly bits: StatusBits;
  readonly #bytes: Uint8Array;

  constructor(size: number, bits: StatusBits) {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new TypeError(`status list size must be ≥ 1, got ${size}`);
    if (!isStatusBits(bits)) throw new TypeError(`status list bits must be 1, 2, 4 or 8, got ${bits}`);
    this.size = size;
    this.bits = bits;
    this.#bytes = new Uint8Array(Math.ceil((size * bits) / 8));
  }

  get(index: number): number {
    this.#checkIndex(index);
    const bit = index * this.bits;
    return ((this.#bytes[bit >> 3] ?? 0) >> (bit & 7)) & ((1 << this.bits) - 1);
  }

  set(index: number, value: number): void {
    this.#checkIndex(index);
    const mask = (1 << this.bits) - 1;
    if (!Number.isInteger(value) || value < 0 || value > mask) {
      throw new TypeError(`status value ${value} does not fit in ${this.bits} bit(s)`);
    }
    const bit = index * this.bits;
    const shift = bit & 7;
    const byte = this.#bytes[bit >> 3] ?? 0;
    this.#bytes[bit >> 3] = (byte & ~(mask << shift)) | (value << shift);
  }

  /** A list over stored packed bytes (copied): `bytes.length * 8 / bits` entries. */
  static fromBytes(bytes: Uint8Array, bits: StatusBits): StatusList {
    const list = new StatusList((bytes.length * 8) / bits, bits);
    list.#bytes.set(bytes);
    return list;
  }

  /** The packed bytes, as stored (a copy). */
  toBytes(): Uint8Array {
    return new Uint8Array(this.#bytes);
  }

  /** The `lst` value: the packed bytes, zlib-compressed at the highest level, base64url without padding. */
  encode(): string {
    return deflateSync(this.#bytes, { level: 9 }).toString("base64url");
  }

  /**
   * {@link encode} on the thread pool: compressing a list of a million entries at the highest level takes a
   * good part of a second, which a hub serving requests must not spend on its event loop.
   */
  async encodeAsync(): Promise<string> {
    return (await deflateAsync(new Uint8Array(this.#bytes), { level: 9 })).toString("base64url");
  }

  /** Reads an `lst` from outside; its size is the number of entries the inflated bytes hold. */
  static decode(lst: unknown, bits: unknown, maxBytes = MAX_STATUS_LIST_BYTES): StatusList {
    if (!isStatusBits(bits)) throw new StatusListError("bad-list", "status list bits must be 1, 2, 4 or 8");
    if (typeof lst !== "string" || !BASE64URL.test(lst) || lst.length % 4 === 1) {
      throw new StatusListError("bad-list", "status list lst is not base64url");
    }
    let bytes: Buffer;
    try {
      bytes = inflateSync(Buffer.from(lst, "base64url"), { maxOutputLength: maxBytes });
    } catch (cause) {
      throw new StatusListError("bad-list", "status list lst does not inflate within the size limit", {
        cause,
      });
    }
    if (bytes.length === 0) throw new StatusListError("bad-list", "status list is empty");
    const list = new StatusList((bytes.length * 8) / bits, bits);
    list.#bytes.set(bytes);
    return list;
  }

  #checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new TypeError(`status list index ${index} is outside 0..${this.size - 1}`);
    }
  }
}

const deflateAsync = promisify(deflate);

const RANDOM_TRIES = 64;

/**
 * An unpredictable free index, so that neighbouring indexes say nothing about issue order (herd
 * privacy). After a few random misses it scans from a random start; throws when the list is full.
 */
export function randomFreeIndex(
  size: number,
  isTaken: (index: number) => boolean,
  random: (max: number) => number = randomInt,
): number {
  if (!Number.isSafeInteger(size) || size < 1)
    throw new TypeError(`status list size must be ≥ 1, got ${size}`);
  for (let i = 0; i < RANDOM_TRIES; i++) {
    const index = random(size);
    if (!isTaken(index)) return index;
  }
  const start = random(size);
  for (let i = 0; i < size; i++) {
    const index = (start + i) % size;
    if (!isTaken(index)) return index;
  }
  throw new StatusListFullError(`all ${size} status list indexes are taken`);
}

export const STATUS_LIST_JWT_TYPE = "statuslist+jwt";

export type StatusListAlgorithm = "ES256" | "EdDSA";

export interface SignStatusListTokenInput {
  list: StatusList;
  /** The list's public URI; becomes `sub` and must equal the `uri` in credentials. */
  uri: string;
  key: CryptoKey | KeyObject;
  alg?: StatusListAlgorithm;
  kid?: string;
  x5c?: string[];
  issuedAt: Date;
  expiresAt?: Date;
  /** How long a verifier may cache the token before fetching it again. */
  ttlSeconds: number;
}

/** Signs a Status List Token (compact JWT, header `typ: statuslist+jwt`). */
export async function signStatusListToken(input: SignStatusListTokenInput): Promise<string> {
  const { list, uri, key, alg = "ES256", kid, x5c, issuedAt, expiresAt, ttlSeconds } = input;
  if (alg !== "ES256" && alg !== "EdDSA")
    throw new TypeError(`status list alg must be ES256 or EdDSA, got ${alg}`);
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1)
    throw new TypeError("ttlSeconds must be a positive integer");
  if (expiresAt !== undefined && expiresAt <= issuedAt)
    throw new TypeError("expiresAt must be after issuedAt");
  const header: JWTHeaderParameters = { alg, typ: STATUS_LIST_JWT_TYPE };
  if (kid !== undefined) header.kid = kid;
  if (x5c !== undefined) header.x5c = x5c;
  const jwt = new SignJWT({
    ttl: ttlSeconds,
    status_list: { bits: list.bits, lst: await list.encodeAsync() },
  })
    .setProtectedHeader(header)
    .setSubject(uri)
    .setIssuedAt(issuedAt);
  if (expiresAt !== undefined) jwt.setExpirationTime(expiresAt);
  return jwt.sign(key);
}

export interface VerifyStatusListTokenOptions {
  key?: CryptoKey | KeyObject;
  getKey?: (header: JWTHeaderParameters) => Promise<CryptoKey | KeyObject> | CryptoKey | KeyObject;
  /** The `uri` from the credential's status claim; the token's `sub` must equal it. */
  expectedUri: string;
  now?: Date;
  algorithms?: StatusListAlgorithm[];
}

export interface VerifiedStatusList {
  list: StatusList;
  ttlSeconds: number | undefined;
  issuedAt: Date;
  expiresAt: Date | undefined;
}

/** Verifies a Status List Token from outside; throws {@link StatusListError} with a stable `reason`. */
export async function verifyStatusListToken(
  jwt: string,
  options: VerifyStatusListTokenOptions,
): Promise<VerifiedStatusList> {
  const { key, getKey, expectedUri, now = new Date(), algorithms = ["ES256", "EdDSA"] } = options;
  if ((key === undefined) === (getKey === undefined))
    throw new TypeError("give exactly one of key and getKey");
  if (typeof jwt !== "string") throw new StatusListError("malformed", "status list token is not a string");
  const verifyOptions = {
    typ: STATUS_LIST_JWT_TYPE,
    subject: expectedUri,
    currentDate: now,
    algorithms,
    requiredClaims: ["sub", "iat"],
  };
  // A key of the wrong type for the token's alg would make jose throw a bare TypeError.
  const resolveKey = async (header: JWTHeaderParameters) => {
    const resolved = key ?? (await (getKey as NonNullable<typeof getKey>)(header));
    if (keyAlgorithm(resolved) !== header.alg) {
      throw new StatusListError(
        "bad-signature",
        `status list token alg ${header.alg} does not match the key`,
      );
    }
    return resolved;
  };
  let verified: Awaited<ReturnType<typeof jwtVerify>>;
  try {
    verified = await jwtVerify(jwt, resolveKey, verifyOptions);
  } catch (cause) {
    throw toStatusListError(cause);
  }
  const { payload } = verified;
  const ttl = payload.ttl;
  if (ttl !== undefined && (typeof ttl !== "number" || !(ttl > 0))) {
    throw new StatusListError("malformed", "status list token ttl is not a positive number");
  }
  const statusList = payload.status_list as { bits?: unknown; lst?: unknown } | undefined;
  if (typeof statusList !== "object" || statusList === null) {
    throw new StatusListError("bad-list", "status list token has no status_list claim");
  }
  return {
    list: StatusList.decode(statusList.lst, statusList.bits),
    ttlSeconds: ttl,
    issuedAt: new Date((payload.iat as number) * 1000),
    expiresAt: payload.exp === undefined ? undefined : new Date(payload.exp * 1000),
  };
}

function keyAlgorithm(key: CryptoKey | KeyObject): StatusListAlgorithm | undefined {
  if ("algorithm" in key) {
    const { name, namedCurve } = key.algorithm as { name: string; namedCurve?: string };
    if (name === "ECDSA" && namedCurve === "P-256") return "ES256";
    return name === "Ed25519" || name === "EdDSA" ? "EdDSA" : undefined;
  }
  const type = key.asymmetricKeyType;
  if (type === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  if (type === "ed25519") return "EdDSA";
  return undefined;
}

function toStatusListError(cause: unknown): unknown {
  const fail = (reason: StatusListErrorReason, message: string) =>
    new StatusListError(reason, message, { cause });
  if (cause instanceof errors.JWTExpired) return fail("expired", "status list token has expired");
  if (cause instanceof errors.JWTClaimValidationFailed) {
    if (cause.claim === "typ")
      return fail("wrong-type", `status list token typ is not ${STATUS_LIST_JWT_TYPE}`);
    if (cause.claim === "sub" && cause.reason === "check_failed") {
      return fail("wrong-uri", "status list token sub is not the expected uri");
    }
    return fail("malformed", `status list token claim ${cause.claim} is invalid`);
  }
  if (
    cause instanceof errors.JWSSignatureVerificationFailed ||
    cause instanceof errors.JOSEAlgNotAllowed ||
    cause instanceof errors.JWKSNoMatchingKey ||
    cause instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return fail("bad-signature", "status list token signature does not verify");
  }
  if (cause instanceof errors.JOSEError) return fail("malformed", "status list token is malformed");
  return cause;
}
