import assert from "node:assert/strict";
import { randomBytes, sign, verify, webcrypto } from "node:crypto";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { readMasterKey } from "../../src/credentials/master-key.ts";
import {
  generateIssuerKey,
  type IssuerKeyAlgorithm,
  openPrivateKey,
  SealedKeyError,
  sealPrivateKey,
} from "../../src/credentials/sealed-key.ts";

const KEY = randomBytes(32);
const masterKey = readMasterKey({ OPENESC_MASTER_KEY: KEY.toString("base64") });
const otherMasterKey = readMasterKey({ OPENESC_MASTER_KEY: randomBytes(32).toString("hex") });
const MESSAGE = Buffer.from("a credential to sign");

/** The hash argument node's sign/verify take for each JWS algorithm. */
const DIGEST = { ES256: "sha256", EdDSA: null } as const;

function assertRefused(action: () => unknown, reason: string, secrets: string[]): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof SealedKeyError, `expected SealedKeyError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    const shown = `${error.message} ${inspect(error)} ${JSON.stringify(error)}`;
    for (const secret of secrets) assert.ok(!shown.includes(secret), "the error shows secret material");
    return true;
  });
}

/** Replaces the first character of part `index` with another base64url character. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split(".");
  const part = parts[index]!;
  parts[index] = (part[0] === "A" ? "B" : "A") + part.slice(1);
  return parts.join(".");
}

for (const alg of ["ES256", "EdDSA"] as IssuerKeyAlgorithm[]) {
  describe(`sealed ${alg} issuer keys`, async () => {
    const issuer = await generateIssuerKey(alg);
    const sealed = sealPrivateKey(masterKey, issuer.privateKey, issuer.keyId);
    const secrets = [
      KEY.toString("base64"),
      KEY.toString("base64url"),
      KEY.toString("hex"),
      issuer.privateKey.export({ format: "jwk" }).d!,
      sealed,
    ];

    it("has a key id that is the RFC 7638 thumbprint, and a public JWK without private parts", () => {
      assert.match(issuer.keyId, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(issuer.publicJwk.kid, issuer.keyId);
      assert.equal(issuer.publicJwk.alg, alg);
      assert.equal(issuer.publicJwk.d, undefined);
    });

    it("opens to a key whose signatures verify with the original public key", () => {
      const reopened = openPrivateKey(masterKey, sealed, issuer.keyId);
      assert.equal(reopened.type, "private");
      const signature = sign(DIGEST[alg], MESSAGE, reopened);
      assert.ok(verify(DIGEST[alg], MESSAGE, issuer.publicKey, signature));
    });

    it("is versioned, four base64url parts, and shows no key material", () => {
      assert.match(sealed, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
      for (const secret of secrets.slice(0, 4)) assert.ok(!sealed.includes(secret));
    });

    it("differs each time the same key is sealed (fresh IV)", () => {
      const again = sealPrivateKey(masterKey, issuer.privateKey, issuer.keyId);
      assert.notEqual(again, sealed);
      assert.notEqual(again.split(".")[1], sealed.split(".")[1]);
    });

    it("seals a JWK and a CryptoKey as well as a KeyObject", async () => {
      const jwk = issuer.privateKey.export({ format: "jwk" });
      const fromJwk = openPrivateKey(masterKey, sealPrivateKey(masterKey, jwk, issuer.keyId), issuer.keyId);
      assert.ok(verify(DIGEST[alg], MESSAGE, issuer.publicKey, sign(DIGEST[alg], MESSAGE, fromJwk)));
      const algorithm = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
      const cryptoKey = await webcrypto.subtle.importKey("jwk", jwk, algorithm, true, ["sign"]);
      const fromCryptoKey = openPrivateKey(masterKey, sealPrivateKey(masterKey, cryptoKey, "k"), "k");
      assert.ok(verify(DIGEST[alg], MESSAGE, issuer.publicKey, sign(DIGEST[alg], MESSAGE, fromCryptoKey)));
    });

    it("refuses a changed IV, ciphertext or tag", () => {
      for (const index of [1, 2, 3]) {
        assertRefused(
          () => openPrivateKey(masterKey, tamper(sealed, index), issuer.keyId),
          "unauthentic",
          secrets,
        );
      }
    });

    it("refuses an unknown version", () => {
      assertRefused(
        () => openPrivateKey(masterKey, sealed.replace(/^v1\./, "v2."), issuer.keyId),
        "unknown-version",
        secrets,
      );
    });

    it("refuses a malformed sealed key", () => {
      const parts = sealed.split(".");
      for (const bad of [
        "",
        "v1",
        parts.slice(0, 3).join("."),
        `${sealed}.x`,
        sealed.replace(/\.[^.]+$/, ".AAAA"),
      ]) {
        assertRefused(() => openPrivateKey(masterKey, bad, issuer.keyId), "malformed", secrets);
      }
      // Base64 that only decodes by ignoring stray bits counts as a change.
      const tag = parts[3]!;
      const last = tag.at(-1) === "A" ? "B" : "A";
      const strayBits = [...parts.slice(0, 3), tag.slice(0, -1) + last].join(".");
      assert.throws(() => openPrivateKey(masterKey, strayBits, issuer.keyId), SealedKeyError);
    });

    it("refuses the wrong master key", () => {
      assertRefused(() => openPrivateKey(otherMasterKey, sealed, issuer.keyId), "unauthentic", secrets);
    });

    it("refuses another key id, so a sealed key cannot be moved to another id", () => {
      assertRefused(() => openPrivateKey(masterKey, sealed, `${issuer.keyId}x`), "unauthentic", secrets);
    });
  });
}

describe("sealPrivateKey misuse", () => {
  it("refuses a public key, an empty key id, and a non-extractable CryptoKey", async () => {
    const issuer = await generateIssuerKey("ES256");
    assert.throws(() => sealPrivateKey(masterKey, issuer.publicKey, issuer.keyId), TypeError);
    assert.throws(() => sealPrivateKey(masterKey, issuer.privateKey, ""), TypeError);
    const pair = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ])) as webcrypto.CryptoKeyPair;
    assert.throws(() => sealPrivateKey(masterKey, pair.privateKey, "k"), TypeError);
  });
});
