/**
 * Why an SQL source failed as a whole, for the run's report and for tests that tell the layers apart:
 * - `options`: the configuration is wrong (engine, URL, mapping, sizes); nothing was sent.
 * - `not-read-only`: the pre-check refused the query; nothing was sent.
 * - `connection-failed`: the database could not be reached, or refused the login.
 * - `timeout`: the database did not answer within `timeoutMs`.
 * - `write-refused`: the database refused a write inside the read-only transaction (SQLSTATE 25006).
 * - `query-failed`: the database refused or aborted the query (bad SQL, a missing view, a runtime error).
 * - `columns`: the result lacks a column the mapping needs.
 */
export type SqlSourceFailure =
  | "options"
  | "not-read-only"
  | "connection-failed"
  | "timeout"
  | "write-refused"
  | "query-failed"
  | "columns";

/**
 * An SQL source that cannot be read. The message never holds the password: it is written here from the
 * driver's message with the password masked, and the driver's error is not kept as `cause`, since a
 * driver may attach its connection settings to it.
 */
export class SqlSourceError extends Error {
  readonly reason: SqlSourceFailure;
  /** The database's SQLSTATE when it gave one (`25006`, `42P01`, `42S02`…). */
  readonly sqlState: string | null;

  constructor(reason: SqlSourceFailure, message: string, sqlState: string | null = null) {
    super(message);
    this.name = "SqlSourceError";
    this.reason = reason;
    this.sqlState = sqlState;
  }
}

/** Where a read was when the database failed it. */
export type SqlPhase = "connect" | "query" | "rows";

/** What an engine could tell of a driver's failure, its message already scrubbed of the password. */
export interface DriverFailure {
  readonly message: string;
  readonly sqlState: string | null;
  /** The engine knows it was a timeout (its own watchdog, or the server's statement timeout). */
  readonly timedOut: boolean;
}

/** The source's error for a driver's failure at `phase` reading `description`. */
export function sqlFailure(
  phase: SqlPhase,
  description: string,
  failure: DriverFailure,
  timeoutMs: number,
): SqlSourceError {
  const { message, sqlState, timedOut } = failure;
  if (phase === "connect") {
    const reason = timedOut ? `no answer within ${timeoutMs} ms (${message})` : message;
    return new SqlSourceError("connection-failed", `cannot connect to ${description}: ${reason}`, sqlState);
  }
  if (sqlState === "25006") {
    return new SqlSourceError(
      "write-refused",
      `the database refused a write, the source reads in a read-only transaction: ${message}`,
      sqlState,
    );
  }
  if (timedOut) {
    return new SqlSourceError(
      "timeout",
      `${description} did not answer within ${timeoutMs} ms: ${message}`,
      sqlState,
    );
  }
  const what = phase === "query" ? "the query" : "reading the query's rows";
  const state = sqlState === null ? "" : ` (SQLSTATE ${sqlState})`;
  return new SqlSourceError("query-failed", `${what} failed on ${description}: ${message}${state}`, sqlState);
}
