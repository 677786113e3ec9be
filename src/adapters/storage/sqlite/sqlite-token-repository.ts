import type { StoredToken, TokenRepository } from "../../../ports/storage.ts";
import { TOKEN_COLUMNS, type TokenRow, tokenInsertValues, toToken } from "../rows/token-row.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

export class SqliteTokenRepository implements TokenRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async findByHash(hash: string): Promise<StoredToken | undefined> {
    const row = this.#db.get<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE hash = ?`, hash);
    return row && toToken(row);
  }

  async findById(id: string): Promise<StoredToken | undefined> {
    const row = this.#db.get<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = ?`, id);
    return row && toToken(row);
  }

  async listByOrganisation(organisationId: string): Promise<StoredToken[]> {
    return this.#db
      .all<TokenRow>(
        `SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE organisation_id = ? ORDER BY created_at, id`,
        organisationId,
      )
      .map(toToken);
  }

  async insert(token: StoredToken): Promise<void> {
    this.#db.run(
      `INSERT INTO api_tokens (${TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ...tokenInsertValues(token),
    );
  }

  async revoke(id: string, at: string): Promise<void> {
    this.#db.run("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", at, id);
  }
}
