import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { digest, ES256 } from "@sd-jwt/crypto-nodejs";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, jwtVerify } from "jose";
import {
  ESC_DISCLOSABLE_CLAIMS,
  ESC_VCT,
  type EscCredentialClaims,
  issueEscCredential,
  SD_JWT_VC_TYPE,
} from "../../src/credentials/esc-credential.ts";
import {
  createDeploymentCa,
  issueIssuerCertificate,
  verifyX5cChain,
  x5cChain,
} from "../../src/credentials/issuer-certificates.ts";
import { presentSdJwt } from "../../src/credentials/sd-jwt.ts";
import { generateIssuerKey } from "../../src/credentials/sealed-key.ts";
import { StatusList, signStatusListToken } from "../../src/credentials/token-status-list.ts";

const ISSUER = "https://hub.openesc.example/orgs/999888777";
const STATUS_URI = "https://hub.openesc.example/statuslists/7";
const ISSUED_AT = new Date("2026-10-15T10:00:00Z");
const EXPIRES_AT = new Date("2027-10-15T10:00:00Z");
const NOW = Math.floor(ISSUED_AT.getTime() / 1000) + 3600;
const AUD = "https://verifier.example.org";
const NONCE = "nonce-1234";

const claims: EscCredentialClaims = {
  cardNumber: "f47ac10b-58cc-1372-a567-001999888777",
  issuedAt: "2026-09-01",
  expiresAt: "2030-08-31",
  displayName: null,
  fullName: "Maria Papadopoulou",
  issuer: "Universidad de Ejemplo",
  qrCode: "https://hub.openesc.example/v/f47ac10b-58cc-1372-a567-001999888777",
  institution: "Universidad de Ejemplo",
  institutionId: "999888777",
  country: "ES",
  academicLevel: null,
  validUntil: "2027-08-31",
  esi: "urn:schac:personalUniqueCode:int:esi:es:12345678X",
};

const key = await generateIssuerKey("ES256");
const ca = await createDeploymentCa({ name: "CN=OpenESC test CA", validityDays: 3650, notBefore: ISSUED_AT });
const leaf = await issueIssuerCertificate({
  ca,
  subject: { organisationId: "999888777", name: "Universidad de Ejemplo", country: "ES" },
  publicKey: key.publicKey,
  validityDays: 730,
  notBefore: ISSUED_AT,
});
const signer = {
  key: key.privateKey,
  alg: "ES256" as const,
  kid: key.keyId,
  x5c: x5cChain(leaf, ca.certificate),
};
const holder = await generateKeyPair("ES256", { extractable: true });
const holderJwk = await exportJWK(holder.publicKey);

const issue = (overrides: { holderJwk?: JWK } = {}) =>
  issueEscCredential({
    issuer: ISSUER,
    signer,
    claims,
    holderJwk,
    status: { uri: STATUS_URI, idx: 42 },
    issuedAt: ISSUED_AT,
    expiresAt: EXPIRES_AT,
    ...overrides,
  });

const sdJwt = await issue();
const [jwt = "", ...rest] = sdJwt.split("~");
const encodedDisclosures = rest.slice(0, -1);
const decodeDisclosure = (encoded: string) =>
  JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")) as [string, string, unknown];
const sha256 = (text: string) => createHash("sha256").update(text, "ascii").digest("base64url");

