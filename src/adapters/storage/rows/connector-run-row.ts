/** Connector run rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { ConnectorRun, ConnectorRunCounts, ConnectorRunState, Keyed } from "../../../ports/storage.ts";

/** bigint columns may arrive as strings from `pg` (all stay far below 2^53). */
export interface ConnectorRunRow {
  id: number | string;
  connector: string;
  organisation_id: string;
  source: string;
  state: ConnectorRunState;
  started_at: string;
  finished_at: string | null;
  rows_read: number | string;
  created: number | string;
  updated: number | string;
  unchanged: number | string;
  missing: number | string;
  ended: number | string;
  rejected: number | string;
  error: string | null;
}

/** The count columns, in the order of {@link countValues}. */
export const COUNT_COLUMNS = [
  "rows_read",
  "created",
  "updated",
  "unchanged",
  "missing",
  "ended",
  "rejected",
] as const;

export function countValues(counts: ConnectorRunCounts): number[] {
  return [
    counts.rows,
    counts.created,
    counts.updated,
    counts.unchanged,
    counts.missing,
    counts.ended,
    counts.rejected,
  ];
}

export const toConnectorRun = (row: ConnectorRunRow): ConnectorRun => ({
  id: Number(row.id),
  connector: row.connector,
  organisationId: row.organisation_id,
  source: row.source,
  state: row.state,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  rows: Number(row.rows_read),
  created: Number(row.created),
  updated: Number(row.updated),
  unchanged: Number(row.unchanged),
  missing: Number(row.missing),
  ended: Number(row.ended),
  rejected: Number(row.rejected),
  error: row.error,
});

/** A page of runs newest first, from up to `limit + 1` rows: the extra one says that a next page exists. */
export function pageOfRuns(runs: readonly ConnectorRun[], limit: number): Keyed<ConnectorRun> {
  const items = runs.slice(0, limit);
  return { items, next: runs.length > limit ? (items.at(-1)?.id ?? null) : null };
}
