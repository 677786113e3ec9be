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
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

const SELECT = `SELECT ${STATUS_LIST_COLUMNS} FROM status_lists`;

/** Token Status Lists on SQLite; the entries are read only by `findEntriesForUpdate`. */
export class SqliteStatusListRepository implements StatusListRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async insert(list: NewStatusList): Promise<StatusListRecord> {
    const { lastInsertRowid } = this.#db.run(
      `INSERT INTO status_lists (${STATUS_LIST_INSERT_COLUMNS}) VALUES (${placeholders(9)})`,
      ...statusListInsertValues(list),
    );
    const id = Number(lastInsertRowid);
    this.#db.run(
      "INSERT INTO status_list_entries (list_id, entries) VALUES (?, zeroblob(?))",
      id,
      entriesLength(list),
    );
    return newStatusList(id, list);
  }

  async find(id: number): Promise<StatusListRecord | undefined> {
    const row = this.#db.get<StatusListRow>(`${SELECT} WHERE id = ?`, id);
    return row && toStatusList(row);
  }

  async findOpen(organisationId: string): Promise<StatusListRecord | undefined> {
    const row = this.#db.get<StatusListRow>(
      `${SELECT} WHERE organisation_id = ? AND state = 'open' ORDER BY size - allocated DESC, id LIMIT 1`,
      organisationId,
    );
    return row && toStatusList(row);
  }

  /** SQLite runs one writer at a time: a plain read is already as good as a lock. */
  async findEntriesForUpdate(id: number): Promise<StatusListEntries | undefined> {
    const row = this.#db.get<StatusListRow & { entries: Buffer }>(
      `${STATUS_LIST_WITH_ENTRIES} WHERE l.id = ?`,
      id,
    );
    return row && { record: toStatusList(row), bytes: entriesOf(row.entries) };
  }

  async saveEntries(id: number, bytes: Uint8Array, at: string): Promise<number> {
    const row = this.#db.get<{ version: number }>(
      `UPDATE status_lists SET version = version + 1, updated_at = ? WHERE id = ? AND ${ENTRIES_FIT} = ?
       RETURNING version`,
      at,
      id,
      bytes.byteLength,
    );
    if (!row) throw new TypeError(`no status list ${id} with entries of ${bytes.byteLength} bytes`);
    this.#db.run("UPDATE status_list_entries SET entries = ? WHERE list_id = ?", asBlob(bytes), id);
    return row.version;
  }

  async countAllocation(id: number, fullAt: number, at: string): Promise<void> {
    this.#db.run(
      `UPDATE status_lists SET allocated = allocated + 1,
        state = CASE WHEN allocated + 1 >= ? THEN 'full' ELSE state END, updated_at = ?
       WHERE id = ?`,
      fullAt,
      at,
      id,
    );
  }

  async saveToken(id: number, signedVersion: number, token: string, expiresAt: string): Promise<boolean> {
    return (
      this.#db.run(
        `UPDATE status_lists SET token = ?, token_expires_at = ?, signed_version = ?
         WHERE id = ? AND signed_version <= ?`,
        token,
        expiresAt,
        signedVersion,
        id,
        signedVersion,
      ).changes === 1
    );
  }

  async listToSign(expiringBefore: string, limit: number): Promise<StatusListRecord[]> {
    return this.#db
      .all<StatusListRow>(
        `${SELECT} WHERE token IS NULL OR version > signed_version OR token_expires_at < ? ORDER BY id LIMIT ?`,
        expiringBefore,
        limit,
      )
      .map(toStatusList);
  }

  async listForOrganisation(organisationId: string): Promise<StatusListRecord[]> {
    return this.#db
      .all<StatusListRow>(`${SELECT} WHERE organisation_id = ? ORDER BY id`, organisationId)
      .map(toStatusList);
  }
}
