import type { Scope } from "../../../domain/api-token.ts";
import type { StoredToken, TokenRepository } from "../../../ports/storage.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

interface TokenRow {
  id: string;
  organisation_id: string;
  name: string;
  hash: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = "id, organisation_id, name, hash, scopes, created_at, expires_at, revoked_at";

function toToken(row: TokenRow): StoredToken {
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

export class SqliteTokenRepository implements TokenRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async findByHash(hash: string): Promise<StoredToken | undefined> {
    const row = this.#db.get<TokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE hash = ?`, hash);
    return row && toToken(row);
  }

  async findById(id: string): Promise<StoredToken | undefined> {
    const row = this.#db.get<TokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = ?`, id);
    return row && toToken(row);
  }

  async listByOrganisation(organisationId: string): Promise<StoredToken[]> {
    return this.#db
      .all<TokenRow>(
        `SELECT ${COLUMNS} FROM api_tokens WHERE organisation_id = ? ORDER BY created_at, id`,
        organisationId,
      )
      .map(toToken);
  }

  async insert(token: StoredToken): Promise<void> {
    this.#db.run(
      `INSERT INTO api_tokens (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      token.id,
      token.organisationId,
      token.name,
      token.hash,
      JSON.stringify(token.scopes),
      token.createdAt,
      token.expiresAt,
      token.revokedAt,
    );
  }

  async revoke(id: string, at: string): Promise<void> {
    this.#db.run("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", at, id);
  }
}
