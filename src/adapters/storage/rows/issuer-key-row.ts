/** Issuer key rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { JWK } from "jose";
import type {
  IssuerKeyAlgorithm,
  IssuerKeyOrigin,
  IssuerKeyRecord,
  IssuerKeyState,
} from "../../../domain/issuer-key-record.ts";

export interface IssuerKeyRow {
  id: string;
  organisation_id: string | null;
  alg: IssuerKeyAlgorithm;
  /** The JWK as JSON text (text on PostgreSQL too: `pg` would parse a `jsonb` column itself). */
  public_jwk: string;
  sealed_private_key: string;
  /** A JSON array of base64 certificates. */
  certificate_chain: string;
  origin: IssuerKeyOrigin;
  state: IssuerKeyState;
  created_at: string;
  retired_at: string | null;
  published_until: string | null;
}

/** The columns of `issuer_keys`, in the order of {@link issuerKeyValues}. */
export const ISSUER_KEY_COLUMNS = `id, organisation_id, alg, public_jwk, sealed_private_key, certificate_chain, origin,
  state, created_at, retired_at, published_until`;

/**
 * The key of an organisation's slot in the one-active-key index, `COALESCE(organisation_id, '')`: the CA
 * (organisation null) has a slot of its own, the empty string, which no organisation id can be.
 */
export const SLOT = "COALESCE(organisation_id, '')";

/** The slot parameter of an organisation, or of the CA for null; an empty organisation id would be the CA's. */
export function slotOf(organisationId: string | null): string {
  if (organisationId === "") throw new TypeError("an organisation id is never empty");
  return organisationId ?? "";
}

export const toIssuerKey = (row: IssuerKeyRow): IssuerKeyRecord => ({
  id: row.id,
  organisationId: row.organisation_id,
  alg: row.alg,
  publicJwk: JSON.parse(row.public_jwk) as JWK,
  sealedPrivateKey: row.sealed_private_key,
  certificateChain: JSON.parse(row.certificate_chain) as string[],
  origin: row.origin,
  state: row.state,
  createdAt: row.created_at,
  retiredAt: row.retired_at,
  publishedUntil: row.published_until,
});

export function issuerKeyValues(key: IssuerKeyRecord): unknown[] {
  return [
    key.id,
    key.organisationId,
    key.alg,
    JSON.stringify(key.publicJwk),
    key.sealedPrivateKey,
    JSON.stringify(key.certificateChain),
    key.origin,
    key.state,
    key.createdAt,
    key.retiredAt,
    key.publishedUntil,
  ];
}
