/**
 * Verifies a presented European Student Card (SD-JWT VC with key binding), offline while its caches are
 * fresh: issuer keys come from the issuer's SD-JWT VC metadata (`/.well-known/jwt-vc-issuer`), the
 * revocation state from its Token Status List, and both are kept (metadata for `metadataTtlSeconds`, a
 * list for its `ttl` from when it was fetched, never past its `exp`) so that a busy verifier does not fetch per presentation.
 *
 * Bad input never throws: every refusal is a result with a stable `reason`.
 *
 * @example
 * const verifier = new PresentationVerifier({ trustAnchors: [caPem] });
 * const result = await verifier.verify(presentation, { audience: "https://verifier.example", nonce });
 * if (!result.valid) console.log(result.reason);
 */
import { createPublicKey, type JsonWebKey, KeyObject, X509Certificate } from "node:crypto";
import type { JWTHeaderParameters } from "jose";
import { ESC_VCT, SD_JWT_VC_TYPE } from "./esc-credential.ts";
import { verifyX5cChain, X5cChainError } from "./issuer-certificates.ts";
import { SdJwtError, type SdJwtFailure, verifySdJwt } from "./sd-jwt.ts";
import {
  STATUS_LIST_JWT_TYPE,
  STATUS_SUSPENDED,
  STATUS_VALID,
  type StatusList,
  StatusListError,
  verifyStatusListToken,
} from "./token-status-list.ts";
import {
  type FetchedDocument,
  fetchOverHttp,
  memoryCache,
  type VerifierCache,
  type VerifierFetch,
} from "./verifier-fetch.ts";

export type { FetchedDocument, VerifierCache, VerifierFetch } from "./verifier-fetch.ts";

export type VerificationFailure =
  | "malformed"
  | "alg-none"
  | "wrong-type"
  | "bad-signature"
  | "unknown-key"
  | "untrusted-chain"
  | "expired"
  | "not-yet-valid"
  | "revoked"
  | "suspended"
  | "unreferenced-disclosure"
  | "duplicate-disclosure"
  | "bad-disclosure"
  | "missing-key-binding"
  | "bad-key-binding"
  | "wrong-audience"
  | "wrong-nonce"
  | "stale-key-binding"
  | "status-unavailable"
  | "issuer-unavailable";

export type VerificationResult =
  | {
      valid: true;
      issuer: string;
      vct: string;
      /** The claims the holder disclosed, and `issuer`. */
      claims: Record<string, unknown>;
      status: "valid";
      expiresAt: string;
    }
  | { valid: false; reason: VerificationFailure; message: string; issuer?: string };

export interface PresentationVerifierOptions {
  /** Defaults to the global `fetch`, 10 s per document, redirects refused, 8 MiB at most. */
  fetch?: VerifierFetch;
  /** CA certificates (PEM, several per string allowed, or DER); when given, `x5c` must chain to one. */
  trustAnchors?: readonly (string | Uint8Array)[];
  now?: () => Date;
  /** Default 60. */
  clockSkewSeconds?: number;
  /** Default 65 536. */
  maxPresentationBytes?: number;
  /** Defaults to memory. */
  cache?: VerifierCache;
  /** Accept `http:` issuers and status lists (loopback tests); default false. */
  allowHttp?: boolean;
  /** How long fetched issuer metadata is used before it is fetched again; default 3600. */
  metadataTtlSeconds?: number;
}

