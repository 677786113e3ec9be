/** Delivery rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { EventType } from "../../../domain/events.ts";
import type { Delivery, DeliveryProjection, DeliveryState } from "../../../domain/subscription.ts";
import type { ClaimedDelivery, Keyed } from "../../../ports/storage.ts";
import { toStoredEvent } from "./outbox-row.ts";

export interface DeliveryRow {
  /** bigint: `pg` may answer it as a string. */
  id: number | string;
  subscription_id: string;
  event_id: string;
  position: number | string;
  subject_key: string;
  projection: DeliveryProjection;
  state: DeliveryState;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

/** A delivery with the columns of its outbox event (`o_…`), all null when the event is gone. */
export interface ClaimedRow extends DeliveryRow {
  o_id: string | null;
  o_type: EventType | null;
  o_subject: string | null;
  o_audience: string | null;
  o_data: string | null;
  o_occurred_at: string | null;
}

/** Every column of `deliveries`, for a query that names the table `d`. */
export const DELIVERY_COLUMNS = `d.id, d.subscription_id, d.event_id, d.position, d.subject_key, d.projection, d.state,
  d.attempts, d.created_at, d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at`;

/** The outbox columns of a {@link ClaimedRow}, for a query that names the outbox `o`. */
export const CLAIMED_EVENT_COLUMNS =
  "o.id AS o_id, o.type AS o_type, o.subject AS o_subject, o.audience AS o_audience, o.data AS o_data, o.occurred_at AS o_occurred_at";

export const toDelivery = (row: DeliveryRow): Delivery => ({
  id: Number(row.id),
  subscriptionId: row.subscription_id,
  eventId: row.event_id,
  position: Number(row.position),
  subjectKey: row.subject_key,
  projection: row.projection,
  state: row.state,
  attempts: row.attempts,
  createdAt: row.created_at,
  nextAttemptAt: row.next_attempt_at,
  lastAttemptAt: row.last_attempt_at,
  lastStatus: row.last_status,
  lastError: row.last_error,
  deliveredAt: row.delivered_at,
});

export function toClaimedDelivery(row: ClaimedRow): ClaimedDelivery {
  const event =
    row.o_id === null
      ? undefined
      : toStoredEvent({
          position: row.position,
          id: row.o_id,
          type: row.o_type as EventType,
          subject: row.o_subject ?? "",
          audience: row.o_audience ?? "[]",
          data: row.o_data ?? "{}",
          occurred_at: row.o_occurred_at ?? "",
        });
  return { delivery: toDelivery(row), event };
}

/** A keyset page from `limit + 1` rows ordered by id: the extra row only tells that there is a next page. */
export function keyedDeliveries(rows: readonly DeliveryRow[], limit: number): Keyed<Delivery> {
  const items = rows.slice(0, limit).map(toDelivery);
  return { items, next: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

/** Counts per state from `SELECT state, count(*) AS n … GROUP BY state`, with the states that have none. */
export function countsByState(
  rows: readonly { state: DeliveryState; n: number | string }[],
): Record<DeliveryState, number> {
  const counts: Record<DeliveryState, number> = { pending: 0, delivered: 0, dead: 0 };
  for (const row of rows) counts[row.state] = Number(row.n);
  return counts;
}
