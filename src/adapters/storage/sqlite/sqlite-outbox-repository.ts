import { randomUUID } from "node:crypto";
import type { DomainEvent, StoredEvent } from "../../../domain/events.ts";
import type { OutboxRepository, Pseudonymisation } from "../../../ports/storage.ts";
import { type OutboxRow, PSEUDONYMISE_CHUNK, pseudonymiseRow, toStoredEvent } from "../rows/outbox-row.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

/**
 * The outbox on SQLite. One writer at a time holds the database, so the rowid order is the commit order
 * and a reader paging by position never skips an event committed late.
 */
export class SqliteOutboxRepository implements OutboxRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async append(events: readonly DomainEvent[]): Promise<void> {
    const stmt = this.#db.statement(
      "INSERT INTO outbox (id, type, subject, audience, data, occurred_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const event of events) {
      stmt.run(
        randomUUID(),
        event.type,
        event.subject,
        JSON.stringify(event.audience),
        JSON.stringify(event.data),
        event.occurredAt,
      );
    }
  }

  async readAfter(position: number, limit: number): Promise<StoredEvent[]> {
    return this.#db
      .all<OutboxRow>("SELECT * FROM outbox WHERE position > ? ORDER BY position LIMIT ?", position, limit)
      .map(toStoredEvent);
  }

  async pseudonymise(targets: readonly Pseudonymisation[]): Promise<number> {
    let changed = 0;
    const update = this.#db.statement("UPDATE outbox SET subject = ?, data = ? WHERE position = ?");
    for (let i = 0; i < targets.length; i += PSEUDONYMISE_CHUNK) {
      const chunk = targets.slice(i, i + PSEUDONYMISE_CHUNK);
      const byKey = new Map(chunk.map((t) => [t.key.toLowerCase(), t]));
      // One pass over the outbox finds the candidates; which values are the identifier is decided below.
      const where = chunk.map(() => "lower(subject) = ? OR instr(lower(data), ?) > 0").join(" OR ");
      const rows = this.#db.all<Pick<OutboxRow, "position" | "subject" | "audience" | "data">>(
        `SELECT position, subject, audience, data FROM outbox WHERE ${where}`,
        ...[...byKey.keys()].flatMap((key) => [key, key]),
      );
      for (const row of rows) {
        const changedRow = pseudonymiseRow(row, byKey);
        if (!changedRow) continue;
        update.run(changedRow.subject, changedRow.data, row.position);
        changed++;
      }
    }
    return changed;
  }
}
