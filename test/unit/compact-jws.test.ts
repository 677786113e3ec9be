import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, it } from "node:test";
import { CompactSign } from "jose";
import { CompactJwsError, verifyCompactJws } from "../../src/credentials/compact-jws.ts";

const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" });
const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
const ed25519 = generateKeyPairSync("ed25519");
const otherP256 = generateKeyPairSync("ec", { namedCurve: "P-256" });

/** Signed by jose: the verifier must accept what an independent implementation produces. */
function sign(header: Record<string, unknown>, payload: unknown, key: KeyObject): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string })
    .sign(key);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const refused = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (error: unknown) => error instanceof CompactJwsError && pattern.test(error.message));

describe("verifyCompactJws", () => {
  it("accepts ES256, ES384 and EdDSA signatures made by jose, and returns header and payload", async () => {
    const cases = [
      ["ES256", p256],
      ["ES384", p384],
      ["EdDSA", ed25519],
    ] as const;
    for (const [alg, keys] of cases) {
      const jws = await sign({ alg, typ: "kb+jwt" }, { n: 1 }, keys.privateKey);
      const { header, payload } = verifyCompactJws(jws, keys.publicKey, ["ES256", "ES384", "EdDSA"]);
      assert.equal(header["alg"], alg);
      assert.deepEqual(payload, { n: 1 });
    }
  });

  it("refuses a changed payload, a signature by another key and a truncated signature", async () => {
    const jws = await sign({ alg: "ES256" }, { n: 1 }, p256.privateKey);
    const [h, , s] = jws.split(".");
    refused(
      () => verifyCompactJws(`${h}.${b64({ n: 2 })}.${s}`, p256.publicKey, ["ES256"]),
      /does not verify/,
    );
    refused(() => verifyCompactJws(jws, otherP256.publicKey, ["ES256"]), /does not verify/);
    refused(() => verifyCompactJws(`${jws.slice(0, -4)}`, p256.publicKey, ["ES256"]), /wrong length/);
  });

  it("refuses alg none, MAC algorithms and algorithms not allowed by the caller", async () => {
    const payload = b64({ n: 1 });
    refused(
      () => verifyCompactJws(`${b64({ alg: "none" })}.${payload}.`, p256.publicKey, ["ES256"]),
      /none is not accepted/,
    );
    refused(
      () => verifyCompactJws(`${b64({ alg: "HS256" })}.${payload}.AAAA`, p256.publicKey, ["ES256"]),
      /HS256/,
    );
    const es384 = await sign({ alg: "ES384" }, { n: 1 }, p384.privateKey);
    refused(() => verifyCompactJws(es384, p384.publicKey, ["ES256"]), /ES384 is not accepted/);
  });

  it("refuses a key that does not fit the alg (type or curve)", async () => {
    const es256 = await sign({ alg: "ES256" }, { n: 1 }, p256.privateKey);
    refused(() => verifyCompactJws(es256, ed25519.publicKey, ["ES256"]), /does not fit/);
    refused(() => verifyCompactJws(es256, p384.publicKey, ["ES256"]), /curve/);
    refused(() => verifyCompactJws(es256, p256.privateKey, ["ES256"]), /does not fit/);
  });

  it("refuses crit extensions it cannot understand, and garbage in every part", async () => {
    const crit = await new CompactSign(new TextEncoder().encode(JSON.stringify({ n: 1 })))
      .setProtectedHeader({ alg: "ES256", crit: ["exp"], exp: 1 })
      .sign(p256.privateKey, { crit: { exp: true } });
    refused(() => verifyCompactJws(crit, p256.publicKey, ["ES256"]), /crit/);
    const jws = await sign({ alg: "ES256" }, { n: 1 }, p256.privateKey);
    const [h, p, s] = jws.split(".");
    refused(() => verifyCompactJws(`${h}.${p}`, p256.publicKey, ["ES256"]), /not a compact JWS/);
    refused(() => verifyCompactJws(`!!.${p}.${s}`, p256.publicKey, ["ES256"]), /header is not base64url/);
    refused(
      () => verifyCompactJws(`${b64([1])}.${p}.${s}`, p256.publicKey, ["ES256"]),
      /header is not a JSON object/,
    );
    refused(() => verifyCompactJws(`${h}.${p}.$$$`, p256.publicKey, ["ES256"]), /signature is not base64url/);
    const notJson = await new CompactSign(new TextEncoder().encode("not json"))
      .setProtectedHeader({ alg: "ES256" })
      .sign(p256.privateKey);
    refused(() => verifyCompactJws(notJson, p256.publicKey, ["ES256"]), /payload is not JSON/);
  });
});
