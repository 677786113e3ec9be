import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { SDJwtInstance } from "@sd-jwt/core";
import { digest, ES256, generateSalt } from "@sd-jwt/crypto-nodejs";
import type { JWK } from "jose";
import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK } from "jose";
import {
  issueSdJwt,
  presentSdJwt,
  SdJwtError,
  type SdJwtFailure,
  type SigningKey,
  type VerifySdJwtOptions,
  verifySdJwt,
} from "../../src/credentials/sd-jwt.ts";

const NOW = 1_800_000_000;
const AUD = "https://verifier.example.org";
const NONCE = "n-0S6_WzA2Mj";

const issuer = await generateKeyPair("ES256", { extractable: true });
const holder = await generateKeyPair("ES256", { extractable: true });
const stranger = await generateKeyPair("ES256", { extractable: true });
const issuerJwk = await exportJWK(issuer.privateKey);
const issuerPublicJwk = await exportJWK(issuer.publicKey);
const holderJwk = await exportJWK(holder.privateKey);
const holderPublicJwk = await exportJWK(holder.publicKey);

const claims = {
  iss: "https://hub.openesc.example",
  iat: NOW - 60,
  exp: NOW + 3600,
  vct: "eu.europa.ec.eudi.esc.1",
  cnf: { jwk: holderPublicJwk },
  cardNumber: "f47ac10b-58cc-4372-a567-0e02b2c3d479",
  fullName: "Maria Papadopoulou",
  displayName: "Maria P.",
  expiresAt: "2028-09-30",
};
const disclosable = ["cardNumber", "fullName", "displayName", "expiresAt"];

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const sha256 = (text: string) => createHash("sha256").update(text, "ascii").digest("base64url");

function baseOptions(overrides: Partial<VerifySdJwtOptions> = {}): VerifySdJwtOptions {
  return {
    issuerKey: issuer.publicKey,
    expectedTyp: "dc+sd-jwt",
    now: NOW,
    requireKeyBinding: true,
    aud: AUD,
    nonce: NONCE,
    maxKbAgeSeconds: 300,
    clockSkewSeconds: 30,
    ...overrides,
  };
}

async function issue(extra: { decoys?: number } = {}) {
  return issueSdJwt({
    header: { typ: "dc+sd-jwt", kid: "issuer-1" },
    claims,
    disclosable,
    key: issuer.privateKey,
    ...extra,
  });
}

async function present(
  sdJwt: string,
  names: readonly string[],
  holderKey: SigningKey | null = holder.privateKey,
) {
  return presentSdJwt(sdJwt, {
    disclose: (name) => name !== undefined && names.includes(name),
    ...(holderKey === null ? {} : { holderKey }),
    aud: AUD,
    nonce: NONCE,
    iat: NOW - 5,
  });
}

/** Signs an arbitrary issuer payload, for structures our own issuer would never produce. */
async function signIssuerJwt(payload: Record<string, unknown>, header: Record<string, unknown> = {}) {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "ES256", typ: "dc+sd-jwt", ...header })
    .sign(issuer.privateKey);
}

async function signKbJwt(payload: Record<string, unknown>, key: SigningKey, typ = "kb+jwt") {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "ES256", typ })
    .sign(key);
}

