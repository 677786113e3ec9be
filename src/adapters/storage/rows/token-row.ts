/** API token rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { Scope } from "../../../domain/api-token.ts";
import type { StoredToken } from "../../../ports/storage.ts";

export interface TokenRow {
  id: string;
  organisation_id: string;
  name: string;
  hash: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** The columns of `api_tokens`, in the order of {@link tokenInsertValues}. */
export const TOKEN_COLUMNS = "id, organisation_id, name, hash, scopes, created_at, expires_at, revoked_at";

export function toToken(row: TokenRow): StoredToken {
  return {
    id: row.id,
    organisationId: row.organisation_id,
    name: row.name,
    hash: row.hash,
    scopes: JSON.parse(row.scopes) as Scope[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

export function tokenInsertValues(token: StoredToken): unknown[] {
  return [
    token.id,
    token.organisationId,
    token.name,
    token.hash,
    JSON.stringify(token.scopes),
    token.createdAt,
    token.expiresAt,
    token.revokedAt,
  ];
}
