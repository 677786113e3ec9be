/**
 * `POST /v1/credential-verifications`, for verifiers that prefer to ask the hub: a verdict on a
 * presentation that names the disclosed claims without repeating their values, a reason when it fails,
 * and a 4xx only for a request that is not one.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HolderKey } from "../../src/credentials/holder-wallet.ts";
import { presentCredential } from "../../src/credentials/holder-wallet.ts";
import {
  CREDENTIAL_HUB_ENV,
  decodeCredential,
  enrolledStudent,
  ISSUER,
  issuedCredential,
  type Student,
  VERIFIER,
} from "../support/credential-scenario.ts";
import { startTestHub, type TestHub } from "../support/test-hub.ts";

describe("the verification endpoint", () => {
  let hub: TestHub;
  let student: Student;
  let credential: string;
  let holderKey: HolderKey;
  const verify = (payload: unknown, contentType = "application/json") =>
    hub.request({
      method: "POST",
      url: "/v1/credential-verifications",
      headers: { "content-type": contentType },
      payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    });
  const present = (nonce: string, disclose?: string[], of = credential) =>
    presentCredential(of, { holderKey, audience: VERIFIER, nonce, ...(disclose ? { disclose } : {}) });

  before(async () => {
    hub = await startTestHub({ env: { ...CREDENTIAL_HUB_ENV } });
    student = await enrolledStudent(hub);
    ({ credential, holderKey } = await issuedCredential(hub, student));
  });
  after(() => hub.close());

  it("says valid, with the issuer, the type, the expiry and the names of what was disclosed, never their values", async () => {
    const answer = await verify({
      presentation: await present("n-1", ["cardNumber", "validUntil"]),
      audience: VERIFIER,
      nonce: "n-1",
    });
    assert.equal(answer.statusCode, 200, answer.body);
    const expiry = Number(decodeCredential(credential).payload.exp) * 1000;
    const body = answer.json<{ disclosed: string[] }>();
    // Disclosures come in the order the holder's presentation has them: any order.
    assert.deepEqual(
      { ...body, disclosed: [...body.disclosed].sort() },
      {
        valid: true,
        issuer: ISSUER,
        vct: "eu.europa.ec.eudi.esc.1",
        expiresAt: new Date(expiry).toISOString(),
        disclosed: ["cardNumber", "validUntil"],
      },
    );

    // Everything disclosed: every name, still no value.
    const all = await verify({ presentation: await present("n-2"), audience: VERIFIER, nonce: "n-2" });
    const disclosed = all.json<{ disclosed: string[] }>().disclosed;
    assert.ok(["fullName", "esi", "displayName", "academicLevel"].every((n) => disclosed.includes(n)));
    for (const value of [student.escn, student.esi, "Jeanne Exemple", "Jeanne E.", "MASTER", "2030-08-31"]) {
      assert.ok(!all.body.includes(value), `the answer repeats ${value}`);
    }
  });

  it("answers a presentation that fails with valid: false and the reason, not an error", async () => {
    const presentation = await present("n-3", ["cardNumber"]);
    const [jwt = "", ...rest] = presentation.split("~");
    const signature = jwt.split(".")[2] ?? "";
    const flipped = `${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    const forged = [`${jwt.split(".").slice(0, 2).join(".")}.${flipped}`, ...rest].join("~");
    const cases: [string, string, string, string][] = [
      ["a forged issuer signature", forged, "n-3", "bad-signature"],
      ["the nonce of another request", presentation, "n-other", "wrong-nonce"],
      ["not an SD-JWT at all", "garbage", "n-3", "malformed"],
    ];
    for (const [what, sent, nonce, reason] of cases) {
      const answer = await verify({ presentation: sent, audience: VERIFIER, nonce });
      assert.equal(answer.statusCode, 200, `${what}: ${answer.body}`);
      const body = answer.json<{ valid: boolean; reason: string; message: string }>();
      assert.equal(body.valid, false, what);
      assert.equal(body.reason, reason, what);
      assert.ok(body.message.length > 0, what);
    }
  });

  it("refuses a request that is not one: missing fields, wrong types, another media type", async () => {
    const presentation = await present("n-4");
    const cases: [unknown, string][] = [
      [{ audience: VERIFIER, nonce: "n-4" }, "/presentation"],
      [{ presentation, nonce: "n-4" }, "/audience"],
      [{ presentation, audience: VERIFIER, nonce: 4 }, "/nonce"],
      [{ presentation: [presentation], audience: VERIFIER, nonce: "n-4" }, "/presentation"],
      [{ presentation, audience: VERIFIER, nonce: "n-4", claims: ["fullName"] }, "/claims"],
    ];
    for (const [payload, field] of cases) {
      const answer = await verify(payload);
      assert.equal(answer.statusCode, 400, answer.body);
      const problem = answer.json<{ code: string; errors: { field: string }[] }>();
      assert.equal(problem.code, "VALIDATION_FAILED");
      assert.ok(
        problem.errors.some((e) => e.field === field),
        `${field} is not named: ${answer.body}`,
      );
    }
    const asText = await verify(presentation, "text/plain");
    assert.equal(asText.statusCode, 415, asText.body);
    assert.equal(asText.json<{ code: string }>().code, "MEDIA_TYPE_UNSUPPORTED");
  });
});
