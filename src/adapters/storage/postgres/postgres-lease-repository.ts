import type { LeaseRepository } from "../../../ports/storage.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

/**
 * Leases in the database, so that the processes sharing it agree on who runs a job. Taking a lease is one
 * statement: two processes racing for a free name both reach `ON CONFLICT`, and the second one re-checks
 * the condition against the row the first committed, so at most one of them gets it.
 */
export class PostgresLeaseRepository implements LeaseRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async tryAcquire(name: string, holder: string, now: string, until: string): Promise<boolean> {
    // Timestamps are ISO 8601 text: compared byte-wise (COLLATE "C"), as SQLite compares them.
    const { rows } = await this.#db.query<{ holder: string }>(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE leases.holder = EXCLUDED.holder OR leases.expires_at COLLATE "C" <= $4
       RETURNING holder`,
      [name, holder, until, now],
    );
    return rows[0]?.holder === holder;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.#db.query("DELETE FROM leases WHERE name = $1 AND holder = $2", [name, holder]);
  }
}
