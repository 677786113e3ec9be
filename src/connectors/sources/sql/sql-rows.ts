import type { SqlConnection } from "./sql-connection.ts";

/** One result row: each column's value as text, or null for SQL NULL. */
export type SqlRow = readonly (string | null)[];

/**
 * A query's result as an engine reads it, inside a read-only transaction: the column names first, then
 * the rows, streamed. Dates are `yyyy-MM-dd` as the database wrote them, never through a JavaScript `Date`;
 * a timestamp gives its date part as the database's session shows it.
 */
export interface SqlRows {
  readonly columns: readonly string[];
  /** The rows in order; failures are {@link SqlSourceError}s. Iterate once. */
  rows(): AsyncIterable<SqlRow>;
  /** Ends the transaction (rolled back: nothing was written) and the connection; safe to call twice. */
  close(): Promise<void>;
}

export interface SqlReadSettings {
  /** Rows fetched per round trip where the engine fetches in batches (PostgreSQL's cursor). */
  readonly batchSize: number;
  /** Longest wait for the database at any one step: connecting, starting the query, each next batch. */
  readonly timeoutMs: number;
}

/** Connects, opens a read-only transaction, starts `statement` and reads the result's columns. */
export type OpenSqlRows = (
  connection: SqlConnection,
  statement: string,
  settings: SqlReadSettings,
) => Promise<SqlRows>;

/** The date part of a timestamp's text (`2025-08-31 23:30:00+02` → `2025-08-31`); other text unchanged. */
export function datePart(text: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[ T][\d:.+-]*$/.exec(text);
  return match ? (match[1] as string) : text;
}
