/**
 * Issuer private keys sealed at rest under the master key.
 *
 * A sealed key is `v1.<iv>.<ciphertext>.<tag>`, each part base64url: AES-256-GCM over the key's PKCS#8
 * DER, with a fresh 96-bit IV and the key id as additional authenticated data, so a sealed key stored
 * under one id will not open under another.
 *
 * @example
 * const { keyId, privateKey } = await generateIssuerKey("ES256");
 * const sealed = sealPrivateKey(masterKey, privateKey, keyId);
 * const reopened = openPrivateKey(masterKey, sealed, keyId);
 */
import { createPrivateKey, generateKeyPairSync, type JsonWebKey, KeyObject, randomBytes } from "node:crypto";
import { types } from "node:util";
import { type CryptoKey, calculateJwkThumbprint, type JWK } from "jose";
import type { MasterKey } from "./master-key.ts";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Why a sealed key would not open. */
export type SealedKeyFailure =
  | "malformed" // not four base64url parts of the right sizes
  | "unknown-version" // written by a format this code does not read
  | "unauthentic"; // wrong master key, wrong key id, or a part was changed

/** A sealed key that will not open. The message names the key id and the reason, never key material. */
export class SealedKeyError extends Error {
  readonly reason: SealedKeyFailure;
  readonly keyId: string;

  constructor(keyId: string, reason: SealedKeyFailure) {
    super(`sealed key ${JSON.stringify(keyId)} will not open: ${reason}`);
    this.name = "SealedKeyError";
    this.reason = reason;
    this.keyId = keyId;
  }
}

export type IssuerKeyAlgorithm = "ES256" | "EdDSA";

/** A freshly made issuer key; `keyId` is the RFC 7638 thumbprint of the public key. */
export interface IssuerKey {
  readonly alg: IssuerKeyAlgorithm;
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as a JWK, with `kid`, `alg` and `use` set. */
  readonly publicJwk: JWK;
}

/** Makes a new issuer key pair: P-256 for ES256, Ed25519 for EdDSA. */
export async function generateIssuerKey(alg: IssuerKeyAlgorithm): Promise<IssuerKey> {
  const { privateKey, publicKey } =
    alg === "ES256"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : alg === "EdDSA"
        ? generateKeyPairSync("ed25519")
        : unsupported(alg);
  const jwk = publicKey.export({ format: "jwk" }) as JWK;
  const keyId = await calculateJwkThumbprint(jwk, "sha256");
  return { alg, keyId, privateKey, publicKey, publicJwk: { ...jwk, kid: keyId, alg, use: "sig" } };
}

function unsupported(alg: never): never {
  throw new TypeError(`unsupported issuer key algorithm ${String(alg)}`);
}

/** Encrypts a private key under the master key, bound to `keyId`. */
export function sealPrivateKey(
  masterKey: MasterKey,
  privateKey: CryptoKey | KeyObject | JWK,
  keyId: string,
): string {
  if (typeof keyId !== "string" || keyId === "") throw new TypeError("keyId must be a non-empty string");
  const key = toPrivateKeyObject(privateKey);
  const plaintext = key.export({ format: "der", type: "pkcs8" });
  const iv = randomBytes(IV_BYTES);
  const cipher = masterKey.createCipher(iv);
  cipher.setAAD(additionalData(keyId));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  const tag = cipher.getAuthTag();
  return [VERSION, iv, ciphertext, tag]
    .map((part) => (typeof part === "string" ? part : b64u(part)))
    .join(".");
}

/** Decrypts a sealed private key; throws {@link SealedKeyError} if it is not what was sealed for `keyId`. */
export function openPrivateKey(masterKey: MasterKey, sealed: string, keyId: string): KeyObject {
  if (typeof sealed !== "string") throw new TypeError("sealed must be a string");
  const parts = sealed.split(".");
  if (parts[0] !== VERSION) {
    throw new SealedKeyError(keyId, parts.length === 4 ? "unknown-version" : "malformed");
  }
  if (parts.length !== 4) throw new SealedKeyError(keyId, "malformed");
  const [iv, ciphertext, tag] = parts.slice(1).map(fromB64u);
  if (
    !iv ||
    !ciphertext ||
    !tag ||
    iv.length !== IV_BYTES ||
    tag.length !== TAG_BYTES ||
    !ciphertext.length
  ) {
    throw new SealedKeyError(keyId, "malformed");
  }
  let plaintext: Buffer;
  try {
    const decipher = masterKey.createDecipher(iv);
    decipher.setAAD(additionalData(keyId));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // GCM cannot tell a wrong key from a changed part or a wrong id, and should not try.
    throw new SealedKeyError(keyId, "unauthentic");
  }
  try {
    return createPrivateKey({ key: plaintext, format: "der", type: "pkcs8" });
  } finally {
    plaintext.fill(0);
  }
}

/** The version is authenticated too, so a later format cannot reinterpret a v1 ciphertext. */
function additionalData(keyId: string): Buffer {
  return Buffer.from(`openesc-sealed-key.${VERSION}.${keyId}`, "utf8");
}

function toPrivateKeyObject(key: CryptoKey | KeyObject | JWK): KeyObject {
  let object: KeyObject;
  if (key instanceof KeyObject) object = key;
  else if (isCryptoKey(key)) {
    // Node would export it anyway; honour the holder's choice not to let it leave.
    if (!key.extractable)
      throw new TypeError("privateKey is a non-extractable CryptoKey and cannot be sealed");
    object = KeyObject.from(key);
  } else if (key && typeof key === "object" && typeof key.kty === "string") {
    object = createPrivateKey({ key: key as JsonWebKey, format: "jwk" });
  } else throw new TypeError("privateKey must be a CryptoKey, a KeyObject or a JWK");
  if (object.type !== "private") throw new TypeError("privateKey must be a private key");
  return object;
}

function isCryptoKey(key: unknown): key is CryptoKey {
  return types.isCryptoKey(key);
}

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

/** Strict base64url: a part that only decodes by dropping stray bits counts as changed. */
function fromB64u(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : undefined;
}
