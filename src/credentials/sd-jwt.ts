/**
 * SD-JWT (RFC 9901): issue, present and verify selectively disclosable JWTs.
 *
 * The verifier is our own rather than `@sd-jwt/*`, because RFC 9901 requires rejecting disclosures no
 * digest refers to and 0.19 accepts them. Every rejection is an {@link SdJwtError} with a stable
 * `reason`; misuse by our own code (a disclosable claim that does not exist, say) is a `TypeError`.
 *
 * @example
 * const { sdJwt } = await issueSdJwt({ header: { typ: "dc+sd-jwt" }, claims, disclosable: ["fullName"], key });
 * const vp = await presentSdJwt(sdJwt, { disclose: (n) => n === "fullName", holderKey, aud, nonce, iat });
 * const { payload } = await verifySdJwt(vp, { issuerKey, expectedTyp: "dc+sd-jwt", now, aud, nonce,
 *   requireKeyBinding: true });
 */

import {
  createHash,
  createPublicKey,
  KeyObject,
  type JsonWebKey as NodeJsonWebKey,
  randomBytes,
} from "node:crypto";
import type { CryptoKey, JWK } from "jose";
import { CompactSign } from "jose";
import { verifyCompactJws, verifyJwsSignature } from "./compact-jws.ts";

/** Why a presentation was refused; stable, safe to log and to map to a client-facing code. */
export type SdJwtFailure =
  | "malformed"
  | "alg-none"
  | "bad-signature"
  | "unknown-key"
  | "wrong-type"
  | "expired"
  | "not-yet-valid"
  | "unreferenced-disclosure"
  | "duplicate-disclosure"
  | "duplicate-digest"
  | "bad-disclosure"
  | "missing-key-binding"
  | "bad-key-binding"
  | "wrong-audience"
  | "wrong-nonce"
  | "stale-key-binding";