/** A refusal decided here; sd-jwt.ts carries it through as the `cause` of its `unknown-key`. */
class Refusal extends Error {
  constructor(
    readonly reason: VerificationFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface IssuerKeys {
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly fetchedAt: number;
}

interface FreshList {
  readonly list: StatusList;
  readonly freshUntil: number;
}

/** What the cache holds per URL: the body as fetched, and when (seconds since the epoch). */
interface StoredDocument {
  fetchedAt: number;
  body: string;
}

const SD_JWT_REASONS: Record<SdJwtFailure, VerificationFailure> = {
  malformed: "malformed",
  "alg-none": "alg-none",
  "bad-signature": "bad-signature",
  "unknown-key": "unknown-key",
  "wrong-type": "wrong-type",
  expired: "expired",
  "not-yet-valid": "not-yet-valid",
  "unreferenced-disclosure": "unreferenced-disclosure",
  "duplicate-disclosure": "duplicate-disclosure",
  "duplicate-digest": "malformed",
  "bad-disclosure": "bad-disclosure",
  "missing-key-binding": "missing-key-binding",
  "bad-key-binding": "bad-key-binding",
  "wrong-audience": "wrong-audience",
  "wrong-nonce": "wrong-nonce",
  "stale-key-binding": "stale-key-binding",
};

/** Claims of the JWT and SD-JWT VC layers, not of the card. */
const ENVELOPE_CLAIMS = new Set(["iss", "iat", "nbf", "exp", "vct", "vct#integrity", "cnf", "status", "sub"]);
/** An unknown `kid` refetches the metadata, but no more often than this per issuer. */
const REFETCH_INTERVAL_SECONDS = 30;
const DEFAULT_LIST_TTL_SECONDS = 300;
const MAX_ISSUER_KEYS = 100;
const MAX_REMEMBERED_CHAINS = 256;

export class PresentationVerifier {
  readonly #fetch: VerifierFetch;
  readonly #anchors: readonly Uint8Array[];
  readonly #now: () => Date;
  readonly #skew: number;
  readonly #maxBytes: number;
  readonly #cache: VerifierCache;
  readonly #allowHttp: boolean;
  readonly #metadataTtl: number;
  readonly #issuers = new Map<string, IssuerKeys>();
  readonly #lastMetadataFetch = new Map<string, number>();
  readonly #lists = new Map<string, FreshList>();
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #chains = new Map<string, { key: KeyObject; from: number; until: number }>();

  constructor(options: PresentationVerifierOptions = {}) {
    this.#fetch = options.fetch ?? fetchOverHttp;
    this.#anchors = (options.trustAnchors ?? []).flatMap(certificatesOf);
    this.#now = options.now ?? (() => new Date());
    this.#skew = options.clockSkewSeconds ?? 60;
    this.#maxBytes = options.maxPresentationBytes ?? 65_536;
    this.#cache = options.cache ?? memoryCache();
    this.#allowHttp = options.allowHttp ?? false;
    this.#metadataTtl = options.metadataTtlSeconds ?? 3600;
  }

  /** Verifies a presentation made for `audience` with `nonce`; never throws for bad input. */
  async verify(
    presentation: string,
    options: { audience: string; nonce: string },
  ): Promise<VerificationResult> {
    if (typeof options?.audience !== "string" || typeof options.nonce !== "string") {
      throw new TypeError("verify needs the expected audience and nonce");
    }
    let issuer: string | undefined;
    try {
      if (typeof presentation !== "string" || Buffer.byteLength(presentation) > this.#maxBytes) {
        throw new Refusal("malformed", `presentation missing or larger than ${this.#maxBytes} bytes`);
      }
      const now = this.#now();
      const { payload } = await verifySdJwt(presentation, {
        getIssuerKey: (header, unverified) => {
          issuer = typeof unverified.iss === "string" ? unverified.iss : undefined;
          return this.#issuerKey(header, unverified, now);
        },
        expectedTyp: SD_JWT_VC_TYPE,
        now: seconds(now),
        requireKeyBinding: true,
        aud: options.audience,
        nonce: options.nonce,
        clockSkewSeconds: this.#skew,
        maxBytes: this.#maxBytes,
      });
      const expiresAt = typeof payload.exp === "number" ? new Date(payload.exp * 1000) : undefined;
      if (expiresAt === undefined || Number.isNaN(expiresAt.getTime())) {
        throw new Refusal("malformed", "credential has no valid exp");
      }
      const iss = payload.iss as string; // checked before the key was looked up
      const value = await this.#statusOf(iss, statusReference(payload.status), now);
      if (value === STATUS_SUSPENDED) throw new Refusal("suspended", "the card is suspended");
      if (value !== STATUS_VALID) throw new Refusal("revoked", "the card is revoked");
      const claims = Object.fromEntries(
        Object.entries(payload).filter(([name]) => !ENVELOPE_CLAIMS.has(name)),
      );
      return {
        valid: true,
        issuer: iss,
        vct: ESC_VCT,
        claims,
        status: "valid",
        expiresAt: expiresAt.toISOString(),
      };
    } catch (error) {
      const refusal = refusalOf(error);
      return {
        valid: false,
        reason: refusal.reason,
        message: refusal.message,
        ...(issuer ? { issuer } : {}),
      };
    }
  }

  /** The issuer's key for this credential, after the checks that need no signature. */
  async #issuerKey(
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
    now: Date,
  ): Promise<KeyObject> {
    if (payload.vct !== ESC_VCT) throw new Refusal("wrong-type", `vct is not ${ESC_VCT}`);
    const iss = this.#checkedUrl(payload.iss, "issuer", "issuer-unavailable");
    if (new URL(iss).search !== "" || new URL(iss).hash !== "") {
      throw new Refusal("malformed", "iss has a query or fragment");
    }
    if (typeof header.kid !== "string" || header.kid === "") {
      throw new Refusal("unknown-key", "the credential names no kid");
    }
    // The chain first: an untrusted credential is refused without touching the network.
    const certified = await this.#certifiedKey(header.x5c, now);
    const key = await this.#keyFor(iss, header.kid, now);
    if (certified !== undefined && !certified.equals(key)) {
      throw new Refusal("untrusted-chain", `the x5c leaf certifies another key than ${header.kid}`);
    }
    return key;
  }

  /** The key the `x5c` leaf certifies, after checking the chain when there are trust anchors. */
  async #certifiedKey(x5c: unknown, now: Date): Promise<KeyObject | undefined> {
    if (x5c === undefined) {
      if (this.#anchors.length > 0) throw new Refusal("untrusted-chain", "the credential has no x5c chain");
      return undefined;
    }
    if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((entry) => typeof entry === "string")) {
      throw new Refusal("malformed", "x5c is not an array of certificates");
    }
    // Checking a chain costs several times the signatures themselves; a chain seen before is known good
    // for as long as every certificate it rests on is valid.
    const id = x5c.join(",");
    const known = this.#chains.get(id);
    if (known !== undefined && now.getTime() >= known.from && now.getTime() <= known.until) return known.key;
    let certified: { key: KeyObject; from: number; until: number };
    try {
      certified =
        this.#anchors.length === 0
          ? {
              key: new X509Certificate(fromBase64(x5c[0] as string)).publicKey,
              from: -Infinity,
              until: Infinity,
            }
          : {
              key: KeyObject.from(await verifyX5cChain(x5c, this.#anchors, now)),
              ...validityOf([...x5c.map(fromBase64), ...this.#anchors]),
            };
    } catch (error) {
      if (error instanceof X5cChainError) {
        throw new Refusal(error.reason === "malformed" ? "malformed" : "untrusted-chain", error.message);
      }
      throw new Refusal("malformed", "x5c does not hold certificates", { cause: error });
    }
    if (this.#chains.size >= MAX_REMEMBERED_CHAINS) this.#chains.clear();
    this.#chains.set(id, certified);
    return certified.key;
  }

  async #keyFor(iss: string, kid: unknown, now: Date): Promise<KeyObject> {
    if (typeof kid !== "string") throw new Refusal("unknown-key", "no kid");
    let entry = await this.#metadata(iss, now);
    let key = entry.keys.get(kid);
    const lastFetch = Math.max(entry.fetchedAt, this.#lastMetadataFetch.get(iss) ?? 0);
    if (key === undefined && seconds(now) - lastFetch >= REFETCH_INTERVAL_SECONDS) {
      // The issuer may have rotated since the metadata was cached.
      try {
        entry = await this.#fetchMetadata(iss, now);
        key = entry.keys.get(kid);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
      }
    }
    if (key === undefined) throw new Refusal("unknown-key", `the issuer metadata lists no key ${kid}`);
    return key;
  }

  async #metadata(iss: string, now: Date): Promise<IssuerKeys> {
    const fresh = (entry: IssuerKeys) => seconds(now) < entry.fetchedAt + this.#metadataTtl;
    const known = this.#issuers.get(iss);
    if (known !== undefined && fresh(known)) return known;
    const stored = await this.#stored(metadataUrl(iss));
    if (stored !== undefined) {
      try {
        const entry = { keys: issuerKeysOf(stored.body, iss), fetchedAt: stored.fetchedAt };
        if (fresh(entry)) {
          this.#issuers.set(iss, entry);
          return entry;
        }
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
      }
    }
    return this.#fetchMetadata(iss, now);
  }

  #fetchMetadata(iss: string, now: Date): Promise<IssuerKeys> {
    const url = metadataUrl(iss);
    return this.#once(`metadata ${url}`, async () => {
      this.#lastMetadataFetch.set(iss, seconds(now));
      const body = await this.#get(url, "application/json", "issuer-unavailable");
      const entry = { keys: issuerKeysOf(body, iss), fetchedAt: seconds(now) };
      this.#issuers.set(iss, entry);
      await this.#store(url, { fetchedAt: entry.fetchedAt, body });
      return entry;
    });
  }

  async #statusOf(iss: string, reference: { uri: string; idx: number }, now: Date): Promise<number> {
    const uri = this.#checkedUrl(reference.uri, "status list", "status-unavailable");
    // Keyed by issuer too: a list is only good for the issuer whose key it was verified with.
    const key = `${iss} ${uri}`;
    let fresh = this.#lists.get(key);
    if (fresh === undefined || seconds(now) >= fresh.freshUntil) {
      fresh = await this.#once(`list ${key}`, () => this.#loadList(iss, uri, now));
    }
    if (reference.idx >= fresh.list.size) {
      throw new Refusal("status-unavailable", `status list ${uri} has no entry ${reference.idx}`);
    }
    return fresh.list.get(reference.idx);
  }

