/**
 * The Credential Request body of OpenID4VCI 1.0 final (§8.2), read strictly: `credential_configuration_id`
 * and `proofs: { jwt: [...] }`. Draft-era shapes (the singular `proof`) are refused with a message that
 * says what to send instead, rather than half understood. Proofs are only picked out here; each one is
 * checked by `verifyProofJwt`.
 *
 * @example
 * const { configurationId, proofJwts } = parseCredentialRequest(body, [ESC_CONFIGURATION_ID]);
 */

export type CredentialRequestErrorCode =
  | "invalid_credential_request"
  | "unknown_credential_configuration"
  | "invalid_proof";

/** A Credential Request the hub cannot act on; `code` is the OpenID4VCI error (§8.3.1.2). */
export class CredentialRequestError extends Error {
  override readonly name = "CredentialRequestError";
  readonly code: CredentialRequestErrorCode;
  constructor(code: CredentialRequestErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface CredentialRequest {
  configurationId: string;
  /** One to `maxBatchSize` compact JWTs, all different; one credential is issued per proof. */
  proofJwts: string[];
}

export interface ParseCredentialRequestOptions {
  /** The most proofs one request may carry: the `batch_size` published in the metadata; 10 by default. */
  maxBatchSize?: number;
}

/** Far above an honest key proof; anything longer is not worth handing to the verifier. */
const MAX_PROOF_LENGTH = 8192;

export function parseCredentialRequest(
  body: unknown,
  supportedConfigurationIds: readonly string[],
  options: ParseCredentialRequestOptions = {},
): CredentialRequest {
  const { maxBatchSize = 10 } = options;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
    throw new TypeError("maxBatchSize must be a positive integer");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new CredentialRequestError("invalid_credential_request", "the request body must be a JSON object");
  }
  const request = body as Record<string, unknown>;

  if (request.credential_identifier !== undefined) {
    throw new CredentialRequestError(
      "invalid_credential_request",
      "credential_identifier is not supported: this issuer returns no authorization_details; " +
        "send credential_configuration_id",
    );
  }
  if (request.proof !== undefined) {
    throw new CredentialRequestError(
      "invalid_credential_request",
      'the singular "proof" parameter is from drafts before OpenID4VCI 1.0; send "proofs": {"jwt": [...]}',
    );
  }
  if (request.credential_response_encryption !== undefined) {
    throw new CredentialRequestError(
      "invalid_credential_request",
      "credential_response_encryption is not supported by this issuer",
    );
  }

  const configurationId = request.credential_configuration_id;
  if (typeof configurationId !== "string" || configurationId === "") {
    throw new CredentialRequestError(
      "invalid_credential_request",
      "credential_configuration_id must be a non-empty string",
    );
  }
  if (!supportedConfigurationIds.includes(configurationId)) {
    throw new CredentialRequestError(
      "unknown_credential_configuration",
      "this credential_configuration_id is not offered by this issuer",
    );
  }

  return { configurationId, proofJwts: proofJwtsOf(request.proofs, maxBatchSize) };
}

function proofJwtsOf(proofs: unknown, maxBatchSize: number): string[] {
  if (proofs === undefined) {
    throw new CredentialRequestError("invalid_proof", 'proofs is required: send "proofs": {"jwt": [...]}');
  }
  if (typeof proofs !== "object" || proofs === null || Array.isArray(proofs)) {
    throw new CredentialRequestError("invalid_proof", "proofs must be an object");
  }
  const types = Object.keys(proofs);
  if (types.length !== 1) {
    throw new CredentialRequestError("invalid_proof", "proofs must hold exactly one proof type");
  }
  if (types[0] !== "jwt") {
    throw new CredentialRequestError("invalid_proof", "only the jwt proof type is supported");
  }
  const jwts = (proofs as { jwt: unknown }).jwt;
  if (!Array.isArray(jwts) || jwts.length === 0) {
    throw new CredentialRequestError("invalid_proof", "proofs.jwt must be a non-empty array");
  }
  if (jwts.length > maxBatchSize) {
    throw new CredentialRequestError("invalid_proof", `proofs.jwt holds more than ${maxBatchSize} proofs`);
  }
  for (const jwt of jwts) {
    if (typeof jwt !== "string" || jwt === "" || jwt.length > MAX_PROOF_LENGTH) {
      throw new CredentialRequestError("invalid_proof", "each proof must be a compact JWT string");
    }
  }
  if (new Set(jwts).size !== jwts.length) {
    throw new CredentialRequestError("invalid_proof", "the same proof appears twice");
  }
  return jwts as string[];
}
