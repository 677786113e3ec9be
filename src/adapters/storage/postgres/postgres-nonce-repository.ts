import type { NonceRepository } from "../../../ports/storage.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

/**
 * `c_nonce` values on PostgreSQL: the same statements as on SQLite (`../sqlite/sqlite-nonce-repository.ts`).
 * Of two transactions consuming one nonce, the second waits on the first's delete and then finds no row.
 */
export class PostgresNonceRepository implements NonceRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async insert(value: string, expiresAt: string): Promise<void> {
    await this.#db.query("INSERT INTO credential_nonces (value, expires_at) VALUES ($1, $2)", [
      value,
      expiresAt,
    ]);
  }

  /** ISO timestamps compare as text, in JavaScript as in the store. */
  async consume(value: string, now: string): Promise<boolean> {
    const { rows } = await this.#db.query<{ expires_at: string }>(
      "DELETE FROM credential_nonces WHERE value = $1 RETURNING expires_at",
      [value],
    );
    const row = rows[0];
    return row !== undefined && row.expires_at > now;
  }

  async purgeExpiredBefore(before: string): Promise<number> {
    const result = await this.#db.query("DELETE FROM credential_nonces WHERE expires_at < $1", [before]);
    return result.rowCount ?? 0;
  }
}
