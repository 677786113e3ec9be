import { randomUUID } from "node:crypto";
import type { DomainEvent, StoredEvent } from "../../../domain/events.ts";
import type { OutboxRepository, Pseudonymisation } from "../../../ports/storage.ts";
import { type OutboxRow, PSEUDONYMISE_CHUNK, pseudonymiseRow, toStoredEvent } from "../rows/outbox-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

/** Positions per `IN (…)` list: well below SQLite's limit on parameters. */
const FIND_CHUNK = 500;

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

  async latestPosition(): Promise<number> {
    return this.#db.get<{ p: number | null }>("SELECT max(position) AS p FROM outbox")?.p ?? 0;
  }

  async findByPositions(positions: readonly number[]): Promise<StoredEvent[]> {
    const rows: OutboxRow[] = [];
    for (let i = 0; i < positions.length; i += FIND_CHUNK) {
      const chunk = positions.slice(i, i + FIND_CHUNK);
      rows.push(
        ...this.#db.all<OutboxRow>(
          `SELECT * FROM outbox WHERE position IN (${placeholders(chunk.length)})`,
          ...chunk,
        ),
      );
    }
    // Chunks may overlap in range: order (and drop a position asked twice) once all are read.
    const byPosition = new Map(rows.map((row) => [Number(row.position), row]));
    return [...byPosition.keys()]
      .sort((a, b) => a - b)
      .map((p) => toStoredEvent(byPosition.get(p) as OutboxRow));
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
