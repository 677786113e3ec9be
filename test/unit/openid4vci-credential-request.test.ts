import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CredentialRequestError,
  type CredentialRequestErrorCode,
  parseCredentialRequest,
} from "../../src/credentials/openid4vci/credential-request.ts";

const ESC = "eu.europa.ec.eudi.esc.1";
const SUPPORTED = [ESC];
const jwt = (n: number) => `eyJ0eXAiOiJvcGVuaWQ0dmNpLXByb29mK2p3dCJ9.eyJub25jZSI6Im4ifQ.sig${n}`;

function assertRefused(
  body: unknown,
  code: CredentialRequestErrorCode,
  message?: RegExp,
  maxBatchSize?: number,
) {
  assert.throws(
    () => parseCredentialRequest(body, SUPPORTED, maxBatchSize === undefined ? {} : { maxBatchSize }),
    (error: unknown) => {
      assert.ok(error instanceof CredentialRequestError, String(error));
      assert.equal(error.code, code, error.message);
      if (message) assert.match(error.message, message);
      return true;
    },
  );
}

describe("parseCredentialRequest accepts", () => {
  it("the 1.0 final shape with one proof", () => {
    const request = parseCredentialRequest(
      { credential_configuration_id: ESC, proofs: { jwt: [jwt(1)] } },
      SUPPORTED,
    );
    assert.deepEqual(request, { configurationId: ESC, proofJwts: [jwt(1)] });
  });

  it("a batch up to the batch size, in order", () => {
    const ten = Array.from({ length: 10 }, (_, i) => jwt(i));
    assert.deepEqual(
      parseCredentialRequest({ credential_configuration_id: ESC, proofs: { jwt: ten } }, SUPPORTED).proofJwts,
      ten,
    );
  });

  it("and ignores parameters it does not know (§8.2)", () => {
    const body = { credential_configuration_id: ESC, proofs: { jwt: [jwt(1)] }, wallet_hint: "x" };
    assert.equal(parseCredentialRequest(body, SUPPORTED).configurationId, ESC);
  });
});

describe("parseCredentialRequest refuses", () => {
  it("a body that is not a JSON object", () => {
    for (const body of [null, undefined, "text", 42, [ESC]])
      assertRefused(body, "invalid_credential_request");
  });

  it("a missing or non-string credential_configuration_id", () => {
    assertRefused({ proofs: { jwt: [jwt(1)] } }, "invalid_credential_request", /credential_configuration_id/);
    assertRefused(
      { credential_configuration_id: 7, proofs: { jwt: [jwt(1)] } },
      "invalid_credential_request",
    );
    assertRefused(
      { credential_configuration_id: "", proofs: { jwt: [jwt(1)] } },
      "invalid_credential_request",
    );
  });

  it("a configuration the issuer does not offer", () => {
    assertRefused(
      { credential_configuration_id: "org.iso.18013.5.1.mDL", proofs: { jwt: [jwt(1)] } },
      "unknown_credential_configuration",
    );
  });

  it("credential_identifier, with or without credential_configuration_id", () => {
    assertRefused(
      { credential_identifier: "abc", proofs: { jwt: [jwt(1)] } },
      "invalid_credential_request",
      /credential_identifier is not supported/,
    );
    assertRefused(
      { credential_identifier: "abc", credential_configuration_id: ESC, proofs: { jwt: [jwt(1)] } },
      "invalid_credential_request",
    );
  });

  it("the draft-era singular proof, saying to use proofs", () => {
    const body = { credential_configuration_id: ESC, proof: { proof_type: "jwt", jwt: jwt(1) } };
    assertRefused(body, "invalid_credential_request", /"proofs"/);
  });

  it("a request for response encryption, which the issuer does not offer", () => {
    const body = {
      credential_configuration_id: ESC,
      proofs: { jwt: [jwt(1)] },
      credential_response_encryption: { enc: "A128GCM" },
    };
    assertRefused(body, "invalid_credential_request", /encryption/);
  });

  it("a missing or malformed proofs as invalid_proof", () => {
    assertRefused({ credential_configuration_id: ESC }, "invalid_proof", /proofs is required/);
    assertRefused({ credential_configuration_id: ESC, proofs: [jwt(1)] }, "invalid_proof");
    assertRefused({ credential_configuration_id: ESC, proofs: {} }, "invalid_proof", /exactly one/);
    assertRefused(
      { credential_configuration_id: ESC, proofs: { jwt: [jwt(1)], attestation: [jwt(2)] } },
      "invalid_proof",
      /exactly one/,
    );
    assertRefused(
      { credential_configuration_id: ESC, proofs: { di_vp: [{}] } },
      "invalid_proof",
      /jwt proof type/,
    );
    assertRefused({ credential_configuration_id: ESC, proofs: { jwt: jwt(1) } }, "invalid_proof");
    assertRefused({ credential_configuration_id: ESC, proofs: { jwt: [] } }, "invalid_proof");
    assertRefused({ credential_configuration_id: ESC, proofs: { jwt: [jwt(1), 2] } }, "invalid_proof");
    assertRefused({ credential_configuration_id: ESC, proofs: { jwt: [""] } }, "invalid_proof");
    assertRefused(
      { credential_configuration_id: ESC, proofs: { jwt: ["x".repeat(10_000)] } },
      "invalid_proof",
    );
  });

  it("more proofs than the batch size, default or given", () => {
    const eleven = Array.from({ length: 11 }, (_, i) => jwt(i));
    assertRefused(
      { credential_configuration_id: ESC, proofs: { jwt: eleven } },
      "invalid_proof",
      /more than 10/,
    );
    assertRefused(
      { credential_configuration_id: ESC, proofs: { jwt: [jwt(1), jwt(2)] } },
      "invalid_proof",
      /more than 1/,
      1,
    );
  });

  it("the same proof twice, which would give two credentials for one key", () => {
    assertRefused(
      { credential_configuration_id: ESC, proofs: { jwt: [jwt(1), jwt(1)] } },
      "invalid_proof",
      /twice/,
    );
  });

  it("a nonsensical batch size as misuse", () => {
    assert.throws(() => parseCredentialRequest({}, SUPPORTED, { maxBatchSize: 0 }), TypeError);
  });
});
