/** Issued credential rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { IssuedCredential } from "../../../domain/issued-credential.ts";
import type { Keyed } from "../../../ports/storage.ts";

/** bigint columns may arrive as strings from `pg` (ids stay below 2^53). */
export interface IssuedCredentialRow {
  seq: number | string;
  id: string;
  organisation_id: string;
  escn: string | null;
  person_id: number | string | null;
  key_id: string;
  status_list_id: number | string;
  status_index: number | string;
  holder_key_thumbprint: string;
  offer_id: string | null;
  issued_at: string;
  expires_at: string;
}

/** Every column of `issued_credentials`. */
export const ISSUED_CREDENTIAL_COLUMNS = `seq, id, organisation_id, escn, person_id, key_id, status_list_id, status_index,
  holder_key_thumbprint, offer_id, issued_at, expires_at`;

/** The columns a new credential writes, in the order of {@link issuedCredentialValues}; `seq` is generated. */
export const ISSUED_CREDENTIAL_INSERT_COLUMNS = `id, organisation_id, escn, person_id, key_id, status_list_id,
  status_index, holder_key_thumbprint, offer_id, issued_at, expires_at`;

/** The record without `seq`, which is only a keyset position. */
export const toIssuedCredential = (row: IssuedCredentialRow): IssuedCredential => ({
  id: row.id,
  organisationId: row.organisation_id,
  escn: row.escn,
  personId: row.person_id === null ? null : Number(row.person_id),
  keyId: row.key_id,
  statusListId: Number(row.status_list_id),
  statusIndex: Number(row.status_index),
  holderKeyThumbprint: row.holder_key_thumbprint,
  offerId: row.offer_id,
  issuedAt: row.issued_at,
  expiresAt: row.expires_at,
});

/** A keyset page from `limit + 1` rows ordered by `seq`: the extra row only tells that there is a next page. */
export function keyedCredentials(
  rows: readonly IssuedCredentialRow[],
  limit: number,
): Keyed<IssuedCredential> {
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return {
    items: rows.slice(0, limit).map(toIssuedCredential),
    next: last === undefined ? null : Number(last.seq),
  };
}

export function issuedCredentialValues(credential: IssuedCredential): unknown[] {
  return [
    credential.id,
    credential.organisationId,
    credential.escn,
    credential.personId,
    credential.keyId,
    credential.statusListId,
    credential.statusIndex,
    credential.holderKeyThumbprint,
    credential.offerId,
    credential.issuedAt,
    credential.expiresAt,
  ];
}
