import { type KeyObject, verify } from "node:crypto";

/** The signature algorithms the hub verifies, and the key each needs. */
const ALGORITHMS = {
  ES256: { hash: "sha256", keyType: "ec", curve: "prime256v1", signatureBytes: 64 },
  ES384: { hash: "sha384", keyType: "ec", curve: "secp384r1", signatureBytes: 96 },
  EdDSA: { hash: null, keyType: "ed25519", curve: undefined, signatureBytes: 64 },
  Ed25519: { hash: null, keyType: "ed25519", curve: undefined, signatureBytes: 64 },
} as const;

export type CompactJwsAlg = keyof typeof ALGORITHMS;

/** Why a compact JWS was refused. */
export class CompactJwsError extends Error {
  override readonly name = "CompactJwsError";
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies a compact JWS (RFC 7515) with `node:crypto` and returns its header and payload, both JSON
 * objects. Deliberately narrow: the algorithms listed (never `none` or a MAC), a key of the matching type,
 * a signature of the exact length, and no `crit` extensions (none is understood here, so any must be
 * refused). A verifier checks two of these per presentation; doing it directly, synchronously, costs about
 * half of going through WebCrypto.
 */
export function verifyCompactJws(
  jws: string,
  key: KeyObject,
  algorithms: readonly CompactJwsAlg[],
): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const parts = jws.split(".");
  if (parts.length !== 3) throw new CompactJwsError("not a compact JWS");
  const header = jsonObject(parts[0] ?? "", "header");
  verifyJwsSignature(jws, header, key, algorithms);
  return { header, payload: jsonObject(parts[1] ?? "", "payload") };
}

/**
 * The signature check of {@link verifyCompactJws} alone, for a caller that has parsed the header already
 * (an SD-JWT verifier reads it, and the payload, to find the key): the payload is not parsed again.
 */
export function verifyJwsSignature(
  jws: string,
  header: Record<string, unknown>,
  key: KeyObject,
  algorithms: readonly CompactJwsAlg[],
): void {
  const alg = header["alg"];
  if (
    typeof alg !== "string" ||
    !Object.hasOwn(ALGORITHMS, alg) ||
    !algorithms.includes(alg as CompactJwsAlg)
  ) {
    throw new CompactJwsError(`alg ${String(alg)} is not accepted`);
  }
  if (header["crit"] !== undefined) throw new CompactJwsError("crit extensions are not supported");
  const rule = ALGORITHMS[alg as CompactJwsAlg];
  if (key.type !== "public" || key.asymmetricKeyType !== rule.keyType) {
    throw new CompactJwsError(`the key does not fit alg ${alg}`);
  }
  if (rule.curve !== undefined && key.asymmetricKeyDetails?.namedCurve !== rule.curve) {
    throw new CompactJwsError(`the key's curve does not fit alg ${alg}`);
  }
  const dot = jws.lastIndexOf(".");
  const encodedSignature = jws.slice(dot + 1);
  if (dot < 0 || jws.indexOf(".") === dot) throw new CompactJwsError("not a compact JWS");
  if (!B64URL.test(encodedSignature)) throw new CompactJwsError("signature is not base64url");
  const signature = Buffer.from(encodedSignature, "base64url");
  if (signature.length !== rule.signatureBytes) throw new CompactJwsError("signature has the wrong length");
  const signed = Buffer.from(jws.slice(0, dot), "ascii");
  const valid =
    rule.hash === null
      ? verify(null, signed, key, signature)
      : verify(rule.hash, signed, { key, dsaEncoding: "ieee-p1363" }, signature);
  if (!valid) throw new CompactJwsError("signature does not verify");
}

function jsonObject(part: string, what: string): Record<string, unknown> {
  if (!B64URL.test(part)) throw new CompactJwsError(`${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new CompactJwsError(`${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CompactJwsError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
