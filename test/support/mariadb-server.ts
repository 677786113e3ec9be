import { createConnection } from "mariadb";
import { redacted, throwawayName } from "./postgres-server.ts";

/** The MariaDB server the tests use: `OPENESC_TEST_MARIADB_URL`, or the CI machine's loopback server. */
export const TEST_MARIADB_URL = process.env["OPENESC_TEST_MARIADB_URL"] ?? "mariadb://root@127.0.0.1:3306";

/**
 * Whether the MariaDB tests run: they do when the server answers. Under `CI=true` an unreachable server is
 * a failure (the answer carries the reason for the test to throw); elsewhere the tests skip with it.
 */
export async function mariadbAvailability(): Promise<{ skip: false } | { skip: string; fail: boolean }> {
  try {
    await mariadbAdmin(async (query) => {
      await query("SELECT 1");
    });
    return { skip: false };
  } catch (error) {
    const reason = `MariaDB unreachable at ${redacted(TEST_MARIADB_URL)}: ${(error as Error).message}`;
    return { skip: reason, fail: process.env["CI"] === "true" };
  }
}

/** A database of its own on the test server, for one suite; `drop()` removes it. */
export interface ThrowawayMariadb {
  readonly name: string;
  /** The test server's URL pointing at this database. */
  readonly url: string;
  /** Runs one statement in this database (a `CREATE FUNCTION … BEGIN … END` is one). */
  query(sql: string): Promise<unknown>;
  drop(): Promise<void>;
}

/** Creates `openesc_test_<random>` on the test server. */
export async function createThrowawayMariadb(): Promise<ThrowawayMariadb> {
  const name = throwawayName();
  await mariadbAdmin(async (query) => {
    await query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  });
  const url = new URL(TEST_MARIADB_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    query: (sql) => mariadbAdmin((query) => query(sql), name),
    drop: async () => {
      await mariadbAdmin((query) => query(`DROP DATABASE IF EXISTS ${name}`));
    },
  };
}

/** Runs `work` on a short-lived connection to the test server (in `database` when given). */
async function mariadbAdmin<T>(
  work: (query: (sql: string) => Promise<unknown>) => Promise<T>,
  database?: string,
): Promise<T> {
  const url = new URL(TEST_MARIADB_URL);
  const conn = await createConnection({
    host: url.hostname,
    port: url.port === "" ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    connectTimeout: 3000,
    ...(database === undefined ? {} : { database }),
  });
  try {
    return await work((sql) => conn.query(sql));
  } finally {
    await conn.end();
  }
}
