/** Subscription rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { EventType } from "../../../domain/events.ts";
import type { Subscription, SubscriptionState } from "../../../domain/subscription.ts";
import type { Keyed, NewSubscription } from "../../../ports/storage.ts";

export interface SubscriptionRow {
  /** bigint: `pg` may answer it as a string. */
  seq: number | string;
  id: string;
  organisation_id: string;
  url: string;
  secret: string;
  description: string | null;
  /** A JSON array of event types, or null for every type. */
  types: string | null;
  issuer: string | null;
  /** SQLite stores 0 or 1, PostgreSQL a boolean. */
  card_set: number | boolean;
  state: SubscriptionState;
  /** bigint: `pg` may answer it as a string. */
  start_after: number | string;
  created_at: string;
  updated_at: string;
  version: number;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
}

/** Every column of `subscriptions`. */
export const SUBSCRIPTION_COLUMNS = `seq, id, organisation_id, url, secret, description, types, issuer, card_set, state,
  start_after, created_at, updated_at, version, last_attempt_at, last_status, last_error`;

/** The columns a new subscription writes, in the order of {@link subscriptionInsertValues}; `seq` is generated. */
export const SUBSCRIPTION_INSERT_COLUMNS =
  "id, organisation_id, url, secret, description, types, issuer, card_set, state, start_after, created_at, updated_at, version";

export const toSubscription = (row: SubscriptionRow): Subscription => ({
  id: row.id,
  seq: Number(row.seq),
  organisationId: row.organisation_id,
  url: row.url,
  secret: row.secret,
  description: row.description,
  types: row.types === null ? null : (JSON.parse(row.types) as EventType[]),
  issuer: row.issuer,
  cardSet: row.card_set === true || row.card_set === 1,
  state: row.state,
  startAfter: Number(row.start_after),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  version: row.version,
  lastAttemptAt: row.last_attempt_at,
  lastStatus: row.last_status,
  lastError: row.last_error,
});

/** A keyset page from `limit + 1` rows ordered by `seq`: the extra row only tells that there is a next page. */
export function keyedSubscriptions(rows: readonly SubscriptionRow[], limit: number): Keyed<Subscription> {
  const items = rows.slice(0, limit).map(toSubscription);
  return { items, next: rows.length > limit ? (items.at(-1)?.seq ?? null) : null };
}

/** The values of {@link SUBSCRIPTION_INSERT_COLUMNS}; `flag` stores `card_set` as the engine wants it. */
export function subscriptionInsertValues(
  subscription: NewSubscription,
  flag: (on: boolean) => unknown,
): unknown[] {
  return [
    subscription.id,
    subscription.organisationId,
    subscription.url,
    subscription.secret,
    subscription.description,
    typesValue(subscription.types),
    subscription.issuer,
    flag(subscription.cardSet),
    subscription.state,
    subscription.startAfter,
    subscription.createdAt,
    subscription.updatedAt,
    1,
  ];
}

/** The values of an update: the changeable columns `url … updated_at`, then `id` and `version`. */
export function subscriptionUpdateValues(
  subscription: Subscription,
  flag: (on: boolean) => unknown,
): unknown[] {
  return [
    subscription.url,
    subscription.description,
    typesValue(subscription.types),
    subscription.issuer,
    flag(subscription.cardSet),
    subscription.state,
    subscription.updatedAt,
    subscription.id,
    subscription.version,
  ];
}

function typesValue(types: Subscription["types"]): string | null {
  return types === null ? null : JSON.stringify(types);
}
