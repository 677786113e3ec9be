/** Credential offer rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { CredentialOffer, CredentialOfferState } from "../../../domain/credential-offer.ts";

export interface CredentialOfferRow {
  id: string;
  organisation_id: string;
  escn: string;
  /** bigint: `pg` may answer it as a string. */
  person_id: number | string;
  pre_authorized_code_hash: string;
  tx_code_hash: string | null;
  tx_code_length: number | null;
  failed_tx_code_attempts: number;
  state: CredentialOfferState;
  access_token_hash: string | null;
  access_token_expires_at: string | null;
  created_at: string;
  expires_at: string;
  redeemed_at: string | null;
  version: number;
}

/** The columns of `credential_offers`, in the order of {@link credentialOfferInsertValues}. */
export const CREDENTIAL_OFFER_COLUMNS = `id, organisation_id, escn, person_id, pre_authorized_code_hash, tx_code_hash,
  tx_code_length, failed_tx_code_attempts, state, access_token_hash, access_token_expires_at, created_at, expires_at,
  redeemed_at, version`;

export const toCredentialOffer = (row: CredentialOfferRow): CredentialOffer => ({
  id: row.id,
  organisationId: row.organisation_id,
  escn: row.escn,
  personId: Number(row.person_id),
  preAuthorizedCodeHash: row.pre_authorized_code_hash,
  txCodeHash: row.tx_code_hash,
  txCodeLength: row.tx_code_length,
  failedTxCodeAttempts: row.failed_tx_code_attempts,
  state: row.state,
  accessTokenHash: row.access_token_hash,
  accessTokenExpiresAt: row.access_token_expires_at,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  redeemedAt: row.redeemed_at,
  version: row.version,
});

/** The values of {@link CREDENTIAL_OFFER_COLUMNS} for a new offer (version 1). */
export function credentialOfferInsertValues(offer: Omit<CredentialOffer, "version">): unknown[] {
  return [
    offer.id,
    offer.organisationId,
    offer.escn,
    offer.personId,
    offer.preAuthorizedCodeHash,
    offer.txCodeHash,
    offer.txCodeLength,
    offer.failedTxCodeAttempts,
    offer.state,
    offer.accessTokenHash,
    offer.accessTokenExpiresAt,
    offer.createdAt,
    offer.expiresAt,
    offer.redeemedAt,
    1,
  ];
}

/** The values of an update: the changeable columns `state … redeemed_at`, then `id` and `version`. */
export function credentialOfferUpdateValues(offer: CredentialOffer): unknown[] {
  return [
    offer.state,
    offer.failedTxCodeAttempts,
    offer.accessTokenHash,
    offer.accessTokenExpiresAt,
    offer.redeemedAt,
    offer.preAuthorizedCodeHash,
    offer.id,
    offer.version,
  ];
}
