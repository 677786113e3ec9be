import type { NonceRepository } from "../../../ports/storage.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/** `c_nonce` values on SQLite. */
export class SqliteNonceRepository implements NonceRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async insert(value: string, expiresAt: string): Promise<void> {
    this.#db.run("INSERT INTO credential_nonces (value, expires_at) VALUES (?, ?)", value, expiresAt);
  }

  /** ISO timestamps compare as text, in JavaScript as in the store. */
  async consume(value: string, now: string): Promise<boolean> {
    const row = this.#db.get<{ expires_at: string }>(
      "DELETE FROM credential_nonces WHERE value = ? RETURNING expires_at",
      value,
    );
    return row !== undefined && row.expires_at > now;
  }

  async purgeExpiredBefore(before: string): Promise<number> {
    return this.#db.run("DELETE FROM credential_nonces WHERE expires_at < ?", before).changes;
  }
}
