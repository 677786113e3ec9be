import type { Subscription } from "../../../domain/subscription.ts";
import type { Keyed, KeysetPage, NewSubscription, SubscriptionRepository } from "../../../ports/storage.ts";
import {
  keyedSubscriptions,
  SUBSCRIPTION_COLUMNS,
  SUBSCRIPTION_INSERT_COLUMNS,
  type SubscriptionRow,
  subscriptionInsertValues,
  subscriptionUpdateValues,
  toSubscription,
} from "../rows/subscription-row.ts";
import { type PostgresQueryable, params } from "./postgres-connection.ts";

const flag = (on: boolean): boolean => on;

/**
 * Webhook subscriptions and their card sets on PostgreSQL: the same statements as on SQLite
 * (`../sqlite/sqlite-subscription-repository.ts`), with card sets read and written a whole list per statement.
 * ESCNs are kept `COLLATE "C"`, so card sets list in byte order as on SQLite.
 */
export class PostgresSubscriptionRepository implements SubscriptionRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async insert(subscription: NewSubscription): Promise<Subscription> {
    const { rows } = await this.#db.query<{ seq: number | string }>(
      `INSERT INTO subscriptions (${SUBSCRIPTION_INSERT_COLUMNS}) VALUES (${params(13)}) RETURNING seq`,
      subscriptionInsertValues(subscription, flag),
    );
    return {
      ...subscription,
      seq: Number(rows[0]?.seq),
      version: 1,
      lastAttemptAt: null,
      lastStatus: null,
      lastError: null,
    };
  }

  async find(id: string): Promise<Subscription | undefined> {
    const { rows } = await this.#db.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1`,
      [id],
    );
    return rows[0] && toSubscription(rows[0]);
  }

  async update(subscription: Subscription): Promise<Subscription | undefined> {
    // RETURNING the stored row: the outcome of the latest attempt may have changed since the caller read it.
    const { rows } = await this.#db.query<SubscriptionRow>(
      `UPDATE subscriptions SET url = $1, description = $2, types = $3, issuer = $4, card_set = $5, state = $6,
        updated_at = $7, version = version + 1
       WHERE id = $8 AND version = $9
       RETURNING ${SUBSCRIPTION_COLUMNS}`,
      subscriptionUpdateValues(subscription, flag),
    );
    return rows[0] && toSubscription(rows[0]);
  }

  async delete(id: string): Promise<void> {
    // The card set and the deliveries go with it (ON DELETE CASCADE).
    await this.#db.query("DELETE FROM subscriptions WHERE id = $1", [id]);
  }

  async listForOrganisation(organisationId: string, page: KeysetPage): Promise<Keyed<Subscription>> {
    const { rows } = await this.#db.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE organisation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [organisationId, page.after, page.limit + 1],
    );
    return keyedSubscriptions(rows, page.limit);
  }

  async listActive(): Promise<Subscription[]> {
    const { rows } = await this.#db.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE state = 'active' ORDER BY seq`,
    );
    return rows.map(toSubscription);
  }

  async addCards(id: string, escns: readonly string[]): Promise<number> {
    if (escns.length === 0) return 0;
    const result = await this.#db.query(
      `INSERT INTO subscription_cards (subscription_id, escn) SELECT $1, e FROM unnest($2::text[]) AS e
       ON CONFLICT DO NOTHING`,
      [id, escns],
    );
    return result.rowCount ?? 0;
  }

  async removeCards(id: string, escns: readonly string[]): Promise<number> {
    if (escns.length === 0) return 0;
    const result = await this.#db.query(
      "DELETE FROM subscription_cards WHERE subscription_id = $1 AND escn = ANY($2::text[])",
      [id, escns],
    );
    return result.rowCount ?? 0;
  }

  async countCards(id: string): Promise<number> {
    const { rows } = await this.#db.query<{ n: number | string }>(
      "SELECT count(*) AS n FROM subscription_cards WHERE subscription_id = $1",
      [id],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async listCards(id: string, after: string, limit: number): Promise<string[]> {
    const { rows } = await this.#db.query<{ escn: string }>(
      "SELECT escn FROM subscription_cards WHERE subscription_id = $1 AND escn > $2 ORDER BY escn LIMIT $3",
      [id, after, limit],
    );
    return rows.map((r) => r.escn);
  }

  /** Only the ESCNs some card set holds are keys of the answer. */
  async holdersOfCards(escns: readonly string[]): Promise<Map<string, string[]>> {
    const holders = new Map<string, string[]>();
    if (escns.length === 0) return holders;
    const { rows } = await this.#db.query<{ escn: string; subscription_id: string }>(
      `SELECT escn, subscription_id FROM subscription_cards WHERE escn = ANY($1::text[])
       ORDER BY escn, subscription_id COLLATE "C"`,
      [escns],
    );
    for (const row of rows) {
      const list = holders.get(row.escn);
      if (list) list.push(row.subscription_id);
      else holders.set(row.escn, [row.subscription_id]);
    }
    return holders;
  }

  /** An attempt older than the one recorded (senders finishing out of order) leaves it in place. */
  async recordAttempt(id: string, at: string, status: number | null, error: string | null): Promise<void> {
    await this.#db.query(
      `UPDATE subscriptions SET last_attempt_at = $2, last_status = $3, last_error = $4
       WHERE id = $1 AND (last_attempt_at IS NULL OR last_attempt_at COLLATE "C" <= $2)`,
      [id, at, status, error],
    );
  }
}