/** A presentation or SD-JWT that must not be trusted; `reason` says which rule it broke. */
export class SdJwtError extends Error {
  override readonly name = "SdJwtError";
  readonly reason: SdJwtFailure;
  constructor(reason: SdJwtFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** A key jose can sign or verify with. */
export type SigningKey = CryptoKey | KeyObject;

export type SdJwtAlg = "ES256" | "ES384" | "EdDSA" | "Ed25519";

/** One disclosure as issued: the encoded form travels, the rest is for the caller's convenience. */
export interface Disclosure {
  readonly encoded: string;
  readonly digest: string;
  readonly salt: string;
  /** Absent for an array element disclosure. */
  readonly name?: string;
  readonly value: unknown;
}

export interface IssueSdJwtInput {
  header: { typ: string; alg?: SdJwtAlg; kid?: string; x5c?: string[] };
  /** All claims, plain; put the holder key in `cnf: { jwk }` for key binding. */
  claims: Record<string, unknown>;
  /** Top-level claim names to make selectively disclosable. */
  disclosable: readonly string[];
  key: SigningKey;
  /** Number of decoy digests to add, hiding how many claims are disclosable. */
  decoys?: number;
  /** Source of randomness for salts and decoys (tests); defaults to `crypto.randomBytes`. */
  random?: (bytes: number) => Uint8Array;
}

export interface PresentSdJwtOptions {
  /** Whether to reveal a disclosure; `name` is undefined for an array element. */
  disclose: (name: string | undefined, value: unknown) => boolean;
  holderKey?: SigningKey;
  holderAlg?: SdJwtAlg;
  aud: string;
  nonce: string;
  /** Seconds since the epoch. */
  iat: number;
}

export interface VerifySdJwtOptions {
  issuerKey?: SigningKey;
  /** Finds the issuer key from the (not yet verified) header and payload; undefined means unknown. */
  getIssuerKey?: (
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
  ) => Promise<SigningKey | undefined> | SigningKey | undefined;
  /** `typ` the issuer-signed JWT must carry, e.g. `dc+sd-jwt`. */
  expectedTyp: string;
  /** Seconds since the epoch. */
  now: number;
  requireKeyBinding: boolean;
  aud?: string;
  nonce?: string;
  maxKbAgeSeconds?: number;
  clockSkewSeconds?: number;
  algorithms?: readonly SdJwtAlg[];
  maxBytes?: number;
  maxDisclosures?: number;
}

export interface VerifiedSdJwt {
  header: Record<string, unknown>;
  /** The issuer's claims with what the holder disclosed merged in, `_sd` and `_sd_alg` removed. */
  payload: Record<string, unknown>;
  /** Names of the disclosed object properties (array elements carry no name). */
  disclosed: string[];
  /** The key binding JWT payload when one was presented and verified. */
  keyBinding?: Record<string, unknown>;
}

const HASH_ALGS: Record<string, string> = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" };
const DEFAULT_ALGS: readonly SdJwtAlg[] = ["ES256", "ES384", "EdDSA", "Ed25519"];
const B64URL = /^[A-Za-z0-9_-]*$/;
const MAX_DEPTH = 32;
const RESERVED = new Set(["_sd", "...", "_sd_alg"]);

const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString("base64url");

function digestOf(text: string, sdAlg = "sha-256"): string {
  const alg = HASH_ALGS[sdAlg];
  if (alg === undefined) throw new SdJwtError("malformed", `unsupported _sd_alg ${sdAlg}`);
  return createHash(alg).update(text, "ascii").digest("base64url");
}

function decodeJson(part: string): unknown {
  if (part === "" || !B64URL.test(part)) throw new Error("not base64url");
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Sets an own property even for `__proto__`, which plain assignment would turn into a prototype change. */
function define(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

/** Issues an SD-JWT whose listed top-level claims are selectively disclosable; `_sd` digests are sorted. */
export async function issueSdJwt(
  input: IssueSdJwtInput,
): Promise<{ sdJwt: string; disclosures: Disclosure[] }> {
  const random = input.random ?? ((n: number) => randomBytes(n));
  const payload: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input.claims)) {
    if (name === "_sd" || name === "_sd_alg") throw new TypeError(`claim name ${name} is reserved`);
    define(payload, name, value);
  }
  const disclosures: Disclosure[] = [];
  for (const name of new Set(input.disclosable)) {
    if (RESERVED.has(name)) throw new TypeError(`claim name ${name} cannot be disclosable`);
    if (!Object.hasOwn(payload, name)) throw new TypeError(`disclosable claim ${name} is not in claims`);
    const value = payload[name];
    delete payload[name];
    const salt = b64url(random(16));
    const encoded = b64url(JSON.stringify([salt, name, value]));
    disclosures.push({ encoded, digest: digestOf(encoded), salt, name, value });
  }
  const decoys = Array.from({ length: input.decoys ?? 0 }, () => digestOf(b64url(random(16))));
  const sd = [...disclosures.map((d) => d.digest), ...decoys].sort();
  if (sd.length > 0) payload._sd = sd;
  payload._sd_alg = "sha-256";
  const { typ, alg = "ES256", kid, x5c } = input.header;
  const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({
      alg,
      typ,
      ...(kid === undefined ? {} : { kid }),
      ...(x5c === undefined ? {} : { x5c }),
    })
    .sign(input.key);
  return { sdJwt: `${jwt}~${disclosures.map((d) => `${d.encoded}~`).join("")}`, disclosures };
}

/** Keeps the disclosures the holder chooses and, given a holder key, appends a key binding JWT. */
export async function presentSdJwt(sdJwt: string, options: PresentSdJwtOptions): Promise<string> {
  const parts = sdJwt.split("~");
  const [jwt] = parts;
  if (parts.length < 2 || parts.at(-1) !== "" || jwt === undefined) {
    throw new TypeError("expected an SD-JWT without key binding (<JWT>~<D>~...~)");
  }
  const chosen = parts.slice(1, -1).filter((encoded) => {
    const decoded = decodeJson(encoded) as unknown[];
    return decoded.length === 3
      ? options.disclose(decoded[1] as string, decoded[2])
      : options.disclose(undefined, decoded[1]);
  });
  const presented = `${jwt}~${chosen.map((d) => `${d}~`).join("")}`;
  if (options.holderKey === undefined) return presented;
  const payload = decodeJson(jwt.split(".")[1] ?? "") as Record<string, unknown>;
  const sdHash = digestOf(presented, typeof payload._sd_alg === "string" ? payload._sd_alg : undefined);
  const kb = await new CompactSign(
    new TextEncoder().encode(
      JSON.stringify({ iat: options.iat, aud: options.aud, nonce: options.nonce, sd_hash: sdHash }),
    ),
  )
    .setProtectedHeader({ alg: options.holderAlg ?? "ES256", typ: "kb+jwt" })
    .sign(options.holderKey);
  return presented + kb;
}

/** Verifies a presentation under RFC 9901 section 7 and returns the disclosed view of its claims. */
export async function verifySdJwt(presentation: string, options: VerifySdJwtOptions): Promise<VerifiedSdJwt> {
  if (options.requireKeyBinding && (options.aud === undefined || options.nonce === undefined)) {
    throw new TypeError("key binding requires the expected aud and nonce");
  }
  const skew = options.clockSkewSeconds ?? 60;
  const algorithms = options.algorithms ?? DEFAULT_ALGS;
  if (typeof presentation !== "string" || presentation.length > (options.maxBytes ?? 65_536)) {
    throw new SdJwtError("malformed", "presentation missing or too large");
  }
  const parts = presentation.split("~");
  if (parts.length < 2) throw new SdJwtError("malformed", "not an SD-JWT: no ~ separator");
  if (parts.length - 2 > (options.maxDisclosures ?? 200))
    throw new SdJwtError("malformed", "too many disclosures");
  const jwt = parts[0] ?? "";
  const encodedDisclosures = parts.slice(1, -1);
  const kbJwt = parts.at(-1) ?? "";

  const segments = jwt.split(".");
  let header: Record<string, unknown>;
  let unverified: Record<string, unknown>;
  try {
    if (segments.length !== 3) throw new Error("not a compact JWS");
    const h = decodeJson(segments[0] ?? "");
    const p = decodeJson(segments[1] ?? "");
    if (!isObject(h) || !isObject(p)) throw new Error("header or payload is not an object");
    header = h;
    unverified = p;
  } catch (cause) {
    throw new SdJwtError("malformed", "issuer-signed JWT cannot be parsed", { cause });
  }
  if (typeof header.alg !== "string" || header.alg.toLowerCase() === "none") {
    throw new SdJwtError("alg-none", "issuer-signed JWT is unsigned");
  }
  if (!sameTyp(header.typ, options.expectedTyp)) {
    throw new SdJwtError("wrong-type", `typ ${String(header.typ)} is not ${options.expectedTyp}`);
  }
  let key: SigningKey | undefined;
  try {
    key = options.issuerKey ?? (await options.getIssuerKey?.(header, unverified));
  } catch (cause) {
    throw new SdJwtError("unknown-key", "issuer key lookup failed", { cause });
  }
  if (key === undefined) throw new SdJwtError("unknown-key", "no key for this issuer");
  try {
    // Header and payload were read above (to find the key); only the signature is left to check.
    verifyJwsSignature(jwt, header, keyObjectOf(key), algorithms);
  } catch (cause) {
    throw new SdJwtError("bad-signature", "issuer signature does not verify", { cause });
  }
  checkTimes(unverified, options.now, skew);

  const sdAlg = unverified._sd_alg ?? "sha-256";
  if (typeof sdAlg !== "string" || HASH_ALGS[sdAlg] === undefined) {
    throw new SdJwtError("malformed", "unsupported _sd_alg");
  }
  const byDigest = new Map<string, unknown[]>();
  for (const encoded of encodedDisclosures) {
    let decoded: unknown;
    try {
      decoded = decodeJson(encoded);
    } catch (cause) {
      throw new SdJwtError("bad-disclosure", "disclosure cannot be decoded", { cause });
    }
    if (!isWellFormedDisclosure(decoded))
      throw new SdJwtError("bad-disclosure", "disclosure has the wrong shape");
    const digest = digestOf(encoded, sdAlg);
    if (byDigest.has(digest))
      throw new SdJwtError("duplicate-disclosure", "the same disclosure appears twice");
    byDigest.set(digest, decoded);
  }
  const state: ProcessState = { byDigest, seen: new Set(), used: new Set(), disclosed: [] };
  const payload = processObject(unverified, state, 0);
  delete payload._sd_alg;
  if (state.used.size !== byDigest.size) {
    throw new SdJwtError("unreferenced-disclosure", "a disclosure is not referenced by any digest");
  }

  if (kbJwt === "") {
    if (options.requireKeyBinding) throw new SdJwtError("missing-key-binding", "key binding JWT is required");
    return { header, payload, disclosed: state.disclosed };
  }
  const keyBinding = await verifyKeyBinding(kbJwt, presentation.slice(0, -kbJwt.length), sdAlg, unverified, {
    ...options,
    skew,
    algorithms,
  });
  return { header, payload, disclosed: state.disclosed, keyBinding };
}

function sameTyp(actual: unknown, expected: string): boolean {
  const norm = (t: string) => t.toLowerCase().replace(/^application\//, "");
  return typeof actual === "string" && norm(actual) === norm(expected);
}

function checkTimes(payload: Record<string, unknown>, now: number, skew: number): void {
  for (const claim of ["exp", "nbf", "iat"] as const) {
    if (payload[claim] !== undefined && typeof payload[claim] !== "number") {
      throw new SdJwtError("malformed", `${claim} is not a number`);
    }
  }
  if (typeof payload.exp === "number" && now - skew >= payload.exp) {
    throw new SdJwtError("expired", "SD-JWT has expired");
  }
  if (typeof payload.nbf === "number" && now + skew < payload.nbf) {
    throw new SdJwtError("not-yet-valid", "SD-JWT is not valid yet");
  }
}

function isWellFormedDisclosure(d: unknown): d is unknown[] {
  if (!Array.isArray(d) || typeof d[0] !== "string") return false;
  if (d.length === 2) return true;
  return d.length === 3 && typeof d[1] === "string" && !RESERVED.has(d[1]) && d[1] !== "_sd_alg";
}

interface ProcessState {
  byDigest: Map<string, unknown[]>;
  seen: Set<string>;
  used: Set<string>;
  disclosed: string[];
}

/** Records a digest, refusing one met before anywhere in the payload or its disclosures. */
function take(digest: string, state: ProcessState): unknown[] | undefined {
  if (state.seen.has(digest)) throw new SdJwtError("duplicate-digest", "a digest appears more than once");
  state.seen.add(digest);
  const disclosure = state.byDigest.get(digest);
  if (disclosure !== undefined) state.used.add(digest);
  return disclosure;
}

function processValue(value: unknown, state: ProcessState, depth: number): unknown {
  if (Array.isArray(value)) return processArray(value, state, depth);
  if (isObject(value)) return processObject(value, state, depth);
  return value;
}

function processObject(
  obj: Record<string, unknown>,
  state: ProcessState,
  depth: number,
): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new SdJwtError("malformed", "claims nested too deeply");
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(obj)) {
    if (name !== "_sd") define(out, name, processValue(value, state, depth + 1));
  }
  const sd = obj._sd;
  if (sd === undefined) return out;
  if (!Array.isArray(sd) || !sd.every((d) => typeof d === "string")) {
    throw new SdJwtError("malformed", "_sd is not an array of digests");
  }
  for (const digest of sd as string[]) {
    const disclosure = take(digest, state);
    if (disclosure === undefined) continue; // a decoy, or a claim the holder kept back
    if (disclosure.length !== 3)
      throw new SdJwtError("bad-disclosure", "array element disclosure used in _sd");
    const name = disclosure[1] as string;
    if (Object.hasOwn(out, name)) throw new SdJwtError("bad-disclosure", `claim ${name} is disclosed twice`);
    define(out, name, processValue(disclosure[2], state, depth + 1));
    if (depth === 0) state.disclosed.push(name);
  }
  return out;
}

function processArray(arr: unknown[], state: ProcessState, depth: number): unknown[] {
  if (depth > MAX_DEPTH) throw new SdJwtError("malformed", "claims nested too deeply");
  const out: unknown[] = [];
  for (const element of arr) {
    if (isObject(element) && Object.hasOwn(element, "...")) {
      const digest = element["..."];
      if (Object.keys(element).length !== 1 || typeof digest !== "string") {
        throw new SdJwtError("malformed", "array element digest has the wrong shape");
      }
      const disclosure = take(digest, state);
      if (disclosure === undefined) continue;
      if (disclosure.length !== 2)
        throw new SdJwtError("bad-disclosure", "property disclosure used in an array");
      out.push(processValue(disclosure[1], state, depth + 1));
    } else {
      out.push(processValue(element, state, depth + 1));
    }
  }
  return out;
}

async function verifyKeyBinding(
  kbJwt: string,
  presented: string,
  sdAlg: string,
  issuerPayload: Record<string, unknown>,
  options: VerifySdJwtOptions & { skew: number; algorithms: readonly SdJwtAlg[] },
): Promise<Record<string, unknown>> {
  const cnf = issuerPayload.cnf;
  if (!isObject(cnf) || !isObject(cnf.jwk)) {
    throw new SdJwtError("bad-key-binding", "SD-JWT has no holder key (cnf.jwk)");
  }
  let header: unknown;
  try {
    header = decodeJson(kbJwt.split(".")[0] ?? "");
  } catch (cause) {
    throw new SdJwtError("bad-key-binding", "key binding JWT cannot be parsed", { cause });
  }
  if (!isObject(header) || typeof header.alg !== "string") {
    throw new SdJwtError("bad-key-binding", "key binding JWT header is invalid");
  }
  if (header.alg.toLowerCase() === "none") throw new SdJwtError("alg-none", "key binding JWT is unsigned");
  if (header.typ !== "kb+jwt") throw new SdJwtError("bad-key-binding", "key binding JWT typ is not kb+jwt");
  let payload: unknown;
  try {
    payload = verifyCompactJws(kbJwt, holderKeyOf(cnf.jwk as JWK), options.algorithms).payload;
  } catch (cause) {
    throw new SdJwtError("bad-key-binding", "key binding signature does not verify with cnf.jwk", { cause });
  }
  if (!isObject(payload) || payload.sd_hash !== digestOf(presented, sdAlg)) {
    throw new SdJwtError("bad-key-binding", "sd_hash does not match the presented SD-JWT");
  }
  if (options.aud !== undefined && payload.aud !== options.aud) {
    throw new SdJwtError("wrong-audience", "key binding JWT is for another verifier");
  }
  if (options.nonce !== undefined && payload.nonce !== options.nonce) {
    throw new SdJwtError("wrong-nonce", "key binding JWT nonce does not match");
  }
  const maxAge = options.maxKbAgeSeconds ?? 300;
  if (
    typeof payload.iat !== "number" ||
    options.now - payload.iat > maxAge + options.skew ||
    payload.iat > options.now + options.skew
  ) {
    throw new SdJwtError("stale-key-binding", "key binding JWT iat is outside the accepted window");
  }
  return payload;
}

/** jose keys and Node's: the signature checks take a KeyObject. */
function keyObjectOf(key: SigningKey): KeyObject {
  return key instanceof KeyObject ? key : KeyObject.from(key as CryptoKey);
}

/**
 * Holder keys (`cnf.jwk`) as KeyObjects, remembered: importing one (the point checked on its curve) costs
 * about as much as a signature check, and a verifier meets the same wallets again and again. Bounded, so
 * that a flood of new keys cannot grow it.
 */
const holderKeys = new Map<string, KeyObject>();
const MAX_HOLDER_KEYS = 4096;

function holderKeyOf(jwk: JWK): KeyObject {
  // Only the public members: a `d` in cnf would make Node import a private key.
  const { kty, crv, x, y } = jwk;
  const id = JSON.stringify([kty, crv, x, y]);
  let key = holderKeys.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: { kty, crv, x, y } as NodeJsonWebKey, format: "jwk" });
    if (holderKeys.size >= MAX_HOLDER_KEYS) holderKeys.delete(holderKeys.keys().next().value as string);
    holderKeys.set(id, key);
  }
  return key;
}