  async #loadList(iss: string, uri: string, now: Date): Promise<FreshList> {
    const key = `${iss} ${uri}`;
    const stored = await this.#stored(uri);
    if (stored !== undefined) {
      const fresh = await this.#verifyList(iss, uri, stored.body, now, stored.fetchedAt).catch(unlessRefusal);
      if (fresh !== undefined && seconds(now) < fresh.freshUntil) {
        this.#lists.set(key, fresh);
        return fresh;
      }
    }
    const body = await this.#get(uri, `application/${STATUS_LIST_JWT_TYPE}`, "status-unavailable");
    let fresh: FreshList;
    try {
      fresh = await this.#verifyList(iss, uri, body, now, seconds(now));
    } catch (cause) {
      unlessRefusal(cause);
      const detail = cause instanceof StatusListError ? cause.reason : (cause as Error).message;
      throw new Refusal("status-unavailable", `status list ${uri} refused: ${detail}`, { cause });
    }
    this.#lists.set(key, fresh);
    await this.#store(uri, { fetchedAt: seconds(now), body });
    return fresh;
  }

  /** `ttl` counts from when the copy was fetched (Token Status List: how long a consumer may cache it). */
  async #verifyList(
    iss: string,
    uri: string,
    body: string,
    now: Date,
    fetchedAt: number,
  ): Promise<FreshList> {
    const verified = await verifyStatusListToken(body.trim(), {
      getKey: (header: JWTHeaderParameters) => this.#keyFor(iss, header.kid, now),
      expectedUri: uri,
      now,
    });
    const exp = verified.expiresAt === undefined ? Number.POSITIVE_INFINITY : seconds(verified.expiresAt);
    return {
      list: verified.list,
      freshUntil: Math.min(fetchedAt + (verified.ttlSeconds ?? DEFAULT_LIST_TTL_SECONDS), exp),
    };
  }

  /** GETs a document that must answer 200 (and, for a status list, with its media type). */
  async #get(url: string, accept: string, failure: VerificationFailure): Promise<string> {
    let document: FetchedDocument;
    try {
      document = await this.#fetch(url, { accept });
    } catch (cause) {
      throw new Refusal(failure, `${url} could not be fetched: ${(cause as Error)?.message}`, { cause });
    }
    if (document.status !== 200) throw new Refusal(failure, `${url} answered ${document.status}`);
    if (accept !== "application/json" && !document.contentType?.toLowerCase().startsWith(accept)) {
      throw new Refusal(failure, `${url} is not ${accept} but ${document.contentType}`);
    }
    return document.body;
  }

  #checkedUrl(value: unknown, what: string, failure: VerificationFailure): string {
    if (typeof value !== "string" || !URL.canParse(value))
      throw new Refusal("malformed", `${what} is not a URL`);
    const { protocol } = new URL(value);
    if (protocol === "https:" || (protocol === "http:" && this.#allowHttp)) return value;
    throw new Refusal(failure, `${what} ${value} is not https`);
  }

  /** Shares one fetch among the verifications that need the same document at the same time. */
  #once<T>(key: string, work: () => Promise<T>): Promise<T> {
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending as Promise<T>;
    const started = work().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, started);
    return started;
  }

  async #stored(url: string): Promise<StoredDocument | undefined> {
    try {
      const value = JSON.parse((await this.#cache.get(url)) ?? "null") as Partial<StoredDocument> | null;
      return typeof value?.fetchedAt === "number" && typeof value.body === "string"
        ? { fetchedAt: value.fetchedAt, body: value.body }
        : undefined;
    } catch {
      return undefined; // an unreadable entry is a miss
    }
  }

  async #store(url: string, document: StoredDocument): Promise<void> {
    try {
      await this.#cache.set(url, JSON.stringify(document));
    } catch {
      // A cache that cannot be written costs fetches later, not correctness now.
    }
  }
}

