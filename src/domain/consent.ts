import type { Purpose } from "./purpose.ts";

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
