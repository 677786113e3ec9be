import type { CursorRepository } from "../../../ports/storage.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

/**
 * Cursors on PostgreSQL. `getForUpdate` makes the row first when there is none, so that even a new cursor has
 * a row to lock; that row holds the empty value, which reads as unset (here and on SQLite).
 */
export class PostgresCursorRepository implements CursorRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async get(name: string): Promise<string | undefined> {
    const { rows } = await this.#db.query<{ value: string }>("SELECT value FROM cursors WHERE name = $1", [
      name,
    ]);
    return unsetIfEmpty(rows[0]?.value);
  }

  /**
   * Holds the row lock until the caller's transaction ends. A second transaction making the same new row
   * waits on the first one's uncommitted insert, then on its lock: either way, one at a time.
   */
  async getForUpdate(name: string): Promise<string | undefined> {
    await this.#db.query("INSERT INTO cursors (name, value) VALUES ($1, '') ON CONFLICT (name) DO NOTHING", [
      name,
    ]);
    const { rows } = await this.#db.query<{ value: string }>(
      "SELECT value FROM cursors WHERE name = $1 FOR UPDATE",
      [name],
    );
    return unsetIfEmpty(rows[0]?.value);
  }

  async set(name: string, value: string): Promise<void> {
    await this.#db.query(
      "INSERT INTO cursors (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
      [name, value],
    );
  }
}

function unsetIfEmpty(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}
