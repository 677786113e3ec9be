import type { Delivery, DeliveryState, NewDelivery } from "../../../domain/subscription.ts";
import type {
  ClaimedDelivery,
  ClaimRequest,
  DeliveryRepository,
  FailedAttempt,
  Keyed,
  KeysetPage,
} from "../../../ports/storage.ts";
import {
  CLAIMED_EVENT_COLUMNS,
  type ClaimedRow,
  countsByState,
  DELIVERY_COLUMNS,
  type DeliveryRow,
  keyedDeliveries,
  toClaimedDelivery,
  toDelivery,
} from "../rows/delivery-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

/** Ids per `IN (…)` list: well below SQLite's limit on parameters. */
const CHUNK = 500;

/**
 * The delivery queue on SQLite. Writers run one at a time (`BEGIN IMMEDIATE`), so a claim is a plain read
 * followed by an update: nobody can claim the same rows in between.
 */
export class SqliteDeliveryRepository implements DeliveryRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async enqueue(deliveries: readonly NewDelivery[]): Promise<number> {
    // One prepared statement per row: inside the caller's transaction each costs no more than its inserts.
    const stmt = this.#db.statement(
      `INSERT INTO deliveries (subscription_id, event_id, position, subject_key, projection, state, attempts,
         created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)
       ON CONFLICT (subscription_id, event_id) DO NOTHING`,
    );
    let added = 0;
    for (const d of deliveries) {
      added += stmt.run(
        d.subscriptionId,
        d.eventId,
        d.position,
        d.subjectKey,
        d.projection,
        d.createdAt,
        d.createdAt,
      ).changes;
    }
    return added;
  }

  async claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    if (request.limit <= 0) return [];
    const excluded = request.excludeSubscriptions;
    const rows = this.#db.all<ClaimedRow>(
      `SELECT ${DELIVERY_COLUMNS}, ${CLAIMED_EVENT_COLUMNS}
       FROM deliveries d LEFT JOIN outbox o ON o.position = d.position
       WHERE d.state = 'pending' AND d.next_attempt_at <= ?
         AND (d.claimed_until IS NULL OR d.claimed_until < ?)
         ${excluded.length === 0 ? "" : `AND d.subscription_id NOT IN (${placeholders(excluded.length)})`}
         AND NOT EXISTS (
           SELECT 1 FROM deliveries e
           WHERE e.state = 'pending' AND e.subscription_id = d.subscription_id AND e.subject_key = d.subject_key
             AND e.position < d.position)
       ORDER BY d.next_attempt_at, d.id
       LIMIT ?`,
      request.now,
      request.now,
      ...excluded,
      request.limit,
    );
    for (let i = 0; i < rows.length; i += CHUNK) {
      const ids = rows.slice(i, i + CHUNK).map((row) => row.id);
      this.#db.run(
        `UPDATE deliveries SET claimed_by = ?, claimed_until = ? WHERE id IN (${placeholders(ids.length)})`,
        request.holder,
        request.until,
        ...ids,
      );
    }
    return rows.map(toClaimedDelivery);
  }

  async markDelivered(id: number, at: string, status: number): Promise<void> {
    this.#db.run(
      `UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, last_attempt_at = ?,
         last_status = ?, last_error = NULL, claimed_by = NULL, claimed_until = NULL
       WHERE id = ? AND state = 'pending'`,
      at,
      at,
      status,
      id,
    );
  }

  async markFailed(id: number, attempt: FailedAttempt): Promise<void> {
    this.#db.run(
      `UPDATE deliveries SET attempts = attempts + 1, last_attempt_at = ?, last_status = ?, last_error = ?,
         state = CASE WHEN ? IS NULL THEN 'dead' ELSE 'pending' END,
         next_attempt_at = coalesce(?, next_attempt_at), claimed_by = NULL, claimed_until = NULL
       WHERE id = ? AND state = 'pending'`,
      attempt.at,
      attempt.status,
      attempt.error,
      attempt.nextAttemptAt,
      attempt.nextAttemptAt,
      id,
    );
  }

  async find(subscriptionId: string, id: number): Promise<Delivery | undefined> {
    const row = this.#db.get<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries d WHERE d.subscription_id = ? AND d.id = ?`,
      subscriptionId,
      id,
    );
    return row && toDelivery(row);
  }

  async list(
    subscriptionId: string,
    state: DeliveryState | null,
    page: KeysetPage,
  ): Promise<Keyed<Delivery>> {
    const rows = this.#db.all<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries d
       WHERE d.subscription_id = ? AND d.id > ?${state === null ? "" : " AND d.state = ?"}
       ORDER BY d.id LIMIT ?`,
      subscriptionId,
      page.after,
      ...(state === null ? [] : [state]),
      page.limit + 1,
    );
    return keyedDeliveries(rows, page.limit);
  }

  async redeliver(subscriptionId: string, ids: readonly number[] | null, now: string): Promise<number> {
    const sql = `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, created_at = ?, claimed_by = NULL,
        claimed_until = NULL
       WHERE subscription_id = ? AND state = 'dead'`;
    if (ids === null) return this.#db.run(sql, now, now, subscriptionId).changes;
    let moved = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      moved += this.#db.run(
        `${sql} AND id IN (${placeholders(chunk.length)})`,
        now,
        now,
        subscriptionId,
        ...chunk,
      ).changes;
    }
    return moved;
  }

  async countByState(subscriptionId: string): Promise<Record<DeliveryState, number>> {
    return countsByState(
      this.#db.all<{ state: DeliveryState; n: number }>(
        "SELECT state, count(*) AS n FROM deliveries WHERE subscription_id = ? GROUP BY state",
        subscriptionId,
      ),
    );
  }

  async releaseClaims(holder: string): Promise<number> {
    return this.#db.run(
      "UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ? AND state = 'pending'",
      holder,
    ).changes;
  }

  async purgeDeliveredBefore(before: string): Promise<number> {
    return this.#db.run("DELETE FROM deliveries WHERE state = 'delivered' AND delivered_at < ?", before)
      .changes;
  }
}
