import type { CursorRepository } from "../../../ports/storage.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/** Cursors on SQLite. An empty value reads as unset, as on PostgreSQL, where a lock needs a row. */
export class SqliteCursorRepository implements CursorRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async get(name: string): Promise<string | undefined> {
    const value = this.#db.get<{ value: string }>("SELECT value FROM cursors WHERE name = ?", name)?.value;
    return value === "" ? undefined : value;
  }

  /** SQLite runs one writer at a time: a plain read is already as good as a lock. */
  async getForUpdate(name: string): Promise<string | undefined> {
    return this.get(name);
  }

  async set(name: string, value: string): Promise<void> {
    this.#db.run(
      "INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      name,
      value,
    );
  }
}
