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
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

/** ESCNs per `IN (…)` list: well below SQLite's limit on parameters. */
const CHUNK = 500;

const flag = (on: boolean): number => (on ? 1 : 0);

/** Webhook subscriptions and their card sets on SQLite. */
export class SqliteSubscriptionRepository implements SubscriptionRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async insert(subscription: NewSubscription): Promise<Subscription> {
    const result = this.#db.run(
      `INSERT INTO subscriptions (${SUBSCRIPTION_INSERT_COLUMNS}) VALUES (${placeholders(13)})`,
      ...subscriptionInsertValues(subscription, flag),
    );
    return {
      ...subscription,
      seq: Number(result.lastInsertRowid),
      version: 1,
      lastAttemptAt: null,
      lastStatus: null,
      lastError: null,
    };
  }

  async find(id: string): Promise<Subscription | undefined> {
    const row = this.#db.get<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?`,
      id,
    );
    return row && toSubscription(row);
  }

  async update(subscription: Subscription): Promise<Subscription | undefined> {
    const result = this.#db.run(
      `UPDATE subscriptions SET url = ?, description = ?, types = ?, issuer = ?, card_set = ?, state = ?,
        updated_at = ?, version = version + 1
       WHERE id = ? AND version = ?`,
      ...subscriptionUpdateValues(subscription, flag),
    );
    // Read back: the outcome of the latest attempt may have changed since the caller read it.
    return result.changes === 0 ? undefined : this.find(subscription.id);
  }

  async delete(id: string): Promise<void> {
    // Explicit rather than left to ON DELETE CASCADE, which needs `foreign_keys` on the connection.
    this.#db.run("DELETE FROM deliveries WHERE subscription_id = ?", id);
    this.#db.run("DELETE FROM subscription_cards WHERE subscription_id = ?", id);
    this.#db.run("DELETE FROM subscriptions WHERE id = ?", id);
  }

  async listForOrganisation(organisationId: string, page: KeysetPage): Promise<Keyed<Subscription>> {
    const rows = this.#db.all<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE organisation_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      organisationId,
      page.after,
      page.limit + 1,
    );
    return keyedSubscriptions(rows, page.limit);
  }

  async listActive(): Promise<Subscription[]> {
    return this.#db
      .all<SubscriptionRow>(
        `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE state = 'active' ORDER BY seq`,
      )
      .map(toSubscription);
  }

  async addCards(id: string, escns: readonly string[]): Promise<number> {
    // One prepared statement per ESCN: inside the caller's transaction each costs no more than a B-tree insert.
    const stmt = this.#db.statement(
      "INSERT INTO subscription_cards (subscription_id, escn) VALUES (?, ?) ON CONFLICT DO NOTHING",
    );
    let added = 0;
    for (const escn of escns) added += stmt.run(id, escn).changes;
    return added;
  }

  async removeCards(id: string, escns: readonly string[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < escns.length; i += CHUNK) {
      const chunk = escns.slice(i, i + CHUNK);
      removed += this.#db.run(
        `DELETE FROM subscription_cards WHERE subscription_id = ? AND escn IN (${placeholders(chunk.length)})`,
        id,
        ...chunk,
      ).changes;
    }
    return removed;
  }

  async countCards(id: string): Promise<number> {
    return (
      this.#db.get<{ n: number }>(
        "SELECT count(*) AS n FROM subscription_cards WHERE subscription_id = ?",
        id,
      )?.n ?? 0
    );
  }

  async listCards(id: string, after: string, limit: number): Promise<string[]> {
    return this.#db
      .all<{ escn: string }>(
        "SELECT escn FROM subscription_cards WHERE subscription_id = ? AND escn > ? ORDER BY escn LIMIT ?",
        id,
        after,
        limit,
      )
      .map((r) => r.escn);
  }

  /** Only the ESCNs some card set holds are keys of the answer. */
  async holdersOfCards(escns: readonly string[]): Promise<Map<string, string[]>> {
    const holders = new Map<string, string[]>();
    for (let i = 0; i < escns.length; i += CHUNK) {
      const chunk = escns.slice(i, i + CHUNK);
      const rows = this.#db.all<{ escn: string; subscription_id: string }>(
        `SELECT escn, subscription_id FROM subscription_cards WHERE escn IN (${placeholders(chunk.length)})
         ORDER BY escn, subscription_id`,
        ...chunk,
      );
      for (const row of rows) {
        const list = holders.get(row.escn);
        if (list) {
          if (!list.includes(row.subscription_id)) list.push(row.subscription_id);
        } else holders.set(row.escn, [row.subscription_id]);
      }
    }
    return holders;
  }

  /** An attempt older than the one recorded (senders finishing out of order) leaves it in place. */
  async recordAttempt(id: string, at: string, status: number | null, error: string | null): Promise<void> {
    this.#db.run(
      `UPDATE subscriptions SET last_attempt_at = ?, last_status = ?, last_error = ?
       WHERE id = ? AND (last_attempt_at IS NULL OR last_attempt_at <= ?)`,
      at,
      status,
      error,
      id,
      at,
    );
  }
}
