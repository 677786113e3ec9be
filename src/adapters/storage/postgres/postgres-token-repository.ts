import type { StoredToken, TokenRepository } from "../../../ports/storage.ts";
import { TOKEN_COLUMNS, type TokenRow, tokenInsertValues, toToken } from "../rows/token-row.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

/** API tokens on PostgreSQL: the same statements as on SQLite (`../sqlite/sqlite-token-repository.ts`). */
export class PostgresTokenRepository implements TokenRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async findByHash(hash: string): Promise<StoredToken | undefined> {
    const { rows } = await this.#db.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE hash = $1`,
      [hash],
    );
    return rows[0] && toToken(rows[0]);
  }

  async findById(id: string): Promise<StoredToken | undefined> {
    const { rows } = await this.#db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = $1`, [
      id,
    ]);
    return rows[0] && toToken(rows[0]);
  }

  async listByOrganisation(organisationId: string): Promise<StoredToken[]> {
    // COLLATE "C": byte order, as SQLite sorts text, whatever the database's locale.
    const { rows } = await this.#db.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE organisation_id = $1
       ORDER BY created_at COLLATE "C", id COLLATE "C"`,
      [organisationId],
    );
    return rows.map(toToken);
  }

  async insert(token: StoredToken): Promise<void> {
    await this.#db.query(
      `INSERT INTO api_tokens (${TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      tokenInsertValues(token),
    );
  }

  async revoke(id: string, at: string): Promise<void> {
    await this.#db.query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", [
      at,
      id,
    ]);
  }
}
