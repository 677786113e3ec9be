import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  assertIssuerIdentifier,
  authorizationServerMetadata,
  credentialIssuerMetadata,
  ESC_CONFIGURATION_ID,
  issuerFromWellKnownPath,
  type WellKnownKind,
  wellKnownUrl,
} from "../../src/credentials/openid4vci/issuer-metadata.ts";

const ISSUER = "https://hub.openesc.example/org/uni-example";
const ESC_CLAIM_NAMES = [
  "cardNumber",
  "issuedAt",
  "expiresAt",
  "displayName",
  "fullName",
  "issuer",
  "qrCode",
  "institution",
  "institutionId",
  "country",
  "academicLevel",
  "validUntil",
  "esi",
];

describe("credentialIssuerMetadata", () => {
  const metadata = credentialIssuerMetadata({ issuer: ISSUER, displayName: "University of Example" });
  const esc = metadata.credential_configurations_supported[ESC_CONFIGURATION_ID];

  it("puts the endpoints under the issuer identifier, path included, and names no other AS", () => {
    assert.equal(metadata.credential_issuer, ISSUER);
    assert.equal(metadata.credential_endpoint, `${ISSUER}/credential`);
    assert.equal(metadata.nonce_endpoint, `${ISSUER}/nonce`);
    assert.equal("authorization_servers" in metadata, false);
    assert.deepEqual(metadata.display, [{ name: "University of Example", locale: "en" }]);
    assert.deepEqual(metadata.batch_credential_issuance, { batch_size: 10 });
  });

  it("describes the ESC as an SD-JWT VC bound to a jwk, with jwt proofs", () => {
    assert.equal(esc.format, "dc+sd-jwt");
    assert.equal(esc.vct, "eu.europa.ec.eudi.esc.1");
    assert.equal(esc.scope, "EuropeanStudentCard");
    assert.deepEqual(esc.cryptographic_binding_methods_supported, ["jwk"]);
    assert.deepEqual(esc.credential_signing_alg_values_supported, ["ES256", "EdDSA"]);
    assert.deepEqual(esc.proof_types_supported, {
      jwt: { proof_signing_alg_values_supported: ["ES256", "EdDSA"] },
    });
  });

  it("keeps display and claims under credential_metadata, as 1.0 final does", () => {
    assert.equal("display" in esc, false);
    assert.equal("claims" in esc, false);
    assert.equal(esc.credential_metadata.display[0]?.name, "European Student Card");
    const claims = esc.credential_metadata.claims;
    assert.deepEqual(
      claims.map((claim) => claim.path),
      ESC_CLAIM_NAMES.map((name) => [name]),
    );
    assert.deepEqual(claims[0]?.display, [{ name: "Card number", locale: "en" }]);
    // §10.3: a claim addressed twice aborts processing in the wallet.
    assert.equal(new Set(claims.map((claim) => claim.path.join("/"))).size, claims.length);
    for (const claim of claims) assert.ok(claim.display[0]?.name, `${claim.path} has a label`);
  });

  it("publishes only the issuer's own signing algorithm when told, and drops batches of one", () => {
    const single = credentialIssuerMetadata({
      issuer: ISSUER,
      displayName: "Uni",
      locale: "fr",
      signingAlgorithms: ["ES256"],
      batchSize: 1,
    });
    const config = single.credential_configurations_supported[ESC_CONFIGURATION_ID];
    assert.deepEqual(config.credential_signing_alg_values_supported, ["ES256"]);
    assert.equal(single.display[0]?.locale, "fr");
    // §12.2.4: batch_size must be 2 or more, so a single-credential issuer leaves the parameter out.
    assert.equal("batch_credential_issuance" in single, false);
  });
});

describe("authorizationServerMetadata", () => {
  it("says only what the hub does: anonymous pre-authorized code grant at the token endpoint", () => {
    assert.deepEqual(authorizationServerMetadata({ issuer: ISSUER }), {
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/token`,
      grant_types_supported: ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
      token_endpoint_auth_methods_supported: ["none"],
      "pre-authorized_grant_anonymous_access_supported": true,
    });
  });
});

describe("wellKnownUrl and issuerFromWellKnownPath", () => {
  const kinds: WellKnownKind[] = ["openid-credential-issuer", "oauth-authorization-server", "jwt-vc-issuer"];

  it("insert the well-known segment between the origin and the path (RFC 8414 §3.1)", () => {
    assert.equal(
      wellKnownUrl("openid-credential-issuer", ISSUER),
      "https://hub.openesc.example/.well-known/openid-credential-issuer/org/uni-example",
    );
    assert.equal(
      wellKnownUrl("oauth-authorization-server", "https://hub.openesc.example"),
      "https://hub.openesc.example/.well-known/oauth-authorization-server",
    );
    assert.equal(
      wellKnownUrl("jwt-vc-issuer", "http://localhost:8080/tenant"),
      "http://localhost:8080/.well-known/jwt-vc-issuer/tenant",
    );
  });

  it("round-trip with and without a path on the issuer", () => {
    for (const kind of kinds) {
      for (const issuer of [ISSUER, "https://hub.openesc.example", "http://localhost:8080/a/b/c"]) {
        const url = new URL(wellKnownUrl(kind, issuer));
        assert.equal(issuerFromWellKnownPath(kind, url.origin, url.pathname), issuer, `${kind} ${issuer}`);
      }
    }
  });

  it("find no issuer in a path of another kind or shape", () => {
    const origin = "https://hub.openesc.example";
    assert.equal(
      issuerFromWellKnownPath("openid-credential-issuer", origin, "/.well-known/jwt-vc-issuer/org/a"),
      undefined,
    );
    assert.equal(
      issuerFromWellKnownPath(
        "openid-credential-issuer",
        origin,
        "/org/a/.well-known/openid-credential-issuer",
      ),
      undefined,
    );
    assert.equal(issuerFromWellKnownPath("jwt-vc-issuer", origin, "/.well-known/jwt-vc-issuerx"), undefined);
    assert.equal(
      issuerFromWellKnownPath("jwt-vc-issuer", origin, "/.well-known/jwt-vc-issuer/org/a/"),
      undefined,
    );
    assert.throws(
      () => issuerFromWellKnownPath("jwt-vc-issuer", `${origin}/org`, "/.well-known/jwt-vc-issuer"),
      TypeError,
    );
  });

  it("refuse issuer identifiers that break §12.2.1, as misuse", () => {
    for (const bad of [
      "hub.example",
      "ftp://hub.example",
      "https://hub.example/a?x=1",
      "https://hub.example/#f",
      "https://hub.example/",
      "https://u:p@hub.example",
    ]) {
      assert.throws(() => assertIssuerIdentifier(bad), TypeError, bad);
      assert.throws(() => wellKnownUrl("openid-credential-issuer", bad), TypeError, bad);
    }
  });
});
