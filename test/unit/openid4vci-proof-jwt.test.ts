import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { JWK } from "jose";
import { CompactSign, calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import {
  ProofError,
  type ProofFailure,
  type VerifyProofJwtOptions,
  verifyProofJwt,
} from "../../src/credentials/openid4vci/proof-jwt.ts";

const ISSUER = "https://hub.openesc.example/org/uni-example";
const NOW_S = 1_800_000_000;
const NOW = new Date(NOW_S * 1000);
const NONCE = "wKI4LT17ac15ES9bw8ac4";

const holder = await generateKeyPair("ES256", { extractable: true });
const edHolder = await generateKeyPair("EdDSA", { extractable: true });
const stranger = await generateKeyPair("ES256", { extractable: true });
const holderPublic = await exportJWK(holder.publicKey);
const holderPrivate = await exportJWK(holder.privateKey);
const edHolderPublic = await exportJWK(edHolder.publicKey);

type Signer = Parameters<CompactSign["sign"]>[0];

async function proof(
  options: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: Signer } = {},
): Promise<string> {
  // An undefined member in the overrides removes that member.
  const header: Record<string, unknown> = { typ: "openid4vci-proof+jwt", alg: "ES256", jwk: holderPublic };
  const claims: Record<string, unknown> = { aud: ISSUER, iat: NOW_S - 10, nonce: NONCE };
  for (const [target, overrides] of [
    [header, options.header],
    [claims, options.claims],
  ] as const) {
    for (const [name, value] of Object.entries(overrides ?? {})) {
      if (value === undefined) delete target[name];
      else target[name] = value;
    }
  }
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader(header as { alg: string })
    .sign(options.key ?? holder.privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const options = (overrides: Partial<VerifyProofJwtOptions> = {}): VerifyProofJwtOptions => ({
  audience: ISSUER,
  now: NOW,
  ...overrides,
});

async function refusal(jwt: string, overrides: Partial<VerifyProofJwtOptions> = {}): Promise<ProofError> {
  try {
    await verifyProofJwt(jwt, options(overrides));
  } catch (error) {
    assert.ok(error instanceof ProofError, `expected a ProofError, got ${String(error)}`);
    return error;
  }
  assert.fail("the proof was accepted");
}

async function assertRefused(
  jwt: string,
  reason: ProofFailure,
  overrides: Partial<VerifyProofJwtOptions> = {},
) {
  const error = await refusal(jwt, overrides);
  assert.equal(error.reason, reason, error.message);
  assert.equal(error.code, "invalid_proof");
}

describe("verifyProofJwt accepts", () => {
  it("an ES256 proof, handing back the public key, its RFC 7638 thumbprint and the nonce", async () => {
    const result = await verifyProofJwt(await proof(), options());
    assert.deepEqual(result.holderJwk, { kty: "EC", crv: "P-256", x: holderPublic.x, y: holderPublic.y });
    assert.equal(result.thumbprint, await calculateJwkThumbprint(holderPublic, "sha256"));
    assert.equal(result.nonce, NONCE);
  });

  it("an EdDSA proof with an Ed25519 key", async () => {
    const jwt = await proof({ header: { alg: "EdDSA", jwk: edHolderPublic }, key: edHolder.privateKey });
    const result = await verifyProofJwt(jwt, options());
    assert.deepEqual(result.holderJwk, { kty: "OKP", crv: "Ed25519", x: edHolderPublic.x });
  });

  it("typ with the application/ prefix and in another case (RFC 7515 §4.1.9)", async () => {
    await verifyProofJwt(await proof({ header: { typ: "application/openid4vci-proof+jwt" } }), options());
    await verifyProofJwt(await proof({ header: { typ: "OpenID4VCI-Proof+JWT" } }), options());
  });

  it("an aud array that contains the issuer", async () => {
    await verifyProofJwt(await proof({ claims: { aud: ["https://other.example", ISSUER] } }), options());
  });

  it("iat at the edges of the window: max age plus skew in the past, skew in the future", async () => {
    await verifyProofJwt(await proof({ claims: { iat: NOW_S - 300 - 60 } }), options());
    await verifyProofJwt(await proof({ claims: { iat: NOW_S + 60 } }), options());
    await verifyProofJwt(
      await proof({ claims: { iat: NOW_S - 30 } }),
      options({ maxAgeSeconds: 10, clockSkewSeconds: 20 }),
    );
  });

  it("no nonce when the caller does not require one", async () => {
    const result = await verifyProofJwt(
      await proof({ claims: { nonce: undefined } }),
      options({ requireNonce: false }),
    );
    assert.equal(result.nonce, undefined);
  });

  it("a jwk with extra members, but hands back only the public key members", async () => {
    const jwk = { ...holderPublic, kid: "wallet-key-1", use: "sig", alg: "ES256", x5t: "whatever" };
    const result = await verifyProofJwt(await proof({ header: { jwk } }), options());
    assert.deepEqual(Object.keys(result.holderJwk).sort(), ["crv", "kty", "x", "y"]);
  });
});

describe("verifyProofJwt refuses", () => {
  it("a proof of another type (a plain JWT, a KB-JWT) or with no typ", async () => {
    await assertRefused(await proof({ header: { typ: "JWT" } }), "wrong-typ");
    await assertRefused(await proof({ header: { typ: "kb+jwt" } }), "wrong-typ");
    await assertRefused(await proof({ header: { typ: undefined } }), "wrong-typ");
  });

  it("alg none", async () => {
    const jwt = `${b64({ typ: "openid4vci-proof+jwt", alg: "none", jwk: holderPublic })}.${b64({ aud: ISSUER, iat: NOW_S, nonce: NONCE })}.`;
    await assertRefused(jwt, "unsupported-alg");
  });

  it("a symmetric alg, even with a jwk header", async () => {
    const jwt = await proof({ header: { alg: "HS256" }, key: randomBytes(32) });
    await assertRefused(jwt, "unsupported-alg");
  });

  it("an alg the caller did not allow", async () => {
    const jwt = await proof({ header: { alg: "EdDSA", jwk: edHolderPublic }, key: edHolder.privateKey });
    await assertRefused(jwt, "unsupported-alg", { algorithms: ["ES256"] });
  });

  it("a private key in the jwk header", async () => {
    await assertRefused(await proof({ header: { jwk: holderPrivate } }), "private-key");
  });

  it("a symmetric key in the jwk header", async () => {
    await assertRefused(await proof({ header: { jwk: { kty: "oct", k: "c2VjcmV0" } } }), "private-key");
  });

  it("a key named by kid or x5c alone, as unsupported", async () => {
    const byKid = await refusal(await proof({ header: { jwk: undefined, kid: "did:example:123#key-1" } }));
    assert.equal(byKid.reason, "unsupported-key-reference");
    assert.match(byKid.message, /kid is not supported/);
    const byX5c = await refusal(await proof({ header: { jwk: undefined, x5c: ["MIIB"] } }));
    assert.equal(byX5c.reason, "unsupported-key-reference");
  });

  it("a jwk alongside kid or x5c, since a verifier could pick the wrong one", async () => {
    await assertRefused(await proof({ header: { kid: "honest-key" } }), "ambiguous-key");
    await assertRefused(await proof({ header: { x5c: ["MIIB"] } }), "ambiguous-key");
  });

  it("a proof with no key at all", async () => {
    await assertRefused(await proof({ header: { jwk: undefined } }), "missing-key");
  });

  it("a key that does not fit the alg, or is not a point on the curve", async () => {
    const edWithEcKey = await proof({
      header: { alg: "EdDSA", jwk: holderPublic },
      key: edHolder.privateKey,
    });
    await assertRefused(edWithEcKey, "unsupported-key");
    const p384 = { kty: "EC", crv: "P-384", x: holderPublic.x, y: holderPublic.y };
    await assertRefused(await proof({ header: { jwk: p384 } }), "unsupported-key");
    const offCurve: JWK = {
      kty: "EC",
      crv: "P-256",
      x: holderPublic.x,
      y: randomBytes(32).toString("base64url"),
    };
    await assertRefused(await proof({ header: { jwk: offCurve } }), "unsupported-key");
  });

  it("a signature by another key than the one in the header", async () => {
    await assertRefused(await proof({ key: stranger.privateKey }), "bad-signature");
  });

  it("a payload changed after signing", async () => {
    const [header, , signature] = (await proof()).split(".");
    const forged = `${header}.${b64({ aud: ISSUER, iat: NOW_S, nonce: "attacker-chosen" })}.${signature}`;
    await assertRefused(forged, "bad-signature");
  });

  it("a proof for another issuer, or with no aud", async () => {
    await assertRefused(await proof({ claims: { aud: "https://evil.example" } }), "wrong-audience");
    await assertRefused(await proof({ claims: { aud: `${ISSUER}/` } }), "wrong-audience");
    await assertRefused(await proof({ claims: { aud: ["https://evil.example"] } }), "wrong-audience");
    await assertRefused(await proof({ claims: { aud: undefined } }), "wrong-audience");
  });

  it("a stale iat", async () => {
    await assertRefused(await proof({ claims: { iat: NOW_S - 300 - 60 - 1 } }), "stale");
    await assertRefused(await proof({ claims: { iat: NOW_S - 3600 } }), "stale");
  });

  it("an iat in the future beyond the skew, and an nbf likewise", async () => {
    await assertRefused(await proof({ claims: { iat: NOW_S + 61 } }), "issued-in-future");
    await assertRefused(await proof({ claims: { iat: NOW_S + 10 * 365 * 86400 } }), "issued-in-future");
    await assertRefused(await proof({ claims: { nbf: NOW_S + 600 } }), "issued-in-future");
  });

  it("a proof without iat, or with a non-numeric one", async () => {
    await assertRefused(await proof({ claims: { iat: undefined } }), "missing-iat");
    await assertRefused(await proof({ claims: { iat: String(NOW_S) } }), "malformed");
  });

  it("a proof past its own exp", async () => {
    await assertRefused(await proof({ claims: { exp: NOW_S - 120 } }), "expired");
  });

  it("a proof without nonce as invalid_proof (OpenID4VCI 1.0 §8.3.1.2), and a non-string nonce", async () => {
    const error = await refusal(await proof({ claims: { nonce: undefined } }));
    assert.equal(error.reason, "missing-nonce");
    assert.equal(error.code, "invalid_proof");
    await assertRefused(await proof({ claims: { nonce: 42 } }), "malformed");
  });

  it("junk, a payload that is not a JSON object, and an unknown critical header", async () => {
    await assertRefused("not-a-jwt", "malformed");
    await assertRefused("a.b.c", "malformed");
    const arrayPayload = await new CompactSign(new TextEncoder().encode("[1,2]"))
      .setProtectedHeader({ typ: "openid4vci-proof+jwt", alg: "ES256", jwk: holderPublic })
      .sign(holder.privateKey);
    await assertRefused(arrayPayload, "malformed");
    // jose will not sign an unknown critical header, so sign it by hand.
    const signingInput = `${b64({ typ: "openid4vci-proof+jwt", alg: "ES256", jwk: holderPublic, crit: ["urn:example:must"], "urn:example:must": 1 })}.${b64({ aud: ISSUER, iat: NOW_S, nonce: NONCE })}`;
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      holder.privateKey,
      new TextEncoder().encode(signingInput),
    );
    await assertRefused(`${signingInput}.${Buffer.from(signature).toString("base64url")}`, "malformed");
  });
});

describe("ProofError", () => {
  it("maps a nonce the caller does not know to invalid_nonce, so the wallet fetches a new one", () => {
    const error = new ProofError("invalid-nonce", "c_nonce is unknown or used");
    assert.equal(error.code, "invalid_nonce");
    assert.equal(new ProofError("bad-signature", "x").code, "invalid_proof");
  });

  it("is not what misuse gives: bad options are a TypeError", async () => {
    const jwt = await proof();
    await assert.rejects(verifyProofJwt(jwt, options({ algorithms: [] })), TypeError);
    await assert.rejects(verifyProofJwt(jwt, options({ now: new Date(Number.NaN) })), TypeError);
  });
});
