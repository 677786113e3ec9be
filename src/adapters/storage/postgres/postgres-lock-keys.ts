import pg from "pg";
import type { PostgresQueryable } from "./postgres-connection.ts";

/**
 * Keys of the transaction-level advisory locks (`pg_advisory_xact_lock(bigint)`) the PostgreSQL store
 * takes, in one place so that no two uses share a key by accident. All of them carry "OESC" in their high
 * bits, so that they do not collide with locks another application takes on the same database.
 */
const NAMESPACE = 0x4f455343 * 0x10000;

/** Held while migrations are applied, so that processes starting together do not race. */
export const MIGRATIONS_LOCK_KEY = NAMESPACE + 0;
/** Serialises outbox writers, so that feed positions are assigned in commit order. */
export const OUTBOX_LOCK_KEY = NAMESPACE + 1;
/** Serialises audit writers, so that reading the chain's head and appending to it is atomic. */
export const AUDIT_LOCK_KEY = NAMESPACE + 2;

/**
 * Runs `work` holding the advisory lock `key` until the end of the transaction. Inside a transaction (a
 * checked-out client) the lock lasts until the caller commits, which is the point; called with the pool,
 * there is no transaction to hold it, so one is opened on a client of its own for `work`.
 */
export async function withXactLock<T>(
  db: PostgresQueryable,
  key: number,
  work: (db: PostgresQueryable) => Promise<T>,
): Promise<T> {
  if (!(db instanceof pg.Pool)) {
    await db.query("SELECT pg_advisory_xact_lock($1::bigint)", [key]);
    return work(db);
  }
  const client = await db.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [key]);
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
