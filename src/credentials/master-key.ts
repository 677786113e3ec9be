/**
 * The master key that seals issuer private keys at rest.
 *
 * Read once at start-up from `OPENESC_MASTER_KEY` (the key itself) or `OPENESC_MASTER_KEY_FILE` (a file
 * holding it, readable by the owner only). The key is 32 bytes, written as base64, base64url or 64 hex
 * characters. The object handed out never reveals the bytes: it only makes AES-256-GCM ciphers, and it
 * prints as `[master key]` in logs, `JSON.stringify` and `util.inspect`.
 *
 * @example
 * const masterKey = readMasterKey(process.env);
 * const sealed = sealPrivateKey(masterKey, privateKey, keyId);
 */
import {
  type CipherGCM,
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type DecipherGCM,
  type KeyObject,
} from "node:crypto";
import { ConfigError } from "../config-error.ts";
import { readOwnerOnlyFile } from "../owner-only-file.ts";

export const MASTER_KEY_VARIABLE = "OPENESC_MASTER_KEY";
export const MASTER_KEY_FILE_VARIABLE = "OPENESC_MASTER_KEY_FILE";

const KEY_BYTES = 32;
const SHOWN_AS = "[master key]";

/** What sealing needs from the master key, and nothing more. */
export interface MasterKey {
  /** An AES-256-GCM cipher under the master key with the given 96-bit IV. */
  createCipher(iv: Uint8Array): CipherGCM;
  /** The matching decipher; set the auth tag before `final()`. */
  createDecipher(iv: Uint8Array): DecipherGCM;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the master key from the environment; refuses anything but exactly one well-formed source. */
export function readMasterKey(env: Env): MasterKey {
  const inline = present(env[MASTER_KEY_VARIABLE]);
  const file = present(env[MASTER_KEY_FILE_VARIABLE]);
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(
      MASTER_KEY_VARIABLE,
      `and ${MASTER_KEY_FILE_VARIABLE} are both set; set only one of them`,
    );
  }
  if (inline !== undefined) return masterKeyOf(decodeKey(inline, MASTER_KEY_VARIABLE));
  if (file !== undefined)
    return masterKeyOf(
      decodeKey(readOwnerOnlyFile(file, MASTER_KEY_FILE_VARIABLE), MASTER_KEY_FILE_VARIABLE),
    );
  throw new ConfigError(
    MASTER_KEY_VARIABLE,
    `is not set (nor ${MASTER_KEY_FILE_VARIABLE}); give 32 random bytes as base64 or 64 hex characters`,
  );
}

/** Shells and orchestrators often export empty values: an empty one counts as unset. */
function present(raw: string | undefined): string | undefined {
  return raw === undefined || raw === "" ? undefined : raw;
}

/** Decodes the key text; messages describe the shape expected, never the value given. */
function decodeKey(raw: string, variable: string): Buffer {
  const text = raw.trim();
  const shape = "must hold 32 bytes as base64, base64url or 64 hex characters";
  let bytes: Buffer;
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    bytes = Buffer.from(text, "hex");
  } else if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) || /^[A-Za-z0-9_-]+$/.test(text)) {
    bytes = Buffer.from(text, "base64");
    // Refuse text that only decodes by ignoring stray bits, so one key has one spelling.
    const canonical = bytes.toString(text.includes("-") || text.includes("_") ? "base64url" : "base64");
    if (canonical.replace(/=+$/, "") !== text.replace(/=+$/, "")) throw new ConfigError(variable, shape);
  } else {
    throw new ConfigError(variable, shape);
  }
  if (bytes.length !== KEY_BYTES) {
    throw new ConfigError(variable, `${shape} (it decodes to ${bytes.length} bytes)`);
  }
  if (bytes.every((byte) => byte === bytes[0])) {
    throw new ConfigError(variable, "holds a placeholder (one byte repeated), not a random key");
  }
  return bytes;
}

function masterKeyOf(bytes: Buffer): MasterKey {
  const secret: KeyObject = createSecretKey(bytes);
  bytes.fill(0);
  const show = () => SHOWN_AS;
  return Object.freeze({
    createCipher: (iv: Uint8Array) => createCipheriv("aes-256-gcm", secret, iv),
    createDecipher: (iv: Uint8Array) => createDecipheriv("aes-256-gcm", secret, iv),
    toJSON: show,
    toString: show,
    [Symbol.for("nodejs.util.inspect.custom")]: show,
  });
}
