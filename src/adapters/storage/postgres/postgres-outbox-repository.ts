import { randomUUID } from "node:crypto";
import type { DomainEvent, StoredEvent } from "../../../domain/events.ts";
import type { OutboxRepository, Pseudonymisation } from "../../../ports/storage.ts";
import { type OutboxRow, PSEUDONYMISE_CHUNK, pseudonymiseRow, toStoredEvent } from "../rows/outbox-row.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";
import { OUTBOX_LOCK_KEY, withXactLock } from "./postgres-lock-keys.ts";

/**
 * The outbox on PostgreSQL. An identity column alone does not give commit order: a transaction that takes
 * position 10 and commits after the one that took 11 lets a reader paging `after=11` skip it for good.
 * So `append` first takes a transaction-level advisory lock ({@link OUTBOX_LOCK_KEY}): writers of events
 * then take positions and commit one at a time, and positions grow in commit order (a rolled-back writer
 * leaves a gap, never a late row).
 *
 * The trade-off: a transaction that appends events holds that lock from its `append` to its commit, so
 * such transactions are serialised from that point on (appending last in a transaction keeps the held span
 * short). A relay that assigns positions after commit would lift this; it belongs to the event issue.
 */
/** The LISTEN/NOTIFY channel on which commits with events are announced (see PostgresStorage.watchCommits). */
export const EVENTS_CHANNEL = "openesc_events";

export class PostgresOutboxRepository implements OutboxRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async append(events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    await withXactLock(this.#db, OUTBOX_LOCK_KEY, (db) =>
      // One statement for the batch; WITH ORDINALITY keeps the events' order in their positions.
      db.query(
        `INSERT INTO outbox (id, type, subject, audience, data, occurred_at)
         SELECT id, type, subject, audience, data, occurred_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
           WITH ORDINALITY AS e(id, type, subject, audience, data, occurred_at, n)
         ORDER BY n`,
        [
          events.map(() => randomUUID()),
          events.map((e) => e.type),
          events.map((e) => e.subject),
          events.map((e) => JSON.stringify(e.audience)),
          events.map((e) => JSON.stringify(e.data)),
          events.map((e) => e.occurredAt),
        ],
      ),
    );
    // Delivered to every listening process when (and only if) the transaction commits.
    await this.#db.query("SELECT pg_notify($1, '')", [EVENTS_CHANNEL]);
  }

  async readAfter(position: number, limit: number): Promise<StoredEvent[]> {
    const { rows } = await this.#db.query<OutboxRow>(
      "SELECT * FROM outbox WHERE position > $1 ORDER BY position LIMIT $2",
      [position, limit],
    );
    return rows.map(toStoredEvent);
  }

  async latestPosition(): Promise<number> {
    const { rows } = await this.#db.query<{ p: number | string | null }>(
      "SELECT max(position) AS p FROM outbox",
    );
    return Number(rows[0]?.p ?? 0);
  }

  async findByPositions(positions: readonly number[]): Promise<StoredEvent[]> {
    if (positions.length === 0) return [];
    const { rows } = await this.#db.query<OutboxRow>(
      "SELECT * FROM outbox WHERE position = ANY($1::bigint[]) ORDER BY position",
      [positions],
    );
    return rows.map(toStoredEvent);
  }

  /** Same semantics as SQLite's: the query finds candidates, the code decides which values are the identifier. */
  async pseudonymise(targets: readonly Pseudonymisation[]): Promise<number> {
    let changed = 0;
    for (let i = 0; i < targets.length; i += PSEUDONYMISE_CHUNK) {
      const chunk = targets.slice(i, i + PSEUDONYMISE_CHUNK);
      const byKey = new Map(chunk.map((t) => [t.key.toLowerCase(), t]));
      const { rows } = await this.#db.query<Pick<OutboxRow, "position" | "subject" | "audience" | "data">>(
        `SELECT position, subject, audience, data FROM outbox
         WHERE lower(subject) = ANY($1::text[]) OR EXISTS (SELECT 1 FROM unnest($1::text[]) k WHERE strpos(lower(data), k) > 0)`,
        [[...byKey.keys()]],
      );
      const updates: { position: number | string; subject: string; data: string }[] = [];
      for (const row of rows) {
        const changedRow = pseudonymiseRow(row, byKey);
        if (changedRow) updates.push({ position: row.position, ...changedRow });
      }
      if (updates.length === 0) continue;
      await this.#db.query(
        `UPDATE outbox o SET subject = u.subject, data = u.data
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(position, subject, data) WHERE o.position = u.position`,
        [updates.map((u) => u.position), updates.map((u) => u.subject), updates.map((u) => u.data)],
      );
      changed += updates.length;
    }
    return changed;
  }
}
