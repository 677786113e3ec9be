import { randomBytes } from "node:crypto";
import pg from "pg";

/** The PostgreSQL server the tests use: `OPENESC_TEST_DATABASE_URL`, or the CI machine's loopback server. */
export const TEST_DATABASE_URL =
  process.env["OPENESC_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * Whether the PostgreSQL tests run: they do when the server answers. Under `CI=true` an unreachable server
 * is a failure (the answer carries the reason for the test to throw); elsewhere the tests skip with it.
 */
export async function postgresAvailability(): Promise<{ skip: false } | { skip: string; fail: boolean }> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return { skip: false };
  } catch (error) {
    const reason = `PostgreSQL unreachable at ${redacted(TEST_DATABASE_URL)}: ${(error as Error).message}`;
    return { skip: reason, fail: process.env["CI"] === "true" };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The URL without its password, for messages. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/** A name no other test run uses, valid as an unquoted PostgreSQL identifier. */
export function throwawayName(): string {
  return `openesc_test_${randomBytes(6).toString("hex")}`;
}

/** Runs statements on the test server with a short-lived client (CREATE/DROP SCHEMA or DATABASE). */
export async function adminQuery(sql: string, url = TEST_DATABASE_URL): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The test server's URL pointing at another database on it. */
export function urlForDatabase(database: string, url = TEST_DATABASE_URL): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