/** Lets a refusal (ours or a status list's) through as `undefined`; anything else is a bug and is rethrown. */
function unlessRefusal(error: unknown): undefined {
  if (error instanceof Refusal || error instanceof StatusListError) return undefined;
  throw error;
}

function refusalOf(error: unknown): Refusal {
  if (error instanceof Refusal) return error;
  if (error instanceof SdJwtError) {
    return error.cause instanceof Refusal
      ? error.cause
      : new Refusal(SD_JWT_REASONS[error.reason], error.message);
  }
  throw error;
}

/** `<origin>/.well-known/jwt-vc-issuer<path>` (SD-JWT VC issuer metadata). */
function metadataUrl(iss: string): string {
  const url = new URL(iss);
  return `${url.origin}/.well-known/jwt-vc-issuer${url.pathname.replace(/\/$/, "")}`;
}

/** The signing keys of issuer metadata that names `iss`; keys it cannot use are skipped. */
function issuerKeysOf(body: string, iss: string): ReadonlyMap<string, KeyObject> {
  let metadata: { issuer?: unknown; jwks?: { keys?: unknown } };
  try {
    metadata = JSON.parse(body);
  } catch (cause) {
    throw new Refusal("issuer-unavailable", "issuer metadata is not JSON", { cause });
  }
  if (metadata?.issuer !== iss) {
    throw new Refusal("issuer-unavailable", `issuer metadata names another issuer than ${iss}`);
  }
  const jwks = metadata.jwks?.keys;
  if (!Array.isArray(jwks)) throw new Refusal("issuer-unavailable", "issuer metadata has no inline jwks");
  const keys = new Map<string, KeyObject>();
  for (const jwk of jwks.slice(0, MAX_ISSUER_KEYS) as JsonWebKey[]) {
    if (typeof jwk?.kid !== "string" || keys.has(jwk.kid) || "d" in jwk) continue;
    const { kty, crv, x, y } = jwk;
    if (!((kty === "EC" && crv === "P-256") || (kty === "OKP" && crv === "Ed25519"))) continue;
    try {
      keys.set(jwk.kid, createPublicKey({ key: { kty, crv, x, y }, format: "jwk" }));
    } catch {
      // not a usable key
    }
  }
  return keys;
}

