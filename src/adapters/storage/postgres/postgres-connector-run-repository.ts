import type {
  ConnectorRun,
  ConnectorRunCounts,
  ConnectorRunRepository,
  ConnectorRunState,
  Keyed,
  KeysetPage,
  NewConnectorRun,
} from "../../../ports/storage.ts";
import {
  COUNT_COLUMNS,
  type ConnectorRunRow,
  countValues,
  pageOfRuns,
  toConnectorRun,
} from "../rows/connector-run-row.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

/** `rows_read = $2, created = $3, …`: the counts after `offset` other parameters. */
const setCounts = (offset: number) => COUNT_COLUMNS.map((c, i) => `${c} = $${offset + i + 1}`).join(", ");

/** The record of connector runs on PostgreSQL: the same statements as on SQLite. */
export class PostgresConnectorRunRepository implements ConnectorRunRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async start(run: NewConnectorRun): Promise<ConnectorRun> {
    const { rows } = await this.#db.query<ConnectorRunRow>(
      `INSERT INTO connector_runs (connector, organisation_id, source, state, started_at)
       VALUES ($1, $2, $3, 'running', $4) RETURNING *`,
      [run.connector, run.organisationId, run.source, run.startedAt],
    );
    if (!rows[0]) throw new TypeError("the run was not recorded");
    return toConnectorRun(rows[0]);
  }

  async recordCounts(id: number, counts: ConnectorRunCounts): Promise<void> {
    await this.#db.query(`UPDATE connector_runs SET ${setCounts(1)} WHERE id = $1`, [
      id,
      ...countValues(counts),
    ]);
  }

  async finish(
    id: number,
    state: Exclude<ConnectorRunState, "running">,
    counts: ConnectorRunCounts,
    at: string,
    error: string | null,
  ): Promise<void> {
    await this.#db.query(
      `UPDATE connector_runs SET state = $2, finished_at = $3, error = $4, ${setCounts(4)} WHERE id = $1`,
      [id, state, at, error, ...countValues(counts)],
    );
  }

  async find(id: number): Promise<ConnectorRun | undefined> {
    const { rows } = await this.#db.query<ConnectorRunRow>("SELECT * FROM connector_runs WHERE id = $1", [
      id,
    ]);
    return rows[0] && toConnectorRun(rows[0]);
  }

  async listRecent(connector: string, organisationId: string, limit: number): Promise<ConnectorRun[]> {
    const { rows } = await this.#db.query<ConnectorRunRow>(
      `SELECT * FROM connector_runs WHERE connector = $1 AND organisation_id = $2 ORDER BY id DESC LIMIT $3`,
      [connector, organisationId, limit],
    );
    return rows.map(toConnectorRun);
  }

  async listByOrganisation(
    organisationId: string,
    connector: string | null,
    page: KeysetPage,
  ): Promise<Keyed<ConnectorRun>> {
    // One row more than the page tells whether there is a next one.
    const { rows } = await this.#db.query<ConnectorRunRow>(
      `SELECT * FROM connector_runs
       WHERE organisation_id = $1 AND ($2::text IS NULL OR connector = $2) AND ($3::bigint = 0 OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [organisationId, connector, page.after, page.limit + 1],
    );
    return pageOfRuns(rows.map(toConnectorRun), page.limit);
  }
}
