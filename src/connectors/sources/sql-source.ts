import { type RecordField, type RecordFields, recordFromFields } from "../record-fields.ts";
import type { Source, SourceItem } from "../source-record.ts";
import { checkColumnOptions, mapColumns } from "./sql/column-mapping.ts";
import { openMariadbRows } from "./sql/mariadb-rows.ts";
import { openPostgresRows } from "./sql/postgres-rows.ts";
import { readOnlyStatement } from "./sql/read-only-statement.ts";
import { parseSqlConnection, type SqlConnection, type SqlEngine } from "./sql/sql-connection.ts";
import type { OpenSqlRows, SqlReadSettings } from "./sql/sql-rows.ts";
import { SqlSourceError } from "./sql/sql-source-error.ts";

export type { SqlEngine } from "./sql/sql-connection.ts";
export { SqlSourceError, type SqlSourceFailure } from "./sql/sql-source-error.ts";

export interface SqlSourceOptions {
  readonly engine: SqlEngine;
  /** `postgres://user:pass@host:5432/db` or `mariadb://user:pass@host:3306/db` (`?ssl=true` for TLS). */
  readonly url: string;
  /** One read statement (SELECT, WITH, TABLE, VALUES), or the name of a view or table to read whole. */
  readonly query: string;
  /** The result column each record field is read from; by default the field's name, in any case. */
  readonly columns?: Partial<Record<RecordField, string>>;
  /** Rows per round trip on PostgreSQL (default 1000). */
  readonly batchSize?: number;
  /** Longest wait for the database at any one step: connecting, starting the query, each batch (default 30 s). */
  readonly timeoutMs?: number;
}

const ENGINES: Readonly<Record<SqlEngine, OpenSqlRows>> = {
  postgres: openPostgresRows,
  mariadb: openMariadbRows,
};
const DEFAULT_BATCH_SIZE = 1000;
const MAX_BATCH_SIZE = 100_000;
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Records from an SQL query on PostgreSQL or MariaDB, read-only twice over: the query must be one read
 * statement (checked before anything is sent), and it runs in a read-only transaction, so that the
 * database refuses a write a function or a `WITH` might hide. Rows stream (a cursor, a paused socket),
 * values are read as text (a DATE as the database wrote it, whatever the process's time zone), NULL is
 * "not given". Options are checked here, so that a bad query or mapping fails at start-up.
 *
 * ```ts
 * const source = new SqlSource({
 *   engine: "postgres",
 *   url: "postgres://esc_reader@sis.example.org/sis",
 *   query: "esc_students", // a view: SELECT * FROM "esc_students"
 *   columns: { esi: "student_esi", fullName: "display_name" },
 * });
 * for await (const item of source.items()) …
 * ```
 */
export class SqlSource implements Source {
  /** `sql:postgres://host:5432/db`: never the user or the password. */
  readonly description: string;
  readonly #connection: SqlConnection;
  readonly #statement: string;
  readonly #columns: Partial<Record<RecordField, string>>;
  readonly #settings: SqlReadSettings;

  constructor(options: SqlSourceOptions) {
    this.#connection = parseSqlConnection(options.engine, options.url);
    this.description = this.#connection.description;
    if (typeof options.query !== "string") throw new SqlSourceError("options", "query must be text");
    this.#statement = readOnlyStatement(options.query, options.engine);
    this.#columns = checkColumnOptions(options.columns);
    this.#settings = {
      batchSize: whole("batchSize", options.batchSize ?? DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE),
      timeoutMs: whole("timeoutMs", options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 24 * 3_600_000),
    };
  }

  async *items(): AsyncGenerator<SourceItem> {
    const result = await ENGINES[this.#connection.engine](this.#connection, this.#statement, this.#settings);
    try {
      const mapping = mapColumns(result.columns, this.#columns);
      let row = 0;
      for await (const values of result.rows()) {
        row += 1;
        const fields: RecordFields = {};
        for (const [field, position] of mapping.positions) fields[field] = values[position];
        yield recordFromFields(fields, { row }, mapping.rename);
      }
    } finally {
      await result.close();
    }
  }
}

function whole(name: string, value: unknown, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new SqlSourceError("options", `${name} must be a whole number from 1 to ${max}`);
  }
  return value;
}
