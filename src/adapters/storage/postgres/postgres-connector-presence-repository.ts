import type { ConnectorPresence, ConnectorPresenceRepository } from "../../../ports/storage.ts";
import {
  type ConnectorPresenceRow,
  PRESENCE_SELECT,
  toConnectorPresence,
} from "../rows/connector-presence-row.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

/** Which persons each connector last found in its source, on PostgreSQL: the same statements as on SQLite. */
export class PostgresConnectorPresenceRepository implements ConnectorPresenceRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
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
    await this.#db.query(
      `INSERT INTO connector_presence (connector, organisation_id, person_id, run_id, seen_at, missing_since)
       SELECT $1, $2, id, $4, $5, NULL FROM unnest($3::bigint[]) AS id
       ON CONFLICT (connector, organisation_id, person_id)
       DO UPDATE SET run_id = excluded.run_id, seen_at = excluded.seen_at, missing_since = NULL`,
      [connector, organisationId, personIds, runId, at],
    );
  }

  async markMissing(
    connector: string,
    organisationId: string,
    seenBefore: string,
    at: string,
  ): Promise<number> {
    await this.#db.query(
      `UPDATE connector_presence SET missing_since = $4
       WHERE connector = $1 AND organisation_id = $2 AND seen_at < $3 AND missing_since IS NULL`,
      [connector, organisationId, seenBefore, at],
    );
    const { rows } = await this.#db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM connector_presence
       WHERE connector = $1 AND organisation_id = $2 AND seen_at < $3 AND missing_since IS NOT NULL`,
      [connector, organisationId, seenBefore],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async listMissing(
    connector: string,
    organisationId: string,
    seenBefore: string,
    missingSince: string,
    limit: number,
  ): Promise<ConnectorPresence[]> {
    const { rows } = await this.#db.query<ConnectorPresenceRow>(
      `${PRESENCE_SELECT} WHERE c.connector = $1 AND c.organisation_id = $2 AND c.seen_at < $3
         AND c.missing_since <= $4 ORDER BY c.person_id LIMIT $5`,
      [connector, organisationId, seenBefore, missingSince, limit],
    );
    return rows.map(toConnectorPresence);
  }

  async list(
    connector: string,
    organisationId: string,
    afterPersonId: number,
    limit: number,
  ): Promise<ConnectorPresence[]> {
    const { rows } = await this.#db.query<ConnectorPresenceRow>(
      `${PRESENCE_SELECT} WHERE c.connector = $1 AND c.organisation_id = $2 AND c.person_id > $3
       ORDER BY c.person_id LIMIT $4`,
      [connector, organisationId, afterPersonId, limit],
    );
    return rows.map(toConnectorPresence);
  }

  async forget(connector: string, organisationId: string, personIds: readonly number[]): Promise<void> {
    if (personIds.length === 0) return;
    await this.#db.query(
      `DELETE FROM connector_presence WHERE connector = $1 AND organisation_id = $2 AND person_id = ANY($3::bigint[])`,
      [connector, organisationId, personIds],
    );
  }
}
