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
import type { SqliteConnection } from "./sqlite-connection.ts";

const SET_COUNTS = COUNT_COLUMNS.map((c) => `${c} = ?`).join(", ");

/** The record of connector runs on SQLite. */
export class SqliteConnectorRunRepository implements ConnectorRunRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async start(run: NewConnectorRun): Promise<ConnectorRun> {
    const row = this.#db.get<ConnectorRunRow>(
      `INSERT INTO connector_runs (connector, organisation_id, source, state, started_at)
       VALUES (?, ?, ?, 'running', ?) RETURNING *`,
      run.connector,
      run.organisationId,
      run.source,
      run.startedAt,
    );
    if (!row) throw new TypeError("the run was not recorded");
    return toConnectorRun(row);
  }

  async recordCounts(id: number, counts: ConnectorRunCounts): Promise<void> {
    this.#db.run(`UPDATE connector_runs SET ${SET_COUNTS} WHERE id = ?`, ...countValues(counts), id);
  }

  async finish(
    id: number,
    state: Exclude<ConnectorRunState, "running">,
    counts: ConnectorRunCounts,
    at: string,
    error: string | null,
  ): Promise<void> {
    this.#db.run(
      `UPDATE connector_runs SET state = ?, finished_at = ?, error = ?, ${SET_COUNTS} WHERE id = ?`,
      state,
      at,
      error,
      ...countValues(counts),
      id,
    );
  }

  async find(id: number): Promise<ConnectorRun | undefined> {
    const row = this.#db.get<ConnectorRunRow>("SELECT * FROM connector_runs WHERE id = ?", id);
    return row && toConnectorRun(row);
  }

  async listRecent(connector: string, organisationId: string, limit: number): Promise<ConnectorRun[]> {
    return this.#db
      .all<ConnectorRunRow>(
        `SELECT * FROM connector_runs WHERE connector = ? AND organisation_id = ? ORDER BY id DESC LIMIT ?`,
        connector,
        organisationId,
        limit,
      )
      .map(toConnectorRun);
  }

  async listByOrganisation(
    organisationId: string,
    connector: string | null,
    page: KeysetPage,
  ): Promise<Keyed<ConnectorRun>> {
    // One row more than the page tells whether there is a next one.
    const rows = this.#db.all<ConnectorRunRow>(
      `SELECT * FROM connector_runs
       WHERE organisation_id = ? AND (? IS NULL OR connector = ?) AND (? = 0 OR id < ?)
       ORDER BY id DESC LIMIT ?`,
      organisationId,
      connector,
      connector,
      page.after,
      page.after,
      page.limit + 1,
    );
    return pageOfRuns(rows.map(toConnectorRun), page.limit);
  }
}
