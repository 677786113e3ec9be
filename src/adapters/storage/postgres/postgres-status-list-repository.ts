import type { StatusListRecord } from "../../../domain/status-list-record.ts";
import type { NewStatusList, StatusListEntries, StatusListRepository } from "../../../ports/storage.ts";
import {
  asBlob,
  ENTRIES_FIT,
  entriesLength,
  entriesOf,
  newStatusList,
  STATUS_LIST_COLUMNS,
  STATUS_LIST_INSERT_COLUMNS,
  STATUS_LIST_WITH_ENTRIES,
  type StatusListRow,
  statusListInsertValues,
  toStatusList,
} from "../rows/status-list-row.ts";
import { type PostgresQueryable, params } from "./postgres-connection.ts";

const SELECT = `SELECT ${STATUS_LIST_COLUMNS} FROM status_lists`;

/**
 * Token Status Lists on PostgreSQL: the same statements as on SQLite (`../sqlite/sqlite-status-list-repository.ts`).
 * `findEntriesForUpdate` locks the list and its entries (`FOR UPDATE`); every other change of a list
 * updates its row, so it waits for that lock too.
 */
export class PostgresStatusListRepository implements StatusListRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  /** One statement for the list and its zeroed entries, which the server makes (up to 1 MB not sent). */
  async insert(list: NewStatusList): Promise<StatusListRecord> {
    const { rows } = await this.#db.query<{ id: number | string }>(
      `WITH list AS (
         INSERT INTO status_lists (${STATUS_LIST_INSERT_COLUMNS}) VALUES (${params(9)}) RETURNING id
       )
       INSERT INTO status_list_entries (list_id, entries)
       SELECT id, decode(repeat('00', $10::integer), 'hex') FROM list
       RETURNING list_id AS id`,
      [...statusListInsertValues(list), entriesLength(list)],
    );
    return newStatusList(Number(rows[0]?.id), list);
  }

  async find(id: number): Promise<StatusListRecord | undefined> {
    const { rows } = await this.#db.query<StatusListRow>(`${SELECT} WHERE id = $1`, [id]);
    return rows[0] && toStatusList(rows[0]);
  }

  async findOpen(organisationId: string): Promise<StatusListRecord | undefined> {
    const { rows } = await this.#db.query<StatusListRow>(
      `${SELECT} WHERE organisation_id = $1 AND state = 'open' ORDER BY size - allocated DESC, id LIMIT 1`,
      [organisationId],
    );
    return rows[0] && toStatusList(rows[0]);
  }

  async findEntriesForUpdate(id: number): Promise<StatusListEntries | undefined> {
    const { rows } = await this.#db.query<StatusListRow & { entries: Buffer }>(
      `${STATUS_LIST_WITH_ENTRIES} WHERE l.id = $1 FOR UPDATE`,
      [id],
    );
    const row = rows[0];
    return row && { record: toStatusList(row), bytes: entriesOf(row.entries) };
  }

  async saveEntries(id: number, bytes: Uint8Array, at: string): Promise<number> {
    const { rows } = await this.#db.query<{ version: number }>(
      `WITH list AS (
         UPDATE status_lists SET version = version + 1, updated_at = $2 WHERE id = $1 AND ${ENTRIES_FIT} = $3
         RETURNING id, version
       ), saved AS (
         UPDATE status_list_entries e SET entries = $4 FROM list WHERE e.list_id = list.id
       )
       SELECT version FROM list`,
      [id, at, bytes.byteLength, asBlob(bytes)],
    );
    const row = rows[0];
    if (!row) throw new TypeError(`no status list ${id} with entries of ${bytes.byteLength} bytes`);
    return row.version;
  }

  async countAllocation(id: number, fullAt: number, at: string): Promise<void> {
    await this.#db.query(
      `UPDATE status_lists SET allocated = allocated + 1,
        state = CASE WHEN allocated + 1 >= $2 THEN 'full' ELSE state END, updated_at = $3
       WHERE id = $1`,
      [id, fullAt, at],
    );
  }

  async saveToken(id: number, signedVersion: number, token: string, expiresAt: string): Promise<boolean> {
    const result = await this.#db.query(
      `UPDATE status_lists SET token = $3, token_expires_at = $4, signed_version = $2
       WHERE id = $1 AND signed_version <= $2`,
      [id, signedVersion, token, expiresAt],
    );
    return result.rowCount === 1;
  }

  async listToSign(expiringBefore: string, limit: number): Promise<StatusListRecord[]> {
    const { rows } = await this.#db.query<StatusListRow>(
      `${SELECT} WHERE token IS NULL OR version > signed_version OR token_expires_at < $1 ORDER BY id LIMIT $2`,
      [expiringBefore, limit],
    );
    return rows.map(toStatusList);
  }

  async listForOrganisation(organisationId: string): Promise<StatusListRecord[]> {
    const { rows } = await this.#db.query<StatusListRow>(`${SELECT} WHERE organisation_id = $1 ORDER BY id`, [
      organisationId,
    ]);
    return rows.map(toStatusList);
  }
}
