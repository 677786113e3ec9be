/** Consent rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { Consent, ConsentState } from "../../../domain/consent.ts";
import type { Purpose } from "../../../domain/purpose.ts";

export interface ConsentRow {
  /** bigint: `pg` may answer it as a string. */
  person_id: number | string;
  purpose: Purpose;
  state: ConsentState;
  wording_version: string;
  recorded_by: string;
  given_at: string;
  withdrawn_at: string | null;
  updated_at: string;
}

/** The columns of `consents`, in the order of {@link consentValues}. */
export const CONSENT_COLUMNS =
  "person_id, purpose, state, wording_version, recorded_by, given_at, withdrawn_at, updated_at";

/** The upsert tail after `VALUES (…)`: a consent is replaced whole. */
export const CONSENT_ON_CONFLICT = `ON CONFLICT (person_id, purpose) DO UPDATE SET state = excluded.state, wording_version = excluded.wording_version,
         recorded_by = excluded.recorded_by, given_at = excluded.given_at, withdrawn_at = excluded.withdrawn_at,
         updated_at = excluded.updated_at`;

export const toConsent = (row: ConsentRow): Consent => ({
  personId: Number(row.person_id),
  purpose: row.purpose,
  state: row.state,
  wordingVersion: row.wording_version,
  recordedBy: row.recorded_by,
  givenAt: row.given_at,
  withdrawnAt: row.withdrawn_at,
  updatedAt: row.updated_at,
});

export function consentValues(consent: Consent): unknown[] {
  return [
    consent.personId,
    consent.purpose,
    consent.state,
    consent.wordingVersion,
    consent.recordedBy,
    consent.givenAt,
    consent.withdrawnAt,
    consent.updatedAt,
  ];
}
