/**
 * The one catalogue of failures the hub reports to the outside world.
 *
 * Every failure that can reach a client has a stable `code` from {@link ErrorCode}. The HTTP status is
 * chosen only at the edge (`src/http/plugins/error-responses.ts`); domain and services never speak HTTP.
 * Misuse by our own code is a plain `TypeError`, not an `OpenEscError`.
 */

/** What kind of failure a code is; the edge maps each kind to one HTTP status. */
export type ErrorKind =
  | "invalid" // the request is malformed or a value breaks a rule (400)
  | "unauthenticated" // no credential, or an unknown, revoked or expired one (401)
  | "forbidden" // the credential is fine but may not do this (403)
  | "not-found" // nothing the caller may see answers to that identifier (404)
  | "conflict" // the change collides with the current state (409)
  | "precondition" // a version precondition (If-Match) no longer holds (412)
  | "too-large" // the body is larger than the hub accepts (413)
  | "unsupported-media" // the body's media type is not accepted (415)
  | "not-acceptable" // no representation matches the Accept header (406)
  | "unavailable" // a dependency is down; try again later (503)
  | "internal"; // a bug on our side; details are logged, never sent (500)

/** Stable codes, with the kind of each. Documented one by one in `docs/errors.md` (a test checks it). */
export const ERROR_CODES = {
  VALIDATION_FAILED: "invalid",
  INVALID_JSON: "invalid",
  ESCN_INVALID: "invalid",
  ESI_INVALID: "invalid",
  PIC_INVALID: "invalid",
  VAT_NUMBER_INVALID: "invalid",
  SCHAC_INVALID: "invalid",
  ERASMUS_CODE_INVALID: "invalid",
  COUNTRY_INVALID: "invalid",
  CARD_TYPE_INVALID: "invalid",
  ACADEMIC_LEVEL_INVALID: "invalid",
  DATE_INVALID: "invalid",
  DATE_RANGE_INVALID: "invalid",
  COLOR_INVALID: "invalid",
  ORGANISATION_ID_INVALID: "invalid",
  ESCN_PIC_MISMATCH: "invalid",
  ISSUER_UNKNOWN: "invalid",
  PROCESSOR_UNKNOWN: "invalid",
  PERSON_NOT_LINKED: "invalid",
  PAGE_SIZE_TOO_LARGE: "invalid",
  PAGE_INVALID: "invalid",
  SORT_INVALID: "invalid",
  CURSOR_INVALID: "invalid",
  ESCN_BATCH_TOO_LARGE: "invalid",
  QR_OPTION_INVALID: "invalid",
  TOKEN_EXPIRY_INVALID: "invalid",
  PURPOSE_UNKNOWN: "invalid",
  PURPOSE_NOT_CONSENT_BASED: "invalid",
  CONSENT_WORDING_UNKNOWN: "invalid",
  WEBHOOK_URL_INVALID: "invalid",
  EVENT_TYPE_UNKNOWN: "invalid",
  CARD_SET_TOO_LARGE: "invalid",
  ISSUER_KEY_INVALID: "invalid",
  CERTIFICATE_CHAIN_INVALID: "invalid",
  UNAUTHENTICATED: "unauthenticated",
  TOKEN_INVALID: "unauthenticated",
  TOKEN_EXPIRED: "unauthenticated",
  TOKEN_REVOKED: "unauthenticated",
  FORBIDDEN: "forbidden",
  SCOPE_MISSING: "forbidden",
  NOT_FOUND: "not-found",
  ORGANISATION_NOT_FOUND: "not-found",
  PERSON_NOT_FOUND: "not-found",
  CARD_NOT_FOUND: "not-found",
  STUDENT_STATUS_NOT_FOUND: "not-found",
  TOKEN_NOT_FOUND: "not-found",
  SUBSCRIPTION_NOT_FOUND: "not-found",
  DELIVERY_NOT_FOUND: "not-found",
  ROUTE_NOT_FOUND: "not-found",
  CREDENTIAL_OFFER_NOT_FOUND: "not-found",
  MIRROR_NOT_FOUND: "not-found",
  CONNECTOR_RUN_NOT_FOUND: "not-found",
  ORGANISATION_EXISTS: "conflict",
  PERSON_EXISTS: "conflict",
  CARD_EXISTS: "conflict",
  PERSON_HAS_CARDS: "conflict",
  CONSENT_NOT_GIVEN: "conflict",
  CARD_NOT_VALID: "conflict",
  ISSUER_KEY_CONFLICT: "conflict",
  VERSION_MISMATCH: "precondition",
  BODY_TOO_LARGE: "too-large",
  MEDIA_TYPE_UNSUPPORTED: "unsupported-media",
  NOT_ACCEPTABLE: "not-acceptable",
  STORE_UNAVAILABLE: "unavailable",
  CREDENTIALS_UNAVAILABLE: "unavailable",
  INTERNAL_ERROR: "internal",
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One field-level problem: which field (a JSON pointer or a parameter name) and why. */
export interface FieldIssue {
  readonly field: string;
  readonly reason: string;
}

/** Base of every failure reported to clients. */
export class OpenEscError extends Error {
  readonly code: ErrorCode;
  readonly issues: readonly FieldIssue[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: readonly FieldIssue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OpenEscError";
    this.code = code;
    this.issues = options.issues ?? [];
  }

  get kind(): ErrorKind {
    return ERROR_CODES[this.code];
  }
}

/**
 * A value from outside broke a rule. `field` names where it came from so the client can fix it;
 * the message says why.
 */
export class InvalidValueError extends OpenEscError {
  readonly field: string;

  constructor(code: ErrorCode, field: string, reason: string) {
    super(code, `${field}: ${reason}`, { issues: [{ field, reason }] });
    this.name = "InvalidValueError";
    this.field = field;
  }

  /** The same problem reported against another field name (a parser does not know where its input came from). */
  at(field: string): InvalidValueError {
    return new InvalidValueError(this.code, field, this.issues[0]?.reason ?? this.message);
  }
}

export class ValidationError extends OpenEscError {
  constructor(issues: readonly FieldIssue[]) {
    const first = issues[0];
    super("VALIDATION_FAILED", first ? `${first.field}: ${first.reason}` : "the request is not valid", {
      issues,
    });
    this.name = "ValidationError";
  }
}

export class NotFoundError extends OpenEscError {
  constructor(code: ErrorCode = "NOT_FOUND", message = "not found") {
    super(code, message);
    this.name = "NotFoundError";
  }
}

export class ConflictError extends OpenEscError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = "ConflictError";
  }
}

export class ForbiddenError extends OpenEscError {
  constructor(message = "this credential may not do that", code: ErrorCode = "FORBIDDEN") {
    super(code, message);
    this.name = "ForbiddenError";
  }
}

export class UnauthenticatedError extends OpenEscError {
  constructor(code: ErrorCode = "UNAUTHENTICATED", message = "a valid bearer token is required") {
    super(code, message);
    this.name = "UnauthenticatedError";
  }
}

export class PreconditionFailedError extends OpenEscError {
  constructor(message = "the resource changed since the version given in If-Match") {
    super("VERSION_MISMATCH", message);
    this.name = "PreconditionFailedError";
  }
}

export class UnavailableError extends OpenEscError {
  constructor(message = "the store is unavailable, try again shortly", cause?: unknown) {
    super("STORE_UNAVAILABLE", message, { cause });
    this.name = "UnavailableError";
  }
}

/** Whether `value` is a failure meant for clients (as opposed to a bug). */
export function isOpenEscError(value: unknown): value is OpenEscError {
  return value instanceof OpenEscError;
}
