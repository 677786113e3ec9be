import type { IssuerKeyRecord } from "../../../domain/issuer-key-record.ts";
import type { IssuerKeyRepository } from "../../../ports/storage.ts";
import {
  ISSUER_KEY_COLUMNS,
  type IssuerKeyRow,
  issuerKeyValues,
  SLOT,
  slotOf,
  toIssuerKey,
} from "../rows/issuer-key-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

/**
 * Issuer keys on SQLite. `insert` leaves the row out (false) on any uniqueness conflict: a second active key
 * of the same organisation (the unique index `issuer_keys_active`), or a key already stored under the same
 * id, which, the id being the key's thumbprint, is the same key.
 */
export class SqliteIssuerKeyRepository implements IssuerKeyRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async insert(key: IssuerKeyRecord): Promise<boolean> {
    const result = this.#db.run(
      `INSERT INTO issuer_keys (${ISSUER_KEY_COLUMNS}) VALUES (${placeholders(11)}) ON CONFLICT DO NOTHING`,
      ...issuerKeyValues(key),
    );
    return result.changes === 1;
  }

  async find(id: string): Promise<IssuerKeyRecord | undefined> {
    const row = this.#db.get<IssuerKeyRow>(`SELECT ${ISSUER_KEY_COLUMNS} FROM issuer_keys WHERE id = ?`, id);
    return row && toIssuerKey(row);
  }

  async findActive(organisationId: string | null): Promise<IssuerKeyRecord | undefined> {
    const row = this.#db.get<IssuerKeyRow>(
      `SELECT ${ISSUER_KEY_COLUMNS} FROM issuer_keys WHERE ${SLOT} = ? AND state = 'active'`,
      slotOf(organisationId),
    );
    return row && toIssuerKey(row);
  }

  async listForOrganisation(organisationId: string | null): Promise<IssuerKeyRecord[]> {
    return this.#db
      .all<IssuerKeyRow>(
        `SELECT ${ISSUER_KEY_COLUMNS} FROM issuer_keys WHERE ${SLOT} = ? ORDER BY created_at DESC, id DESC`,
        slotOf(organisationId),
      )
      .map(toIssuerKey);
  }

  async retireActive(organisationId: string | null, at: string): Promise<number> {
    return this.#db.run(
      `UPDATE issuer_keys SET state = 'retired', retired_at = ? WHERE ${SLOT} = ? AND state = 'active'`,
      at,
      slotOf(organisationId),
    ).changes;
  }

  async extendPublishedUntil(id: string, until: string): Promise<void> {
    this.#db.run(
      "UPDATE issuer_keys SET published_until = ? WHERE id = ? AND (published_until IS NULL OR published_until < ?)",
      until,
      id,
      until,
    );
  }

  async purgeRetiredBefore(before: string): Promise<number> {
    return this.#db.run(
      "DELETE FROM issuer_keys WHERE state = 'retired' AND COALESCE(published_until, retired_at) < ?",
      before,
    ).changes;
  }
}
