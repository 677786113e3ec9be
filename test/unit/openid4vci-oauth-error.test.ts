import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OAuthError, parseTokenRequest } from "../../src/credentials/openid4vci/oauth-error.ts";

const GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

function assertRefused(body: unknown, error: string, status = 400) {
  assert.throws(
    () => parseTokenRequest(body),
    (thrown: unknown) => {
      assert.ok(thrown instanceof OAuthError, String(thrown));
      assert.equal(thrown.error, error, thrown.description);
      assert.equal(thrown.status, status);
      return true;
    },
  );
}

describe("OAuthError", () => {
  it("gives the status each specification fixes for its code", () => {
    assert.equal(new OAuthError("invalid_grant", "x").status, 400);
    assert.equal(new OAuthError("invalid_request", "x").status, 400);
    assert.equal(new OAuthError("unsupported_grant_type", "x").status, 400);
    assert.equal(new OAuthError("invalid_proof", "x").status, 400);
    assert.equal(new OAuthError("invalid_client", "x").status, 401);
    assert.equal(new OAuthError("invalid_token", "x").status, 401);
    assert.equal(new OAuthError("insufficient_scope", "x").status, 403);
    assert.equal(new OAuthError("invalid_token", "x", 403).status, 403);
  });

  it("has the RFC 6749 §5.2 body, with a description cleaned to the characters allowed there", () => {
    const error = new OAuthError("invalid_grant", 'the "code" is wrong \\ café\n');
    assert.deepEqual(error.toBody(), {
      error: "invalid_grant",
      error_description: "the ?code? is wrong ? caf??",
    });
    assert.match(error.toBody().error_description, /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/);
    assert.ok(error instanceof Error);
  });

  it("refuses a code that is not one, as misuse", () => {
    assert.throws(() => new OAuthError("bad code\n", "x"), TypeError);
    assert.throws(() => new OAuthError("", "x"), TypeError);
  });
});

describe("parseTokenRequest", () => {
  it("reads the pre-authorized code and the transaction code, from an object or URLSearchParams", () => {
    const form = `grant_type=${encodeURIComponent(GRANT)}&pre-authorized_code=SplxlOBeZQQYbYS6WxSbIA&tx_code=493536`;
    const expected = { preAuthorizedCode: "SplxlOBeZQQYbYS6WxSbIA", txCode: "493536" };
    assert.deepEqual(parseTokenRequest(new URLSearchParams(form)), expected);
    assert.deepEqual(parseTokenRequest(Object.fromEntries(new URLSearchParams(form))), expected);
  });

  it("gives no transaction code when none was sent, and ignores client_id and other parameters", () => {
    const body = {
      grant_type: GRANT,
      "pre-authorized_code": "abc",
      client_id: "wallet",
      authorization_details: "[]",
    };
    assert.deepEqual(parseTokenRequest(body), { preAuthorizedCode: "abc", txCode: undefined });
  });

  it("refuses another grant as unsupported_grant_type, and no grant as invalid_request", () => {
    assertRefused({ grant_type: "authorization_code", code: "abc" }, "unsupported_grant_type");
    assertRefused({ grant_type: "client_credentials" }, "unsupported_grant_type");
    assertRefused({ "pre-authorized_code": "abc" }, "invalid_request");
  });

  it("refuses a missing or empty code as invalid_request, and an overlong one as invalid_grant", () => {
    assertRefused({ grant_type: GRANT }, "invalid_request");
    assertRefused({ grant_type: GRANT, "pre-authorized_code": "" }, "invalid_request");
    assertRefused({ grant_type: GRANT, "pre-authorized_code": "x".repeat(513) }, "invalid_grant");
  });

  it("refuses an empty or overlong transaction code", () => {
    assertRefused({ grant_type: GRANT, "pre-authorized_code": "abc", tx_code: "" }, "invalid_request");
    assertRefused(
      { grant_type: GRANT, "pre-authorized_code": "abc", tx_code: "1".repeat(65) },
      "invalid_request",
    );
  });

  it("refuses repeated parameters (RFC 6749 §3.2) and non-string values", () => {
    assertRefused(
      new URLSearchParams(`grant_type=${GRANT}&pre-authorized_code=a&pre-authorized_code=b`),
      "invalid_request",
    );
    assertRefused({ grant_type: GRANT, "pre-authorized_code": ["a", "b"] }, "invalid_request");
    assertRefused({ grant_type: GRANT, "pre-authorized_code": 12 }, "invalid_request");
    assertRefused({ grant_type: GRANT, "pre-authorized_code": "a", tx_code: { x: 1 } }, "invalid_request");
  });

  it("refuses a body that is not a form", () => {
    for (const body of [null, undefined, "grant_type=x", [GRANT]]) assertRefused(body, "invalid_request");
  });
});
