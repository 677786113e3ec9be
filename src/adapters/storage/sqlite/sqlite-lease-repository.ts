import type { LeaseRepository } from "../../../ports/storage.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/** Leases in the store itself, so that processes sharing the file agree on who runs a job. */
export class SqliteLeaseRepository implements LeaseRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async tryAcquire(name: string, holder: string, now: string, until: string): Promise<boolean> {
    this.#db.run(
      `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
      name,
      holder,
      until,
      now,
    );
    return (
      this.#db.get<{ holder: string }>("SELECT holder FROM leases WHERE name = ?", name)?.holder === holder
    );
  }

  async release(name: string, holder: string): Promise<void> {
    this.#db.run("DELETE FROM leases WHERE name = ? AND holder = ?", name, holder);
  }
}
