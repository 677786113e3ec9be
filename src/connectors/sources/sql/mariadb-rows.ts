import { type Connection, createConnection } from "mariadb";
import type { SqlConnection } from "./sql-connection.ts";
import { datePart, type OpenSqlRows, type SqlRow } from "./sql-rows.ts";
import { type DriverFailure, type SqlPhase, SqlSourceError, sqlFailure } from "./sql-source-error.ts";

/** Column types (the driver's names) whose text is a date and a time, read as their date part. */
const TIMESTAMP_TYPES = new Set(["DATETIME", "DATETIME2", "TIMESTAMP", "TIMESTAMP2"]);

/** The part of a result column's metadata the source reads. */
interface Column {
  name(): string;
  readonly type: string;
}
/** The part of the driver's result stream the source reads: paused mode, `read()` as rows are wanted. */
interface RowStream {
  read(): unknown[] | null;
  on(event: "fields", listener: (columns: Column[]) => void): unknown;
  on(event: "readable" | "end", listener: () => void): unknown;
  on(event: "error", listener: (error: unknown) => void): unknown;
}

/**
 * Reads a query from MariaDB in a `READ ONLY` transaction with the driver's `queryStream`: the driver
 * pauses the socket while the rows read so far are not consumed, so memory stays flat. `dateStrings`
 * keeps DATE as the server's `yyyy-MM-dd` text. A watchdog bounds every wait for the server; on a timeout,
 * or when the caller stops early, the driver kills the query on the server.
 */
export const openMariadbRows: OpenSqlRows = async (connection, statement, { timeoutMs }) => {
  const fail = (phase: SqlPhase, error: unknown) =>
    error instanceof SqlSourceError
      ? error
      : sqlFailure(phase, connection.description, facts(connection, error), timeoutMs);
  let conn: Connection;
  try {
    conn = await createConnection({
      host: connection.host,
      port: connection.port,
      user: connection.user,
      password: connection.password,
      database: connection.database,
      ...(connection.searchParams.get("ssl") === "true" ? { ssl: true } : {}),
      connectTimeout: timeoutMs,
      dateStrings: true,
      autoJsonMap: false,
      checkDuplicate: false,
      multipleStatements: false,
      permitLocalInfile: false,
    });
  } catch (error) {
    throw fail("connect", error);
  }
  const db = conn;
  db.on("error", () => undefined); // reported through the pending command

  // Everything the driver says (a command done, columns, rows ready, the end, an error) counts as an
  // event; a wait is for the next event, with the watchdog failing it after `timeoutMs`.
  let events = 0;
  let wake: () => void = () => undefined;
  const signal = () => {
    events += 1;
    wake();
  };
  let failure: SqlSourceError | undefined;
  let waitingSince = 0;
  const watchdog = setInterval(
    () => {
      if (waitingSince === 0 || Date.now() - waitingSince < timeoutMs) return;
      failure ??= new SqlSourceError(
        "timeout",
        `${connection.description} did not answer within ${timeoutMs} ms`,
      );
      db.destroy(); // also kills the query on the server
      signal();
    },
    Math.min(1000, Math.max(10, timeoutMs / 10)),
  ).unref();
  const waitFor = async (ready: () => boolean) => {
    waitingSince = Date.now();
    try {
      while (!ready() && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
    } finally {
      waitingSince = 0;
    }
    if (failure !== undefined) throw failure;
  };

  let columns: Column[] | undefined;
  let ended = false;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    clearInterval(watchdog);
    if (ended && failure === undefined) {
      await db.query("ROLLBACK").catch(() => undefined);
      await db.end().catch(() => db.destroy());
    } else {
      db.destroy(); // mid-result: the driver kills the query rather than read the rest
    }
  };

  let stream: RowStream;
  try {
    let begun = false;
    db.query("START TRANSACTION READ ONLY").then(
      () => {
        begun = true;
        signal();
      },
      (error: unknown) => {
        failure ??= fail("query", error);
        signal();
      },
    );
    await waitFor(() => begun);
    stream = db.queryStream({ sql: statement, rowsAsArray: true }) as unknown as RowStream;
    stream.on("fields", (fields) => {
      columns = fields;
      signal();
    });
    stream.on("readable", signal);
    stream.on("end", () => {
      ended = true;
      signal();
    });
    stream.on("error", (error) => {
      failure ??= fail(columns === undefined ? "query" : "rows", error);
      signal();
    });
    await waitFor(() => columns !== undefined || ended);
  } catch (error) {
    await close();
    throw fail("query", error);
  }
  const fields = columns ?? [];
  const timestamps = fields.flatMap((column, i) => (TIMESTAMP_TYPES.has(column.type) ? [i] : []));

  async function* rows(): AsyncGenerator<SqlRow> {
    for (;;) {
      const row = stream.read();
      if (row !== null) {
        const values = row.map(text);
        for (const i of timestamps) {
          const value = values[i];
          if (value !== null && value !== undefined) values[i] = datePart(value);
        }
        yield values;
      } else if (ended) {
        if (failure !== undefined) throw failure;
        return;
      } else {
        const seen = events;
        await waitFor(() => events !== seen);
      }
    }
  }

  return { columns: fields.map((column) => column.name()), rows, close };
};

/** A value the driver gives as text: strings as they are; `bigint`s, numbers, bytes and JSON converted. */
function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** What a driver error says, with the SQLSTATE the server gave. */
function facts(connection: SqlConnection, error: unknown): DriverFailure {
  const { sqlMessage, message, sqlState, code } = (error ?? {}) as Record<string, unknown>;
  const said =
    typeof sqlMessage === "string" ? sqlMessage : typeof message === "string" ? message : String(error);
  return {
    message: connection.scrub(said),
    sqlState: typeof sqlState === "string" && sqlState !== "HY000" ? sqlState : null,
    timedOut: code === "ER_CONNECTION_TIMEOUT" || code === "ER_STATEMENT_TIMEOUT",
  };
}