async function rejects(
  presentation: string,
  reason: SdJwtFailure,
  overrides: Partial<VerifySdJwtOptions> = {},
) {
  await assert.rejects(verifySdJwt(presentation, baseOptions(overrides)), (error: unknown) => {
    assert.ok(error instanceof SdJwtError, `expected SdJwtError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    return true;
  });
}

const withoutKb = { requireKeyBinding: false, aud: undefined, nonce: undefined };

describe("issueSdJwt", () => {
  it("hides disclosable claims behind sorted digests of their disclosures, with decoys", async () => {
    const { sdJwt, disclosures } = await issue({ decoys: 3 });
    assert.ok(sdJwt.endsWith("~"));
    const [jwt, ...rest] = sdJwt.split("~");
    assert.deepEqual(
      rest.slice(0, -1),
      disclosures.map((d) => d.encoded),
    );
    const { payload, protectedHeader } = await compactVerify(jwt!, issuer.publicKey);
    assert.deepEqual(protectedHeader, { alg: "ES256", typ: "dc+sd-jwt", kid: "issuer-1" });
    const body = JSON.parse(new TextDecoder().decode(payload));
    assert.equal(body._sd_alg, "sha-256");
    assert.equal(body._sd.length, disclosable.length + 3);
    assert.deepEqual(body._sd, [...body._sd].sort());
    for (const name of disclosable) assert.equal(name in body, false);
    assert.equal(body.iss, claims.iss);
    for (const d of disclosures) {
      assert.equal(d.digest, sha256(d.encoded));
      assert.ok(body._sd.includes(d.digest));
      const [salt, name, value] = JSON.parse(Buffer.from(d.encoded, "base64url").toString());
      assert.equal(Buffer.from(salt, "base64url").length, 16);
      assert.deepEqual([name, value], [d.name, claims[d.name as keyof typeof claims]]);
    }
    assert.equal(new Set(disclosures.map((d) => d.salt)).size, disclosures.length);
  });

  it("refuses to make a missing or reserved claim disclosable", async () => {
    const base = { header: { typ: "dc+sd-jwt" }, claims, key: issuer.privateKey };
    await assert.rejects(issueSdJwt({ ...base, disclosable: ["nope"] }), TypeError);
    await assert.rejects(issueSdJwt({ ...base, claims: { ...claims, _sd: [] }, disclosable: [] }), TypeError);
  });

  it("signs with EdDSA when asked", async () => {
    const ed = await generateKeyPair("EdDSA");
    const { sdJwt } = await issueSdJwt({
      header: { typ: "dc+sd-jwt", alg: "EdDSA" },
      claims,
      disclosable,
      key: ed.privateKey,
    });
    const result = await verifySdJwt(sdJwt, baseOptions({ ...withoutKb, issuerKey: ed.publicKey }));
    assert.equal(result.header.alg, "EdDSA");
    assert.equal(result.payload.fullName, claims.fullName);
  });
});

describe("present and verify", () => {
  it("round-trips with every, some and no disclosure; only what the holder chose is revealed", async () => {
    const { sdJwt } = await issue({ decoys: 2 });
    for (const chosen of [disclosable, ["fullName"], []]) {
      const vp = await present(sdJwt, chosen, null);
      const result = await verifySdJwt(vp, baseOptions(withoutKb));
      assert.deepEqual([...result.disclosed].sort(), [...chosen].sort());
      for (const name of disclosable) {
        assert.equal(Object.hasOwn(result.payload, name), chosen.includes(name), name);
      }
      assert.equal("_sd" in result.payload, false);
      assert.equal("_sd_alg" in result.payload, false);
      assert.equal(result.payload.vct, claims.vct);
      assert.equal(result.keyBinding, undefined);
    }
  });

  it("verifies a key binding JWT signed with the holder key in cnf.jwk", async () => {
    const { sdJwt } = await issue();
    const vp = await present(sdJwt, ["cardNumber", "expiresAt"]);
    const result = await verifySdJwt(vp, baseOptions());
    assert.deepEqual(result.disclosed.sort(), ["cardNumber", "expiresAt"]);
    assert.equal(result.payload.cardNumber, claims.cardNumber);
    assert.equal(result.payload.fullName, undefined);
    assert.equal(result.keyBinding?.aud, AUD);
    const [kbJwt] = vp.split("~").slice(-1);
    const { protectedHeader } = await compactVerify(kbJwt!, holder.publicKey);
    assert.equal(protectedHeader.typ, "kb+jwt");
  });

  it("looks the issuer key up from the header and payload", async () => {
    const { sdJwt } = await issue();
    const seen: unknown[] = [];
    const result = await verifySdJwt(
      sdJwt,
      baseOptions({
        ...withoutKb,
        issuerKey: undefined,
        getIssuerKey: (header, payload) => {
          seen.push(header.kid, payload.iss);
          return issuer.publicKey;
        },
      }),
    );
    assert.deepEqual(seen, ["issuer-1", claims.iss]);
    assert.equal(result.payload.fullName, claims.fullName);
  });
});

// RFC 9901 section 5.1 (issuer-signed JWT and disclosures) with the example issuer key of appendix A.5.
describe("RFC 9901 section 5.1 example", () => {
  const rfcJwt =
    "eyJhbGciOiAiRVMyNTYiLCAidHlwIjogImV4YW1wbGUrc2Qtand0In0.eyJfc2QiOiBbIkNyUWU3UzVrcUJBSHQtbk1ZWGdjNmJkdDJT" +
    "SDVhVFkxc1VfTS1QZ2tqUEkiLCAiSnpZakg0c3ZsaUgwUjNQeUVNZmVadTZKdDY5dTVxZWhabzdGN0VQWWxTRSIsICJQb3JGYnBLdVZ1" +
    "Nnh5bUphZ3ZrRnNGWEFiUm9jMkpHbEFVQTJCQTRvN2NJIiwgIlRHZjRvTGJnd2Q1SlFhSHlLVlFaVTlVZEdFMHc1cnREc3JaemZVYW9t" +
    "TG8iLCAiWFFfM2tQS3QxWHlYN0tBTmtxVlI2eVoyVmE1TnJQSXZQWWJ5TXZSS0JNTSIsICJYekZyendzY002R242Q0pEYzZ2Vks4QmtN" +
    "bmZHOHZPU0tmcFBJWmRBZmRFIiwgImdiT3NJNEVkcTJ4Mkt3LXc1d1BFemFrb2I5aFYxY1JEMEFUTjNvUUw5Sk0iLCAianN1OXlWdWx3" +
    "UVFsaEZsTV8zSmx6TWFTRnpnbGhRRzBEcGZheVF3TFVLNCJdLCAiaXNzIjogImh0dHBzOi8vaXNzdWVyLmV4YW1wbGUuY29tIiwgImlh" +
    "dCI6IDE2ODMwMDAwMDAsICJleHAiOiAxODgzMDAwMDAwLCAic3ViIjogInVzZXJfNDIiLCAibmF0aW9uYWxpdGllcyI6IFt7Ii4uLiI6" +
    "ICJwRm5kamtaX1ZDem15VGE2VWpsWm8zZGgta284YUlLUWM5RGxHemhhVllvIn0sIHsiLi4uIjogIjdDZjZKa1B1ZHJ5M2xjYndIZ2Va" +
    "OGtoQXYxVTFPU2xlclAwVmtCSnJXWjAifV0sICJfc2RfYWxnIjogInNoYS0yNTYiLCAiY25mIjogeyJqd2siOiB7Imt0eSI6ICJFQyIs" +
    "ICJjcnYiOiAiUC0yNTYiLCAieCI6ICJUQ0FFUjE5WnZ1M09IRjRqNFc0dmZTVm9ISVAxSUxpbERsczd2Q2VHZW1jIiwgInkiOiAiWnhq" +
    "aVdXYlpNUUdIVldLVlE0aGJTSWlyc1ZmdWVjQ0U2dDRqVDlGMkhaUSJ9fX0.MczwjBFGtzf-6WMT-hIvYbkb11NrV1WMO-jTijpMPNbsw" +
    "NzZ87wY2uHz-CXo6R04b7jYrpj9mNRAvVssXou1iw";
  const d = {
    givenName: "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd",
    familyName: "WyJlbHVWNU9nM2dTTklJOEVZbnN4QV9BIiwgImZhbWlseV9uYW1lIiwgIkRvZSJd",
    email: "WyI2SWo3dE0tYTVpVlBHYm9TNXRtdlZBIiwgImVtYWlsIiwgImpvaG5kb2VAZXhhbXBsZS5jb20iXQ",
    phone: "WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgInBob25lX251bWJlciIsICIrMS0yMDItNTU1LTAxMDEiXQ",
    phoneVerified: "WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgInBob25lX251bWJlcl92ZXJpZmllZCIsIHRydWVd",
    address:
      "WyJBSngtMDk1VlBycFR0TjRRTU9xUk9BIiwgImFkZHJlc3MiLCB7InN0cmVldF9hZGRyZXNzIjogIjEyMyBNYWluIFN0IiwgImxvY2Fs" +
      "aXR5IjogIkFueXRvd24iLCAicmVnaW9uIjogIkFueXN0YXRlIiwgImNvdW50cnkiOiAiVVMifV0",
    birthdate: "WyJQYzMzSk0yTGNoY1VfbEhnZ3ZfdWZRIiwgImJpcnRoZGF0ZSIsICIxOTQwLTAxLTAxIl0",
    updatedAt: "WyJHMDJOU3JRZmpGWFE3SW8wOXN5YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcwMDAwMDAwXQ",
    us: "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0",
    de: "WyJuUHVvUW5rUkZxM0JJZUFtN0FuWEZBIiwgIkRFIl0",
  };
  const rfcKey = importJWK(
    {
      kty: "EC",
      crv: "P-256",
      x: "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
      y: "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8",
    },
    "ES256",
  );
  const verifyRfc = async (disclosures: string[]) =>
    verifySdJwt(`${rfcJwt}~${disclosures.map((x) => `${x}~`).join("")}`, {
      issuerKey: (await rfcKey) as SigningKey,
      expectedTyp: "example+sd-jwt",
      now: 1_683_000_001,
      requireKeyBinding: false,
    });

  it("the issuer-signed JWT verifies with jose on its own", async () => {
    await compactVerify(rfcJwt, await rfcKey);
  });

  it("all disclosures give the full claim set, array elements included", async () => {
    const { payload, disclosed } = await verifyRfc(Object.values(d));
    assert.equal(payload.given_name, "John");
    assert.equal(payload.family_name, "Doe");
    assert.equal(payload.email, "johndoe@example.com");
    assert.equal(payload.phone_number, "+1-202-555-0101");
    assert.equal(payload.phone_number_verified, true);
    assert.deepEqual(payload.address, {
      street_address: "123 Main St",
      locality: "Anytown",
      region: "Anystate",
      country: "US",
    });
    assert.equal(payload.birthdate, "1940-01-01");
    assert.equal(payload.updated_at, 1570000000);
    assert.deepEqual(payload.nationalities, ["US", "DE"]);
    assert.equal(disclosed.length, 8);
  });

  it("the section 5.2 selection reveals only those claims; none reveals none", async () => {
    const some = await verifyRfc([d.familyName, d.address, d.givenName, d.us]);
    assert.deepEqual(Object.keys(some.payload).sort(), [
      "address",
      "cnf",
      "exp",
      "family_name",
      "given_name",
      "iat",
      "iss",
      "nationalities",
      "sub",
    ]);
    assert.deepEqual(some.payload.nationalities, ["US"]);
    const none = await verifyRfc([]);
    assert.deepEqual(none.payload.nationalities, []);
    assert.deepEqual(none.disclosed, []);
  });

  it("rejects an unreferenced disclosure added to the RFC example", async () => {
    await assert.rejects(verifyRfc([d.givenName, b64(["dummysalt", "foo", "bar"])]), {
      reason: "unreferenced-disclosure",
    });
  });
});

describe("independent cross-check with @sd-jwt/core 0.19", () => {
  const library = async () =>
    new SDJwtInstance({
      hasher: digest,
      hashAlg: "sha-256",
      saltGenerator: generateSalt,
      signer: await ES256.getSigner(issuerJwk),
      signAlg: "ES256",
      verifier: await ES256.getVerifier(issuerPublicJwk),
      kbSigner: await ES256.getSigner(holderJwk),
      kbSignAlg: "ES256",
      kbVerifier: async (data, sig, payload) => {
        const jwk = (payload.cnf as { jwk: JWK }).jwk;
        return (await ES256.getVerifier(jwk))(data, sig);
      },
    });

  it("the library verifies what we issue and present, key binding included", async () => {
    const sdjwt = await library();
    const { sdJwt } = await issue({ decoys: 2 });
    assert.deepEqual((await sdjwt.getClaims(sdJwt)) as Record<string, unknown>, claims);
    const vp = await present(sdJwt, ["fullName"]);
    const result = await sdjwt.verify(vp, { currentDate: NOW, keyBindingNonce: NONCE });
    const payload = result.payload as Record<string, unknown>;
    assert.equal(payload.fullName, claims.fullName);
    assert.equal(payload.cardNumber, undefined);
    assert.equal(result.kb?.payload.aud, AUD);
  });

  it("we verify what the library issues and presents", async () => {
    const sdjwt = await library();
    const issued = await sdjwt.issue(
      { ...claims },
      { _sd: ["cardNumber", "fullName", "displayName"] },
      { header: { typ: "dc+sd-jwt" } },
    );
    const vp = await sdjwt.present(
      issued,
      { fullName: true },
      { kb: { payload: { iat: NOW - 5, aud: AUD, nonce: NONCE } } },
    );
    const result = await verifySdJwt(vp, baseOptions());
    assert.deepEqual(result.disclosed, ["fullName"]);
    assert.equal(result.payload.fullName, claims.fullName);
    assert.equal(result.payload.cardNumber, undefined);
  });

  it("the library accepts an unreferenced disclosure that we reject (the known gap)", async () => {
    const sdjwt = await library();
    const { sdJwt } = await issue();
    const tampered = `${sdJwt}${b64(["c2FsdHNhbHRzYWx0", "admin", true])}~`;
    await sdjwt.verify(tampered, { currentDate: NOW });
    await rejects(tampered, "unreferenced-disclosure", withoutKb);
  });
});

describe("verifySdJwt rejects", () => {
  const issued = issue();
  const sdJwtOf = async () => (await issued).sdJwt;
  const partsOf = async () => (await sdJwtOf()).split("~");

  it("a flipped signature byte, an edited payload, a wrong issuer key", async () => {
    const [jwt, ...rest] = await partsOf();
    const [h, p, s] = jwt!.split(".") as [string, string, string];
    const flipped = s.slice(0, 10) + (s[10] === "A" ? "B" : "A") + s.slice(11);
    await rejects([`${h}.${p}.${flipped}`, ...rest].join("~"), "bad-signature", withoutKb);
    const body = JSON.parse(Buffer.from(p, "base64url").toString());
    const edited = b64({ ...body, exp: NOW + 10 * 365 * 86400 });
    await rejects([`${h}.${edited}.${s}`, ...rest].join("~"), "bad-signature", withoutKb);
    await rejects(await sdJwtOf(), "bad-signature", { ...withoutKb, issuerKey: stranger.publicKey });
  });

  it("an unsigned (alg: none) issuer JWT", async () => {
    const [jwt, ...rest] = await partsOf();
    const p = jwt!.split(".")[1];
    await rejects(
      [`${b64({ alg: "none", typ: "dc+sd-jwt" })}.${p}.`, ...rest].join("~"),
      "alg-none",
      withoutKb,
    );
  });

  it("a wrong typ and an unknown issuer", async () => {
    await rejects(await sdJwtOf(), "wrong-type", { ...withoutKb, expectedTyp: "vc+sd-jwt" });
    await rejects(await sdJwtOf(), "unknown-key", {
      ...withoutKb,
      issuerKey: undefined,
      getIssuerKey: () => undefined,
    });
  });

  it("a disclosure no digest refers to, and the same disclosure twice", async () => {
    const { sdJwt, disclosures } = await issued;
    await rejects(
      `${sdJwt}${b64(["c2FsdHNhbHRzYWx0", "admin", true])}~`,
      "unreferenced-disclosure",
      withoutKb,
    );
    await rejects(`${sdJwt}${disclosures[0]!.encoded}~`, "duplicate-disclosure", withoutKb);
  });

  it("a digest listed twice", async () => {
    const disclosure = b64(["c2FsdHNhbHRzYWx0", "fullName", "X"]);
    const jwt = await signIssuerJwt({ iss: "x", _sd: [sha256(disclosure), sha256(disclosure)] });
    await rejects(`${jwt}~${disclosure}~`, "duplicate-digest", withoutKb);
    await rejects(`${jwt}~`, "duplicate-digest", withoutKb);
  });

  it("a disclosure named _sd or ..., or clashing with a plain claim", async () => {
    for (const name of ["_sd", "..."]) {
      const disclosure = b64(["c2FsdHNhbHRzYWx0", name, ["x"]]);
      const jwt = await signIssuerJwt({ iss: "x", _sd: [sha256(disclosure)] });
      await rejects(`${jwt}~${disclosure}~`, "bad-disclosure", withoutKb);
    }
    const clash = b64(["c2FsdHNhbHRzYWx0", "iss", "https://evil.example"]);
    const jwt = await signIssuerJwt({ iss: "x", _sd: [sha256(clash)] });
    await rejects(`${jwt}~${clash}~`, "bad-disclosure", withoutKb);
  });

  it("a disclosure of the wrong kind for where its digest sits", async () => {
    const element = b64(["c2FsdHNhbHRzYWx0", "DE"]);
    const inSd = await signIssuerJwt({ iss: "x", _sd: [sha256(element)] });
    await rejects(`${inSd}~${element}~`, "bad-disclosure", withoutKb);
    const property = b64(["c2FsdHNhbHRzYWx0", "nationality", "DE"]);
    const inArray = await signIssuerJwt({ iss: "x", nationalities: [{ "...": sha256(property) }] });
    await rejects(`${inArray}~${property}~`, "bad-disclosure", withoutKb);
    const both = await signIssuerJwt({
      iss: "x",
      _sd: [sha256(element)],
      list: [{ "...": sha256(element) }],
    });
    await rejects(`${both}~`, "duplicate-digest", withoutKb);
  });

  it("a disclosure named __proto__ stays a plain claim and changes no prototype", async () => {
    const disclosure = b64(["c2FsdHNhbHRzYWx0", "__proto__", { admin: true }]);
    const jwt = await signIssuerJwt({ iss: "x", _sd: [sha256(disclosure)] });
    const { payload } = await verifySdJwt(`${jwt}~${disclosure}~`, baseOptions(withoutKb));
    assert.equal(Object.getPrototypeOf(payload), Object.prototype);
    assert.equal((payload as { admin?: boolean }).admin, undefined);
    assert.deepEqual(Object.getOwnPropertyDescriptor(payload, "__proto__")?.value, { admin: true });
  });

  it("garbage in each ~ part", async () => {
    const parts = await partsOf();
    await rejects(["garbage", ...parts.slice(1)].join("~"), "malformed", withoutKb);
    await rejects(["a.b.c", ...parts.slice(1)].join("~"), "malformed", withoutKb);
    await rejects(parts[0]!, "malformed", withoutKb);
    for (const junk of ["!!!", "e30", b64(["only-salt"]), b64([1, "n", "v"]), ""]) {
      const broken = [...parts];
      broken[1] = junk;
      await rejects(broken.join("~"), "bad-disclosure", withoutKb);
    }
    await rejects(`${await sdJwtOf()}garbage`, "bad-key-binding");
  });

  it("an expired or not yet valid SD-JWT", async () => {
    await rejects(await sdJwtOf(), "expired", { ...withoutKb, now: claims.exp + 31 });
    const jwt = await signIssuerJwt({ iss: "x", nbf: NOW + 3600 });
    await rejects(`${jwt}~`, "not-yet-valid", withoutKb);
    await verifySdJwt(await sdJwtOf(), baseOptions({ ...withoutKb, now: claims.exp + 29 }));
  });

  it("a missing key binding when required, or one signed by another key", async () => {
    await rejects(await present(await sdJwtOf(), ["fullName"], null), "missing-key-binding");
    await rejects(await present(await sdJwtOf(), ["fullName"], stranger.privateKey), "bad-key-binding");
  });

  it("a key binding whose sd_hash no longer matches (a disclosure removed after signing)", async () => {
    const vp = await present(await sdJwtOf(), ["fullName", "cardNumber"]);
    const parts = vp.split("~");
    await rejects([parts[0], parts[2], parts[3]].join("~"), "bad-key-binding");
  });

  it("a key binding with the wrong typ, or on an SD-JWT without cnf", async () => {
    const sdJwt = await sdJwtOf();
    const kb = await signKbJwt(
      { iat: NOW, aud: AUD, nonce: NONCE, sd_hash: sha256(sdJwt) },
      holder.privateKey,
      "JWT",
    );
    await rejects(sdJwt + kb, "bad-key-binding");
    const noCnf = `${await signIssuerJwt({ iss: "x" })}~`;
    const kb2 = await signKbJwt(
      { iat: NOW, aud: AUD, nonce: NONCE, sd_hash: sha256(noCnf) },
      holder.privateKey,
    );
    await rejects(noCnf + kb2, "bad-key-binding");
  });

  it("a key binding for another audience or nonce, or too old or from the future", async () => {
    const vp = await present(await sdJwtOf(), ["fullName"]);
    await rejects(vp, "wrong-audience", { aud: "https://other.example" });
    await rejects(vp, "wrong-nonce", { nonce: "replayed" });
    await rejects(vp, "stale-key-binding", { now: NOW + 400 });
    await rejects(vp, "stale-key-binding", { now: NOW - 100 });
  });

  it("oversize input and too many disclosures", async () => {
    await rejects(`${"a".repeat(70_000)}~`, "malformed", withoutKb);
    await rejects(`${(await partsOf())[0]}${"~x".repeat(201)}~`, "malformed", withoutKb);
  });
});
