/**
 * What the hub publishes about itself as an OpenID4VCI credential issuer: the Credential Issuer Metadata
 * (OpenID4VCI 1.0 §12.2), the OAuth Authorization Server Metadata (RFC 8414, with the §12.3 extension)
 * and the well-known URLs both are served at.
 *
 * The credential issuer is its own authorization server, so `authorization_servers` is left out, and the
 * AS metadata lists only what the hub does: the pre-authorized code grant, anonymously, at the token
 * endpoint. There is no authorization endpoint yet, so `response_types_supported` is left out too, as
 * OpenID4VCI §12.2.4 allows for an AS that supports only the pre-authorized code grant.
 *
 * @example
 * app.get(new URL(wellKnownUrl("openid-credential-issuer", issuer)).pathname, () =>
 *   credentialIssuerMetadata({ issuer, displayName: "University of Example" }));
 */

import { ESC_VCT } from "../esc-credential.ts";
import { PRE_AUTHORIZED_GRANT } from "./credential-offer.ts";
import type { ProofAlgorithm } from "./proof-jwt.ts";

/** The credential configuration the hub offers: the European Student Card as an SD-JWT VC. */
export const ESC_CONFIGURATION_ID = ESC_VCT;
export const ESC_SCOPE = "EuropeanStudentCard";

/**
 * The claims of the ESC credential with English labels: first those of the EWC draft schema, in its order,
 * then the hub's own. A wallet shows them in this order.
 */
export const ESC_CLAIMS: readonly { readonly name: string; readonly label: string }[] = [
  { name: "cardNumber", label: "Card number" },
  { name: "issuedAt", label: "Card issued on" },
  { name: "expiresAt", label: "Card expires on" },
  { name: "displayName", label: "Display name" },
  { name: "fullName", label: "Full name" },
  { name: "issuer", label: "Card issuer" },
  { name: "qrCode", label: "QR code" },
  { name: "institution", label: "Institution" },
  { name: "institutionId", label: "Institution identifier" },
  { name: "country", label: "Country" },
  { name: "academicLevel", label: "Academic level" },
  { name: "validUntil", label: "Student status valid until" },
  { name: "esi", label: "European Student Identifier" },
];

export interface CredentialIssuerMetadataInput {
  /** The Credential Issuer Identifier: an http(s) URL, no query, fragment or trailing slash. */
  issuer: string;
  /** The issuer's name as a wallet should show it. */
  displayName: string;
  /** Language of `displayName`, a BCP 47 tag; "en" by default. */
  locale?: string;
  /** Algorithms the issuer signs credentials with: the issuer key's own; both by default. */
  signingAlgorithms?: readonly ProofAlgorithm[];
  /** Algorithms accepted on key proofs; both by default. */
  proofAlgorithms?: readonly ProofAlgorithm[];
  /** Most proofs (and credentials) per Credential Request; 10 by default, 1 turns batches off. */
  batchSize?: number;
}

/** The Credential Issuer Metadata document (OpenID4VCI 1.0 §12.2.4). */
export function credentialIssuerMetadata(input: CredentialIssuerMetadataInput) {
  const { issuer, displayName, locale = "en", batchSize = 10 } = input;
  const signingAlgorithms = [...(input.signingAlgorithms ?? ["ES256", "EdDSA"])];
  const proofAlgorithms = [...(input.proofAlgorithms ?? ["ES256", "EdDSA"])];
  assertIssuerIdentifier(issuer);
  if (displayName.trim() === "") throw new TypeError("displayName must not be empty");
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new TypeError("batchSize must be a positive integer");
  }
  if (signingAlgorithms.length === 0 || proofAlgorithms.length === 0) {
    throw new TypeError("algorithm lists must not be empty");
  }
  return {
    credential_issuer: issuer,
    credential_endpoint: `${issuer}/credential`,
    nonce_endpoint: `${issuer}/nonce`,
    // §12.2.4: batch_size "MUST be 2 or greater"; with no batches the parameter is absent.
    ...(batchSize >= 2 ? { batch_credential_issuance: { batch_size: batchSize } } : {}),
    display: [{ name: displayName, locale }],
    credential_configurations_supported: {
      [ESC_CONFIGURATION_ID]: {
        format: "dc+sd-jwt",
        vct: ESC_VCT,
        scope: ESC_SCOPE,
        cryptographic_binding_methods_supported: ["jwk"],
        credential_signing_alg_values_supported: signingAlgorithms,
        proof_types_supported: { jwt: { proof_signing_alg_values_supported: proofAlgorithms } },
        // 1.0 final keeps display and claims under credential_metadata (drafts had them one level up).
        credential_metadata: {
          display: [
            {
              name: "European Student Card",
              locale: "en",
              description: "Proof of student status at a European higher education institution",
            },
          ],
          claims: ESC_CLAIMS.map(({ name, label }) => ({
            path: [name],
            display: [{ name: label, locale: "en" }],
          })),
        },
      },
    },
  };
}

/** The Authorization Server Metadata document (RFC 8414 §2, OpenID4VCI 1.0 §12.3). */
export function authorizationServerMetadata(input: { issuer: string }) {
  const { issuer } = input;
  assertIssuerIdentifier(issuer);
  return {
    issuer,
    token_endpoint: `${issuer}/token`,
    grant_types_supported: [PRE_AUTHORIZED_GRANT],
    // Wallets are public clients: no client authentication at the token endpoint.
    token_endpoint_auth_methods_supported: ["none"],
    "pre-authorized_grant_anonymous_access_supported": true,
  };
}

export type WellKnownKind = "openid-credential-issuer" | "oauth-authorization-server" | "jwt-vc-issuer";

/**
 * Where a document about `issuer` lives: `/.well-known/<kind>` goes between the origin and the path
 * (RFC 8414 §3.1, OpenID4VCI §12.2.2, SD-JWT VC §5), so `https://hub.example/org/a` gives
 * `https://hub.example/.well-known/openid-credential-issuer/org/a`.
 */
export function wellKnownUrl(kind: WellKnownKind, issuer: string): string {
  assertIssuerIdentifier(issuer);
  const url = new URL(issuer);
  const path = url.pathname === "/" ? "" : url.pathname;
  return `${url.origin}/.well-known/${kind}${path}`;
}

/**
 * The issuer a well-known request is about, or undefined when `path` is not a `kind` well-known path.
 * `origin` is the hub's public origin; `path` is the request path without its query.
 */
export function issuerFromWellKnownPath(
  kind: WellKnownKind,
  origin: string,
  path: string,
): string | undefined {
  const base = new URL(origin);
  if (base.pathname !== "/" || base.search !== "" || base.hash !== "") {
    throw new TypeError("origin must be scheme, host and port only");
  }
  const prefix = `/.well-known/${kind}`;
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length);
  if (rest !== "" && (!rest.startsWith("/") || rest.endsWith("/") || /[?#]/.test(rest))) return undefined;
  return `${base.origin}${rest}`;
}

/**
 * Refuses (as misuse, with a TypeError) an issuer identifier that breaks OpenID4VCI §12.2.1: not an
 * absolute http(s) URL, or with user info, a query, a fragment or a trailing slash (the endpoints are
 * the identifier plus a path, and identifiers compare as plain strings).
 */
export function assertIssuerIdentifier(issuer: string): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new TypeError(`issuer must be an absolute URL, got "${issuer}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("issuer must use https");
  if (url.username || url.password || /[?#]/.test(issuer)) {
    throw new TypeError("issuer must not carry user info, a query or a fragment");
  }
  if (issuer.endsWith("/")) throw new TypeError("issuer must not end with a slash");
}
