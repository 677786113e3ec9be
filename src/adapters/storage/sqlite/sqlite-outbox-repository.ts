import { randomUUID } from "node:crypto";
import type { DomainEvent, EventType, StoredEvent } from "../../../domain/events.ts";
import type { OutboxRepository } from "../../../ports/storage.ts";
import type { SqliteConnection } from "./sqlite-connection.ts";

interface OutboxRow {
  position: number;
  id: string;
  type: EventType;
  subject: string;
  audience: string;
  data: string;
  occurred_at: string;
}

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
      .map((row) => ({
        id: row.id,
        position: row.position,
        type: row.type,
        subject: row.subject,
        audience: JSON.parse(row.audience) as string[],
        data: JSON.parse(row.data) as StoredEvent["data"],
        occurredAt: row.occurred_at,
      }));
  }
}