function statusReference(status: unknown): { uri: string; idx: number } {
  const list = (status as { status_list?: { uri?: unknown; idx?: unknown } } | undefined)?.status_list;
  const idx = list?.idx;
  if (typeof list?.uri !== "string" || typeof idx !== "number" || !Number.isSafeInteger(idx) || idx < 0) {
    throw new Refusal("malformed", "credential has no valid status.status_list reference");
  }
  return { uri: list.uri, idx };
}

function certificatesOf(anchor: string | Uint8Array): Uint8Array[] {
  const ders =
    typeof anchor === "string"
      ? [...anchor.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)].map(
          (match) => new Uint8Array(Buffer.from(match[1]?.replace(/\s+/g, "") ?? "", "base64")),
        )
      : [anchor];
  if (ders.length === 0) throw new TypeError("a trust anchor holds no PEM certificate");
  for (const der of ders) {
    try {
      new X509Certificate(der);
    } catch (cause) {
      throw new TypeError("a trust anchor is not a certificate", { cause });
    }
  }
  return ders;
}

/** When all of these certificates are valid (every anchor counts, which errs on the safe side). */
function validityOf(certificates: readonly Uint8Array[]): { from: number; until: number } {
  let from = Number.NEGATIVE_INFINITY;
  let until = Number.POSITIVE_INFINITY;
  for (const der of certificates) {
    const certificate = new X509Certificate(der);
    from = Math.max(from, Date.parse(certificate.validFrom));
    until = Math.min(until, Date.parse(certificate.validTo));
  }
  return { from, until };
}

const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
