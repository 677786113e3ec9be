import pg from "pg";
import type { SqlConnection } from "./sql-connection.ts";
import { datePart, type OpenSqlRows, type SqlRow } from "./sql-rows.ts";
import { type DriverFailure, type SqlPhase, SqlSourceError, sqlFailure } from "./sql-source-error.ts";

/** Type OIDs (`pg_type`) of `timestamp` and `timestamptz`, read as their date part. */
const TIMESTAMP_TYPES = new Set([1114, 1184]);
const CURSOR = "openesc_source_rows";
/** Added to the server's statement timeout for the client's own, which catches a server gone silent. */
const CLIENT_GRACE_MS = 2000;

/**
 * Every value as the text PostgreSQL sent. Per client, since `pg.types.setTypeParser` would change every
 * other client in the process; and no `Date`, which would move a DATE by a day east or west of UTC.
 */
const TEXT_ONLY = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

interface Field {
  readonly name: string;
  readonly dataTypeID: number;
}
interface Result {
  readonly fields: readonly Field[];
  readonly rows: (string | null)[][];
}
/** The part of a `pg.Client` the source calls. */
interface Client {
  connect(): Promise<void>;
  query(config: { text: string; rowMode: "array"; queryMode?: "extended" }): Promise<Result>;
  end(): Promise<void>;
  on(event: "error", listener: (error: Error) => void): unknown;
}

/**
 * Reads a query from PostgreSQL in a `READ ONLY` transaction through a server-side cursor (`DECLARE …
 * CURSOR`, then `FETCH batchSize` at a time), so that memory holds one batch whatever the result's size.
 * `statement_timeout` bounds each statement on the server; the client's own timeout a dead connection.
 */
export const openPostgresRows: OpenSqlRows = async (connection, statement, { batchSize, timeoutMs }) => {
  const client = new pg.Client({
    connectionString: connection.url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs + CLIENT_GRACE_MS,
    types: TEXT_ONLY,
    application_name: "openesc-sql-source",
  }) as unknown as Client;
  // A connection that breaks fails the pending query, which reports it; the event must not crash the process.
  client.on("error", () => undefined);
  const fail = (phase: SqlPhase, error: unknown) =>
    error instanceof SqlSourceError
      ? error
      : sqlFailure(phase, connection.description, facts(connection, error), timeoutMs);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw fail("connect", error);
  }

  const run = (text: string, queryMode?: "extended") =>
    client.query(
      queryMode === undefined ? { text, rowMode: "array" } : { text, rowMode: "array", queryMode },
    );
  let open = true;
  let failed = false;
  const close = async () => {
    if (!open) return;
    open = false;
    // Ending the connection rolls back too; after a failure (a timeout, a broken socket) it is the only way.
    if (!failed) await run("ROLLBACK").catch(() => undefined);
    await client.end().catch(() => undefined);
  };
  const fetch = () => run(`FETCH FORWARD ${batchSize} FROM ${CURSOR}`);

  let first: Result;
  try {
    await run(
      `BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${timeoutMs}; SET LOCAL DateStyle = ISO, YMD`,
    );
    // The extended protocol: PostgreSQL itself refuses a second statement hidden in the query.
    await run(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${statement}`, "extended");
    first = await fetch();
  } catch (error) {
    failed = true;
    await close();
    throw fail("query", error);
  }
  const timestamps = first.fields.flatMap((field, i) => (TIMESTAMP_TYPES.has(field.dataTypeID) ? [i] : []));

  async function* rows(): AsyncGenerator<SqlRow> {
    let batch = first;
    for (;;) {
      for (const row of batch.rows) {
        for (const i of timestamps) {
          const value = row[i];
          if (value !== null && value !== undefined) row[i] = datePart(value);
        }
        yield row;
      }
      if (batch.rows.length < batchSize) return;
      try {
        batch = await fetch();
      } catch (error) {
        failed = true;
        throw fail("rows", error);
      }
    }
  }

  return { columns: first.fields.map((field) => field.name), rows, close };
};

/** What a `pg` error says: SQLSTATE only from the server (a socket's `code` is no SQLSTATE). */
function facts(connection: SqlConnection, error: unknown): DriverFailure {
  const { message, code, severity } = (error ?? {}) as {
    message?: unknown;
    code?: unknown;
    severity?: unknown;
  };
  const sqlState = typeof code === "string" && severity !== undefined ? code : null;
  const text = connection.scrub(typeof message === "string" ? message : String(error));
  // 57014 with statement_timeout; the client's own timeouts say "timeout" in their message.
  const timedOut = sqlState === "57014" || (sqlState === null && /timeout/i.test(text));
  return { message: text, sqlState, timedOut };
}
