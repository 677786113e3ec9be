import type { ConnectorPresence, ConnectorPresenceRepository } from "../../../ports/storage.ts";
import {
  type ConnectorPresenceRow,
  PRESENCE_SELECT,
  toConnectorPresence,
} from "../rows/connector-presence-row.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/** Which persons each connector last found in its source, on SQLite. */
export class SqliteConnectorPresenceRepository implements ConnectorPresenceRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async markSeen(
    connector: string,
    organisationId: string,
    personIds: readonly number[],
    runId: number,
    at: string,
  ): Promise<void> {
    if (personIds.length === 0) return;
    // One statement for the batch. `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the
    // INSERT, not to a join of the SELECT.
    this.#db.run(
      `INSERT INTO connector_presence (connector, organisation_id, person_id, run_id, seen_at, missing_since)
       SELECT ?, ?, value, ?, ?, NULL FROM json_each(?) WHERE true
       ON CONFLICT (connector, organisation_id, person_id)
       DO UPDATE SET run_id = excluded.run_id, seen_at = excluded.seen_at, missing_since = NULL`,
      connector,
      organisationId,
      runId,
      at,
      JSON.stringify(personIds),
    );
  }

  async markMissing(
    connector: string,
    organisationId: string,
    seenBefore: string,
    at: string,
  ): Promise<number> {
    this.#db.run(
      `UPDATE connector_presence SET missing_since = ?
       WHERE connector = ? AND organisation_id = ? AND seen_at < ? AND missing_since IS NULL`,
      at,
      connector,
      organisationId,
      seenBefore,
    );
    return (
      this.#db.get<{ n: number }>(
        `SELECT count(*) AS n FROM connector_presence
         WHERE connector = ? AND organisation_id = ? AND seen_at < ? AND missing_since IS NOT NULL`,
        connector,
        organisationId,
        seenBefore,
      )?.n ?? 0
    );
  }

  async listMissing(
    connector: string,
    organisationId: string,
    seenBefore: string,
    missingSince: string,
    limit: number,
  ): Promise<ConnectorPresence[]> {
    return this.#db
      .all<ConnectorPresenceRow>(
        `${PRESENCE_SELECT} WHERE c.connector = ? AND c.organisation_id = ? AND c.seen_at < ?
           AND c.missing_since <= ? ORDER BY c.person_id LIMIT ?`,
        connector,
        organisationId,
        seenBefore,
        missingSince,
        limit,
      )
      .map(toConnectorPresence);
  }

  async list(
    connector: string,
    organisationId: string,
    afterPersonId: number,
    limit: number,
  ): Promise<ConnectorPresence[]> {
    return this.#db
      .all<ConnectorPresenceRow>(
        `${PRESENCE_SELECT} WHERE c.connector = ? AND c.organisation_id = ? AND c.person_id > ?
         ORDER BY c.person_id LIMIT ?`,
        connector,
        organisationId,
        afterPersonId,
        limit,
      )
      .map(toConnectorPresence);
  }

  async forget(connector: string, organisationId: string, personIds: readonly number[]): Promise<void> {
    if (personIds.length === 0) return;
    this.#db.run(
      `DELETE FROM connector_presence WHERE connector = ? AND organisation_id = ?
       AND person_id IN (SELECT value FROM json_each(?))`,
      connector,
      organisationId,
      JSON.stringify(personIds),
    );
  }
}
