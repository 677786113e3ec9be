/**
 * OAuth 2.0 errors as the token endpoint (RFC 6749 §5.2), the credential endpoint (RFC 6750 §3,
 * OpenID4VCI 1.0 §8.3.1) and the nonce endpoint answer them, and the reader of the pre-authorized code
 * Token Request (OpenID4VCI 1.0 §6.1).
 *
 * These errors speak OAuth rather than the hub's own catalogue (`src/domain/errors.ts`) because wallets
 * branch on OAuth's `error` codes; their HTTP status is fixed by those specifications.
 *
 * @example
 * try { parseTokenRequest(request.body) } catch (e) {
 *   if (e instanceof OAuthError) reply.code(e.status).header("cache-control", "no-store").send(e.toBody());
 * }
 */

import { PRE_AUTHORIZED_GRANT } from "./credential-offer.ts";

export type OAuthErrorStatus = 400 | 401 | 403;

/** The status each specification gives a code; anything unlisted is a 400. */
const STATUS_OF: Readonly<Record<string, OAuthErrorStatus>> = {
  invalid_client: 401, // RFC 6749 §5.2, when the client tried to authenticate
  invalid_token: 401, // RFC 6750 §3.1
  insufficient_scope: 403, // RFC 6750 §3.1
};

/** An OAuth error response: `error` is the code a client branches on, `description` is for people. */
export class OAuthError extends Error {
  override readonly name = "OAuthError";
  /** e.g. invalid_request, invalid_grant, unsupported_grant_type, invalid_token, invalid_proof. */
  readonly error: string;
  readonly status: OAuthErrorStatus;
  /** Printable ASCII without `"` and `\`, as RFC 6749 §5.2 allows in `error_description`. */
  readonly description: string;
  constructor(error: string, description: string, status?: OAuthErrorStatus) {
    if (!/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/.test(error)) {
      throw new TypeError(`"${error}" is not an OAuth error code`);
    }
    const safe = description.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, "?");
    super(safe);
    this.error = error;
    this.description = safe;
    this.status = status ?? STATUS_OF[error] ?? 400;
  }

  toBody(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export interface TokenRequest {
  preAuthorizedCode: string;
  /** Undefined when the wallet sent none; whether one was due is the caller's call (§6.3). */
  txCode: string | undefined;
}

/** Far longer than the codes the hub issues (43 characters); a longer one cannot be ours. */
const MAX_CODE_LENGTH = 512;
const MAX_TX_CODE_LENGTH = 64;

/**
 * Reads a form-encoded Token Request for the pre-authorized code grant, as parsed into an object (or
 * `URLSearchParams`). Only the grant is checked here; the code, the transaction code and their attempt
 * limit are the caller's. Other parameters (`client_id`, `authorization_details`) are ignored.
 */
export function parseTokenRequest(body: unknown): TokenRequest {
  const get = reader(body);
  const grantType = get("grant_type");
  if (grantType === undefined) throw new OAuthError("invalid_request", "grant_type is required");
  if (grantType !== PRE_AUTHORIZED_GRANT) {
    throw new OAuthError("unsupported_grant_type", `only the ${PRE_AUTHORIZED_GRANT} grant is supported`);
  }
  const preAuthorizedCode = get("pre-authorized_code");
  if (preAuthorizedCode === undefined || preAuthorizedCode === "") {
    throw new OAuthError("invalid_request", "pre-authorized_code is required");
  }
  if (preAuthorizedCode.length > MAX_CODE_LENGTH) {
    throw new OAuthError("invalid_grant", "the pre-authorized code is unknown or expired");
  }
  const txCode = get("tx_code");
  if (txCode !== undefined && (txCode === "" || txCode.length > MAX_TX_CODE_LENGTH)) {
    throw new OAuthError("invalid_request", `tx_code must be 1 to ${MAX_TX_CODE_LENGTH} characters`);
  }
  return { preAuthorizedCode, txCode };
}

/** A getter for single-valued parameters; RFC 6749 §3.2 forbids repeating one. */
function reader(body: unknown): (name: string) => string | undefined {
  if (body instanceof URLSearchParams) {
    return (name) => {
      const values = body.getAll(name);
      if (values.length > 1) throw new OAuthError("invalid_request", `${name} must not be repeated`);
      return values[0];
    };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded");
  }
  const fields = body as Record<string, unknown>;
  return (name) => {
    const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (value === undefined || typeof value === "string") return value;
    if (Array.isArray(value)) throw new OAuthError("invalid_request", `${name} must not be repeated`);
    throw new OAuthError("invalid_request", `${name} must be a string`);
  };
}
