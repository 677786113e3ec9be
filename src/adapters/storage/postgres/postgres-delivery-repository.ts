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
import type { PostgresQueryable } from "./postgres-connection.ts";

/**
 * Claims in one statement. The candidates are locked with `FOR UPDATE SKIP LOCKED`, so processes claiming at
 * once never take the same row: one locks it, the others pass over it; a row another process claimed and
 * committed since this statement's snapshot is re-checked when locked, and dropped since its claim is live.
 * The earliest-per-subject rule holds too: a subject's earliest delivery stays pending while it is claimed,
 * so its later ones fail `NOT EXISTS` in every process. `MATERIALIZED` picks the rows once, whatever the plan.
 * Timestamp columns are `COLLATE "C"` (see the migration): compared as text in byte order, as on SQLite.
 */
const CLAIM_SQL = `WITH picked AS MATERIALIZED (
    SELECT c.id FROM deliveries c
    WHERE c.state = 'pending' AND c.next_attempt_at <= $3
      AND (c.claimed_until IS NULL OR c.claimed_until < $3)
      AND NOT (c.subscription_id = ANY($4::text[]))
      AND NOT EXISTS (
        SELECT 1 FROM deliveries e
        WHERE e.state = 'pending' AND e.subscription_id = c.subscription_id AND e.subject_key = c.subject_key
          AND e.position < c.position)
    ORDER BY c.next_attempt_at, c.id
    LIMIT $5
    FOR UPDATE OF c SKIP LOCKED
  ), claimed AS (
    UPDATE deliveries u SET claimed_by = $1, claimed_until = $2 FROM picked WHERE u.id = picked.id RETURNING u.*
  )
  SELECT ${DELIVERY_COLUMNS}, ${CLAIMED_EVENT_COLUMNS}
  FROM claimed d LEFT JOIN outbox o ON o.position = d.position
  ORDER BY d.next_attempt_at, d.id`;

/** The delivery queue on PostgreSQL, shared by every hub process. */
export class PostgresDeliveryRepository implements DeliveryRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async enqueue(deliveries: readonly NewDelivery[]): Promise<number> {
    if (deliveries.length === 0) return 0;
    // One statement for the batch; WITH ORDINALITY keeps the order in the ids.
    const result = await this.#db.query(
      `INSERT INTO deliveries (subscription_id, event_id, position, subject_key, projection, state, attempts,
         created_at, next_attempt_at)
       SELECT s, e, p, k, j, 'pending', 0, c, c
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
         WITH ORDINALITY AS u(s, e, p, k, j, c, n)
       ORDER BY n
       ON CONFLICT (subscription_id, event_id) DO NOTHING`,
      [
        deliveries.map((d) => d.subscriptionId),
        deliveries.map((d) => d.eventId),
        deliveries.map((d) => d.position),
        deliveries.map((d) => d.subjectKey),
        deliveries.map((d) => d.projection),
        deliveries.map((d) => d.createdAt),
      ],
    );
    return result.rowCount ?? 0;
  }

  async claimDue(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    if (request.limit <= 0) return [];
    const { rows } = await this.#db.query<ClaimedRow>(CLAIM_SQL, [
      request.holder,
      request.until,
      request.now,
      request.excludeSubscriptions,
      request.limit,
    ]);
    return rows.map(toClaimedDelivery);
  }

  async markDelivered(id: number, at: string, status: number): Promise<void> {
    await this.#db.query(
      `UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = $2, last_attempt_at = $2,
         last_status = $3, last_error = NULL, claimed_by = NULL, claimed_until = NULL
       WHERE id = $1 AND state = 'pending'`,
      [id, at, status],
    );
  }

  async markFailed(id: number, attempt: FailedAttempt): Promise<void> {
    await this.#db.query(
      `UPDATE deliveries SET attempts = attempts + 1, last_attempt_at = $2, last_status = $3, last_error = $4,
         state = CASE WHEN $5::text IS NULL THEN 'dead' ELSE 'pending' END,
         next_attempt_at = coalesce($5::text, next_attempt_at), claimed_by = NULL, claimed_until = NULL
       WHERE id = $1 AND state = 'pending'`,
      [id, attempt.at, attempt.status, attempt.error, attempt.nextAttemptAt],
    );
  }

  async find(subscriptionId: string, id: number): Promise<Delivery | undefined> {
    const { rows } = await this.#db.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries d WHERE d.subscription_id = $1 AND d.id = $2`,
      [subscriptionId, id],
    );
    return rows[0] && toDelivery(rows[0]);
  }

  async list(
    subscriptionId: string,
    state: DeliveryState | null,
    page: KeysetPage,
  ): Promise<Keyed<Delivery>> {
    const { rows } = await this.#db.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries d
       WHERE d.subscription_id = $1 AND d.id > $2 AND ($3::text IS NULL OR d.state = $3)
       ORDER BY d.id LIMIT $4`,
      [subscriptionId, page.after, state, page.limit + 1],
    );
    return keyedDeliveries(rows, page.limit);
  }

  async redeliver(subscriptionId: string, ids: readonly number[] | null, now: string): Promise<number> {
    if (ids !== null && ids.length === 0) return 0;
    const result = await this.#db.query(
      `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $2, created_at = $2, claimed_by = NULL,
         claimed_until = NULL
       WHERE subscription_id = $1 AND state = 'dead' AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))`,
      [subscriptionId, now, ids],
    );
    return result.rowCount ?? 0;
  }

  async countByState(subscriptionId: string): Promise<Record<DeliveryState, number>> {
    const { rows } = await this.#db.query<{ state: DeliveryState; n: number | string }>(
      "SELECT state, count(*) AS n FROM deliveries WHERE subscription_id = $1 GROUP BY state",
      [subscriptionId],
    );
    return countsByState(rows);
  }

  async releaseClaims(holder: string): Promise<number> {
    const result = await this.#db.query(
      "UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1 AND state = 'pending'",
      [holder],
    );
    return result.rowCount ?? 0;
  }

  async purgeDeliveredBefore(before: string): Promise<number> {
    const result = await this.#db.query(
      "DELETE FROM deliveries WHERE state = 'delivered' AND delivered_at < $1",
      [before],
    );
    return result.rowCount ?? 0;
  }
}
