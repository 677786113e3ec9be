import { randomUUID } from "node:crypto";
import type { DomainEvent, EventType, StoredEvent } from "../../../domain/events.ts";
import type { OutboxRepository, Pseudonymisation } from "../../../ports/storage.ts";
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
        const audience = JSON.parse(row.audience) as string[];
        const pseudonymOf = (value: unknown): string | undefined => {
          if (typeof value !== "string") return undefined;
          const target = byKey.get(value.toLowerCase());
          if (!target) return undefined;
          const within = target.audience === null || audience.every((o) => target.audience?.includes(o));
          return within ? target.pseudonym : undefined;
        };
        const data = JSON.parse(row.data) as Record<string, unknown>;
        let touched = false;
        const subject = pseudonymOf(row.subject) ?? row.subject;
        if (subject !== row.subject) touched = true;
        for (const [name, value] of Object.entries(data)) {
          const pseudonym = pseudonymOf(value);
          if (pseudonym !== undefined) {
            data[name] = pseudonym;
            touched = true;
          }
        }
        if (!touched) continue;
        update.run(subject, JSON.stringify(data), row.position);
        changed++;
      }
    }
    return changed;
  }
}

/** Identifiers looked for in one pass over the outbox (two parameters each, well below SQLite's limit). */
const PSEUDONYMISE_CHUNK = 200;