describe("issueEscCredential", () => {
  it("signs a dc+sd-jwt that jose verifies with the issuer key, with kid and the x5c chain", async () => {
    assert.ok(sdJwt.endsWith("~"));
    const { payload, protectedHeader } = await jwtVerify(jwt, key.publicKey, { typ: SD_JWT_VC_TYPE });
    assert.deepEqual(protectedHeader, { alg: "ES256", typ: "dc+sd-jwt", kid: key.keyId, x5c: signer.x5c });
    assert.equal(payload.iss, ISSUER);
    assert.equal(payload.vct, ESC_VCT);
    assert.equal(payload.iat, ISSUED_AT.getTime() / 1000);
    assert.equal(payload.nbf, payload.iat);
    assert.equal(payload.exp, EXPIRES_AT.getTime() / 1000);
    assert.deepEqual(payload.status, { status_list: { idx: 42, uri: STATUS_URI } });
    assert.deepEqual(payload.cnf, { jwk: holderJwk });
    assert.equal(payload._sd_alg, "sha-256");
  });

  it("carries an x5c chain whose leaf holds the signing key", async () => {
    const leafKey = await verifyX5cChain(
      decodeProtectedHeader(jwt).x5c,
      [ca.certificate.der],
      new Date(NOW * 1000),
    );
    await compactVerify(jwt, leafKey);
  });

  it("shows only issuer in the clear; the disclosures give back every other non-null claim", async () => {
    const { payload } = await jwtVerify(jwt, key.publicKey);
    assert.equal(payload.issuer, claims.issuer);
    for (const name of ESC_DISCLOSABLE_CLAIMS) assert.equal(payload[name], undefined, name);
    const disclosed = Object.fromEntries(
      encodedDisclosures.map(decodeDisclosure).map(([, name, value]) => [name, value]),
    );
    const expected = Object.fromEntries(
      Object.entries(claims).filter(([name, value]) => name !== "issuer" && value !== null),
    );
    assert.deepEqual(disclosed, expected);
    const sd = payload._sd as string[];
    for (const encoded of encodedDisclosures) assert.ok(sd.includes(sha256(encoded)));
    assert.ok(sd.length >= encodedDisclosures.length + 2, "decoys hide the number of claims");
  });

  it("leaves null claims out entirely, not even as a disclosure", () => {
    const names = encodedDisclosures.map((encoded) => decodeDisclosure(encoded)[1]);
    assert.ok(!names.includes("displayName"));
    assert.ok(!names.includes("academicLevel"));
  });

  it("lists every claim but issuer as disclosable", () => {
    const all = Object.keys(claims).filter((name) => name !== "issuer");
    assert.deepEqual([...ESC_DISCLOSABLE_CLAIMS].sort(), all.sort());
  });

  it("is verified by @sd-jwt/sd-jwt-vc 0.19, status list and key binding included", async () => {
    const list = new StatusList(1024, 2);
    const statusToken = await signStatusListToken({
      list,
      uri: STATUS_URI,
      key: key.privateKey,
      kid: key.keyId,
      issuedAt: ISSUED_AT,
      ttlSeconds: 300,
    });
    const issuerVerifier = await ES256.getVerifier(key.publicJwk);
    const library = new SDJwtVcInstance({
      hasher: digest,
      hashAlg: "sha-256",
      verifier: issuerVerifier,
      statusVerifier: issuerVerifier,
      statusListFetcher: async (uri) => {
        assert.equal(uri, STATUS_URI);
        return statusToken;
      },
      kbVerifier: async (data, signature, payload) =>
        (await ES256.getVerifier((payload.cnf as { jwk: JWK }).jwk))(data, signature),
    });
    assert.deepEqual(await library.getClaims(sdJwt), {
      iss: ISSUER,
      iat: ISSUED_AT.getTime() / 1000,
      nbf: ISSUED_AT.getTime() / 1000,
      exp: EXPIRES_AT.getTime() / 1000,
      vct: ESC_VCT,
      cnf: { jwk: holderJwk },
      status: { status_list: { idx: 42, uri: STATUS_URI } },
      ...Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== null)),
    });
    const presentation = await presentSdJwt(sdJwt, {
      disclose: (name) => name === "fullName" || name === "validUntil",
      holderKey: holder.privateKey,
      aud: AUD,
      nonce: NONCE,
      iat: NOW,
    });
    const result = await library.verify(presentation, { currentDate: NOW, keyBindingNonce: NONCE });
    assert.equal(result.payload.fullName, claims.fullName);
    assert.equal(result.payload.validUntil, claims.validUntil);
    assert.equal(result.payload.issuer, claims.issuer);
    assert.equal(result.payload.cardNumber, undefined);
    assert.equal(result.kb?.payload.aud, AUD);
  });

  it("refuses a holder key with private material, or of another kind", async () => {
    const privateJwk = await exportJWK(holder.privateKey);
    const rsa = await generateKeyPair("RS256", { extractable: true });
    const p384 = await generateKeyPair("ES384", { extractable: true });
    const ed = await generateKeyPair("Ed25519", { extractable: true });
    const refused: JWK[] = [
      privateJwk,
      await exportJWK(rsa.publicKey),
      await exportJWK(p384.publicKey),
      { kty: "oct", k: "c2VjcmV0" },
      { kty: "EC", crv: "P-256", x: holderJwk.x },
      { ...holderJwk, y: holderJwk.x },
    ];
    for (const jwk of refused)
      await assert.rejects(issue({ holderJwk: jwk }), TypeError, JSON.stringify(jwk));
    const withEd = await issue({ holderJwk: { ...(await exportJWK(ed.publicKey)), kid: "wallet-1" } });
    const { payload } = await jwtVerify(withEd.split("~")[0] ?? "", key.publicKey);
    assert.deepEqual(Object.keys((payload.cnf as { jwk: JWK }).jwk).sort(), ["crv", "kty", "x"]);
  });
});
