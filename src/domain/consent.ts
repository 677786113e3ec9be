import { InvalidValueError } from "./errors.ts";
import { CONSENT_PURPOSES, isPurpose, PURPOSES, type Purpose } from "./purpose.ts";

/**
 * A student's consent to one purpose whose lawful basis is consent (`CONSENT_PURPOSES`), recorded through
 * the student's institution. The record keeps which wording the student agreed to and when; withdrawal
 * takes effect at once and is itself a recorded change.
 */
export type ConsentState = "given" | "withdrawn";

export interface Consent {
  readonly personId: number;
  readonly purpose: Purpose;
  readonly state: ConsentState;
  /** Version of the wording the student was shown (see `consent-wording.ts`). */
  readonly wordingVersion: string;
  /** The organisation through which the consent was given or withdrawn. */
  readonly recordedBy: string;
  readonly givenAt: string;
  readonly withdrawnAt: string | null;
  readonly updatedAt: string;
}

/** The purposes whose lawful basis is consent, as a type. */
export type ConsentPurpose = {
  [P in Purpose]: (typeof PURPOSES)[P]["basis"] extends "consent" ? P : never;
}[Purpose];

export function isConsentPurpose(value: unknown): value is ConsentPurpose {
  return isPurpose(value) && PURPOSES[value].basis === "consent";
}

/**
 * Reads the purpose a consent is about: `PURPOSE_UNKNOWN` for a name that is no purpose,
 * `PURPOSE_NOT_CONSENT_BASED` for a purpose whose lawful basis is not consent (no consent is asked for it).
 */
export function parseConsentPurpose(value: unknown, field = "purpose"): ConsentPurpose {
  if (!isPurpose(value)) {
    throw new InvalidValueError(
      "PURPOSE_UNKNOWN",
      field,
      `is not a purpose of the hub; consent is recorded for ${CONSENT_PURPOSES.join(", ")}`,
    );
  }
  if (!isConsentPurpose(value)) {
    throw new InvalidValueError(
      "PURPOSE_NOT_CONSENT_BASED",
      field,
      `the lawful basis of ${value} is ${PURPOSES[value].basis}, not consent`,
    );
  }
  return value;
}
