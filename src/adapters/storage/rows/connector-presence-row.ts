/** Connector presence rows and their mapping, shared by the SQLite and PostgreSQL adapters. */
import type { ConnectorPresence } from "../../../ports/storage.ts";

export interface ConnectorPresenceRow {
  connector: string;
  organisation_id: string;
  /** bigint: `pg` may answer it as a string. */
  person_id: number | string;
  esi: string;
  esi_key: string;
  run_id: number | string;
  seen_at: string;
  missing_since: string | null;
}

/** Every presence column with the person's ESI; callers append their own `WHERE`. */
export const PRESENCE_SELECT = `SELECT c.connector, c.organisation_id, c.person_id, p.esi, p.esi_key, c.run_id,
  c.seen_at, c.missing_since FROM connector_presence c JOIN persons p ON p.id = c.person_id`;

export const toConnectorPresence = (row: ConnectorPresenceRow): ConnectorPresence => ({
  connector: row.connector,
  organisationId: row.organisation_id,
  personId: Number(row.person_id),
  esi: row.esi,
  esiKey: row.esi_key,
  runId: Number(row.run_id),
  seenAt: row.seen_at,
  missingSince: row.missing_since,
});
