/**
 * The `jwt` key proof of OpenID4VCI 1.0 (Appendix F.1, checks of F.4): the wallet shows it holds the
 * private half of the key the credential will be bound to.
 *
 * Only a key carried in the `jwk` header is accepted: the hub resolves no DIDs (`kid`), trusts no wallet
 * certificates (`x5c`) and takes part in no federation (`trust_chain`). The holder key handed back is
 * rebuilt from its public members only, so nothing else the wallet put in the header reaches `cnf`.
 *
 * @example
 * const { holderJwk, nonce } = await verifyProofJwt(jwt, { audience: issuer, now: new Date() });
 * if (!(await nonces.consume(nonce))) throw new ProofError("invalid-nonce", "c_nonce is unknown or used");
 */

import type { JWK } from "jose";
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, errors, importJWK } from "jose";

export type ProofAlgorithm = "ES256" | "EdDSA";

/** Why a key proof was refused; stable, safe to log. {@link ProofError.code} is what the wallet sees. */
export type ProofFailure =
  | "malformed"
  | "wrong-typ"
  | "unsupported-alg"
  | "missing-key"
  | "unsupported-key-reference"
  | "ambiguous-key"
  | "private-key"
  | "unsupported-key"
  | "bad-signature"
  | "wrong-audience"
  | "missing-iat"
  | "stale"
  | "issued-in-future"
  | "expired"
  | "missing-nonce"
  /** Not raised here: for the caller, when the nonce is not a live `c_nonce`. */
  | "invalid-nonce";

/**
 * A key proof the hub will not bind a credential to. `code` is the OpenID4VCI error: `invalid_nonce`
 * only for a nonce the issuer does not know (the wallet should fetch a fresh one and retry); everything
 * else, a missing nonce included (§8.3.1.2), is `invalid_proof`.
 */
