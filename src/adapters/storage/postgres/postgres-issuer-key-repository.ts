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
import { type PostgresQueryable, params } from "./postgres-connection.ts";

/**
 * Issuer keys on PostgreSQL: the same statements as on SQLite (`../sqlite/sqlite-issuer-key-repository.ts`).
 * `ON CONFLICT DO NOTHING` makes a refused insert answer false without aborting the caller's transaction;
 * a second active key inserted while the first is not yet committed waits for that commit, then is refused.
 */
export class PostgresIssuerKeyRepository implements IssuerKeyRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async insert(key: IssuerKeyRecord): Promise<boolean> {
    const result = await this.#db.query(
      `INSERT INTO issuer_keys (${ISSUER_KEY_COLUMNS}) VALUES (${params(11)}) ON CONFLICT DO NOTHING`,
      issuerKeyValues(key),
    );
    return result.rowCount === 1;
  }

  async find(id: string): Promise<IssuerKeyRecord | undefined> {
    const { rows } = await this.#db.query<IssuerKeyRow>(
      `SELECT ${ISSUER_KEY_COLUMNS} FROM issuer_keys WHERE id = $1`,
      [id],
    );
    return rows[0] && toIssuerKey(rows[0]);
  }

  async findActive(organisationId: string | null): Promise<IssuerKeyRecord | undefined> {
    const { rows } = await this.#db.query<IssuerKeyRow>(
      `SELECT ${ISSUER_KEY_COLUMNS} FROM issuer_keys WHERE ${SLOT} = $1 AND state = 'active'`,
      [slotOf(organisationId)],
    );
    return rows[0] && toIssuerKey(rows[0]);
  }

  async listForOrganisation(organisationId: string | null): Promise<IssuerKeyRecord[]> {
    const { rows } = await this.#db.query<IssuerKeyRow>(
      `SELECT ${ISSUER_KEY_COLUMNS} FROM issuer_keys WHERE ${SLOT} = $1
       ORDER BY created_at DESC, id COLLATE "C" DESC`,
      [slotOf(organisationId)],
    );
    return rows.map(toIssuerKey);
  }

  async retireActive(organisationId: string | null, at: string): Promise<number> {
    const result = await this.#db.query(
      `UPDATE issuer_keys SET state = 'retired', retired_at = $1 WHERE ${SLOT} = $2 AND state = 'active'`,
      [at, slotOf(organisationId)],
    );
    return result.rowCount ?? 0;
  }

  async extendPublishedUntil(id: string, until: string): Promise<void> {
    await this.#db.query(
      "UPDATE issuer_keys SET published_until = $2 WHERE id = $1 AND (published_until IS NULL OR published_until < $2)",
      [id, until],
    );
  }

  async purgeRetiredBefore(before: string): Promise<number> {
    const result = await this.#db.query(
      "DELETE FROM issuer_keys WHERE state = 'retired' AND COALESCE(published_until, retired_at) < $1",
      [before],
    );
    return result.rowCount ?? 0;
  }
}