export class ProofError extends Error {
  override readonly name = "ProofError";
  readonly reason: ProofFailure;
  constructor(reason: ProofFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
  get code(): "invalid_proof" | "invalid_nonce" {
    return this.reason === "invalid-nonce" ? "invalid_nonce" : "invalid_proof";
  }
}

export interface VerifyProofJwtOptions {
  /** The Credential Issuer Identifier, compared to `aud` without normalisation. */
  audience: string;
  now: Date;
  /** How old `iat` may be; 300 seconds by default. */
  maxAgeSeconds?: number;
  /** Allowed difference between the wallet's clock and ours; 60 seconds by default. */
  clockSkewSeconds?: number;
  /** Accepted signature algorithms; both by default. */
  algorithms?: readonly ProofAlgorithm[];
  /** Whether a `nonce` claim must be present; true by default, as the hub has a Nonce Endpoint. */
  requireNonce?: boolean;
}

export interface VerifiedProof {
  /** The holder's public key, only its public members: put it in `cnf.jwk`. */
  holderJwk: JWK;
  /** The `nonce` claim; the caller checks that it is a live `c_nonce`. */
  nonce: string | undefined;
  /** RFC 7638 SHA-256 thumbprint of `holderJwk`, to spot two proofs with one key. */
  thumbprint: string;
}

export const PROOF_JWT_TYP = "openid4vci-proof+jwt";

/** Longer than any honest proof (a P-256 or Ed25519 JWK and four claims); bounds the work for junk. */
const MAX_PROOF_LENGTH = 8192;
const ALL_ALGORITHMS: readonly ProofAlgorithm[] = ["ES256", "EdDSA"];
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const OTHER_KEY_REFERENCES = ["kid", "x5c", "x5u", "jku", "trust_chain"];

/** Checks one `jwt` key proof; throws a {@link ProofError} saying which rule it broke. */
export async function verifyProofJwt(jwt: string, options: VerifyProofJwtOptions): Promise<VerifiedProof> {
  const { audience, now, maxAgeSeconds = 300, clockSkewSeconds = 60, requireNonce = true } = options;
  const algorithms = options.algorithms ?? ALL_ALGORITHMS;
  if (Number.isNaN(now.getTime())) throw new TypeError("now must be a valid date");
  if (algorithms.length === 0 || algorithms.some((a) => !ALL_ALGORITHMS.includes(a))) {
    throw new TypeError(`algorithms must be a non-empty subset of ${ALL_ALGORITHMS.join(", ")}`);
  }
  if (!(maxAgeSeconds > 0) || !(clockSkewSeconds >= 0)) {
    throw new TypeError("maxAgeSeconds must be positive and clockSkewSeconds not negative");
  }

  if (typeof jwt !== "string" || jwt.length > MAX_PROOF_LENGTH || jwt.split(".").length !== 3) {
    throw new ProofError("malformed", "the key proof is not a compact JWS");
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch (cause) {
    throw new ProofError("malformed", "the key proof header cannot be read", { cause });
  }

  checkTyp(header.typ);
  const alg = checkAlg(header.alg, algorithms);
  const holderJwk = publicKeyOf(header, alg);

  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(holderJwk, alg);
  } catch (cause) {
    throw new ProofError("unsupported-key", "the jwk header is not a usable public key", { cause });
  }
  let payloadBytes: Uint8Array;
  try {
    ({ payload: payloadBytes } = await compactVerify(jwt, key, { algorithms: [alg] }));
  } catch (cause) {
    if (cause instanceof errors.JWSSignatureVerificationFailed) {
      throw new ProofError("bad-signature", "the key proof signature does not verify with its jwk", {
        cause,
      });
    }
    throw new ProofError("malformed", "the key proof is not a valid JWS", { cause });
  }

  const claims = parseClaims(payloadBytes);
  checkAudience(claims.aud, audience);
  checkTimes(claims, now.getTime() / 1000, maxAgeSeconds, clockSkewSeconds);
  const nonce = claims.nonce;
  if (nonce === undefined) {
    if (requireNonce) throw new ProofError("missing-nonce", "the key proof carries no nonce; get a c_nonce");
  } else if (typeof nonce !== "string" || nonce === "") {
    throw new ProofError("malformed", "nonce must be a non-empty string");
  }

  return { holderJwk, nonce, thumbprint: await calculateJwkThumbprint(holderJwk, "sha256") };
}

function checkTyp(typ: unknown): void {
  // RFC 7515 §4.1.9: media types compare case-insensitively and may drop the "application/" prefix.
  const normalised = typeof typ === "string" ? typ.toLowerCase().replace(/^application\//, "") : undefined;
  if (normalised !== PROOF_JWT_TYP) {
    throw new ProofError("wrong-typ", `typ must be ${PROOF_JWT_TYP}`);
  }
}

function checkAlg(alg: unknown, accepted: readonly ProofAlgorithm[]): ProofAlgorithm {
  if (typeof alg !== "string" || alg === "" || alg.toLowerCase() === "none") {
    throw new ProofError("unsupported-alg", "the key proof must be signed (alg none is refused)");
  }
  if (/^HS/i.test(alg)) {
    throw new ProofError("unsupported-alg", "a symmetric alg cannot prove key possession");
  }
  if (!(accepted as readonly string[]).includes(alg)) {
    throw new ProofError("unsupported-alg", `alg must be one of ${accepted.join(", ")}`);
  }
  return alg as ProofAlgorithm;
}

function publicKeyOf(header: Record<string, unknown>, alg: ProofAlgorithm): JWK {
  const others = OTHER_KEY_REFERENCES.filter((name) => header[name] !== undefined);
  if (header.jwk === undefined) {
    if (others.length > 0) {
      throw new ProofError(
        "unsupported-key-reference",
        `the key must be in the jwk header; ${others.join(", ")} is not supported`,
      );
    }
    throw new ProofError("missing-key", "the key proof has no jwk header");
  }
  if (others.length > 0) {
    throw new ProofError("ambiguous-key", `jwk must not be combined with ${others.join(", ")}`);
  }
  const jwk = header.jwk;
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) {
    throw new ProofError("malformed", "the jwk header must be an object");
  }
  const members = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((name) => members[name] !== undefined)) {
    throw new ProofError("private-key", "the jwk header must not contain private or secret key material");
  }
  if (members.alg !== undefined && members.alg !== alg) {
    throw new ProofError("unsupported-key", "the jwk alg differs from the header alg");
  }
  if (members.use !== undefined && members.use !== "sig") {
    throw new ProofError("unsupported-key", "the jwk is not a signing key");
  }
  const x = members.x;
  if (alg === "ES256") {
    const y = members.y;
    if (members.kty !== "EC" || members.crv !== "P-256" || typeof x !== "string" || typeof y !== "string") {
      throw new ProofError("unsupported-key", "ES256 needs an EC P-256 jwk");
    }
    return { kty: "EC", crv: "P-256", x, y };
  }
  if (members.kty !== "OKP" || members.crv !== "Ed25519" || typeof x !== "string") {
    throw new ProofError("unsupported-key", "EdDSA needs an OKP Ed25519 jwk");
  }
  return { kty: "OKP", crv: "Ed25519", x };
}

function parseClaims(bytes: Uint8Array): Record<string, unknown> {
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new ProofError("malformed", "the key proof payload is not JSON", { cause });
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new ProofError("malformed", "the key proof payload is not a JSON object");
  }
  return claims as Record<string, unknown>;
}

function checkAudience(aud: unknown, audience: string): void {
  const matches = typeof aud === "string" ? aud === audience : Array.isArray(aud) && aud.includes(audience);
  if (!matches) throw new ProofError("wrong-audience", `aud must be the credential issuer ${audience}`);
}

function checkTimes(claims: Record<string, unknown>, now: number, maxAge: number, skew: number): void {
  const { iat, exp, nbf } = claims;
  if (iat === undefined) throw new ProofError("missing-iat", "the key proof has no iat");
  if (!isNumericDate(iat)) throw new ProofError("malformed", "iat must be a number of seconds");
  if (iat < now - maxAge - skew) {
    throw new ProofError("stale", `the key proof is older than ${maxAge} seconds`);
  }
  if (iat > now + skew) throw new ProofError("issued-in-future", "the key proof iat is in the future");
  if (exp !== undefined && (!isNumericDate(exp) || exp <= now - skew)) {
    throw new ProofError("expired", "the key proof has expired");
  }
  if (nbf !== undefined && (!isNumericDate(nbf) || nbf > now + skew)) {
    throw new ProofError("issued-in-future", "the key proof is not valid yet");
  }
}

const isNumericDate = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);
