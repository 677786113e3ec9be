import { randomUUID } from "node:crypto";
import { DISPATCH_CURSOR } from "../delivery/event-dispatcher.ts";
import { generateWebhookSecret } from "../delivery/standard-webhooks.ts";
import {
  ConflictError,
  InvalidValueError,
  NotFoundError,
  PreconditionFailedError,
} from "../domain/errors.ts";
import { parseEscn } from "../domain/escn.ts";
import { EVENT_NAMESPACE, type EventType, isEventType } from "../domain/events.ts";
import type { Delivery, DeliveryState, Subscription, SubscriptionState } from "../domain/subscription.ts";
import { parseWebhookUrl } from "../domain/webhook-url.ts";
import type { Keyed, KeysetPage, Repositories } from "../ports/storage.ts";
import { type Principal, requireScope } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

/** Most ESCNs one call may add to or remove from a card set. */
export const CARD_SET_CHANGE_LIMIT = 1000;
/** Most ESCNs a card set may hold. */
export const CARD_SET_LIMIT = 100_000;

export interface SubscriptionInput {
  readonly url: string;
  readonly description?: string | null;
  readonly types?: readonly string[] | null;
  readonly issuer?: string | null;
  readonly cardSet?: boolean;
  readonly cards?: readonly string[];
}

export interface SubscriptionPatch {
  readonly url?: string;
  readonly description?: string | null;
  readonly types?: readonly string[] | null;
  readonly issuer?: string | null;
  readonly cardSet?: boolean;
  readonly state?: SubscriptionState;
}

/** A subscription with what its owner needs to see how delivery goes. */
export interface SubscriptionReport {
  readonly subscription: Subscription;
  readonly cards: number;
  readonly deliveries: Record<DeliveryState, number>;
}

/**
 * Webhook subscriptions: an organisation's own, seen and changed by it alone (another organisation's
 * subscription answers exactly like one that does not exist). The signing secret is shown once, at
 * creation.
 */
export class SubscriptionService {
  readonly #ctx: Pick<ServiceContext, "storage" | "clock">;
  readonly #allowPrivateAddresses: boolean;
  readonly #onChange: () => void;

  constructor(
    ctx: Pick<ServiceContext, "storage" | "clock">,
    options: { allowPrivateAddresses: boolean; onDeliveriesQueued?: () => void },
  ) {
    this.#ctx = ctx;
    this.#allowPrivateAddresses = options.allowPrivateAddresses;
    this.#onChange = options.onDeliveriesQueued ?? (() => undefined);
  }

  async create(
    caller: Principal,
    input: SubscriptionInput,
  ): Promise<{ subscription: Subscription; secret: string }> {
    requireScope(caller, "subscriptions:manage");
    const url = parseWebhookUrl(input.url, { allowPrivateAddresses: this.#allowPrivateAddresses }, "/url");
    const types = parseTypes(input.types ?? null);
    const cards = parseCards(input.cards ?? [], "/cards");
    const now = this.#ctx.clock.now().toISOString();
    const secret = generateWebhookSecret();
    const subscription = await this.#ctx.storage.transaction(async (tx) => {
      const issuer = await this.#issuer(tx, input.issuer ?? null);
      const created = await tx.subscriptions.insert({
        id: randomUUID(),
        organisationId: caller.organisation.id,
        url,
        secret,
        description: input.description ?? null,
        types,
        issuer,
        cardSet: input.cardSet ?? cards.length > 0,
        state: "active",
        startAfter: await this.#feedPositionNow(tx),
        createdAt: now,
        updatedAt: now,
      });
      if (cards.length > 0) await tx.subscriptions.addCards(created.id, cards);
      return created;
    });
    return { subscription, secret };
  }

  async get(caller: Principal, id: string): Promise<SubscriptionReport> {
    requireScope(caller, "subscriptions:manage");
    const read = this.#ctx.storage.read;
    const subscription = await this.#own(read, caller, id);
    const [cards, deliveries] = await Promise.all([
      read.subscriptions.countCards(subscription.id),
      read.deliveries.countByState(subscription.id),
    ]);
    return { subscription, cards, deliveries };
  }

  /** For readers of the feed that name a subscription: its filters apply. */
  async find(caller: Principal, id: string): Promise<Subscription> {
    return this.#own(this.#ctx.storage.read, caller, id);
  }

  async list(caller: Principal, page: KeysetPage): Promise<Keyed<Subscription>> {
    requireScope(caller, "subscriptions:manage");
    return this.#ctx.storage.read.subscriptions.listForOrganisation(caller.organisation.id, page);
  }

  async update(
    caller: Principal,
    id: string,
    patch: SubscriptionPatch,
    expectedVersion: number | null,
  ): Promise<Subscription> {
    requireScope(caller, "subscriptions:manage");
    const url =
      patch.url === undefined
        ? undefined
        : parseWebhookUrl(patch.url, { allowPrivateAddresses: this.#allowPrivateAddresses }, "/url");
    const types = patch.types === undefined ? undefined : parseTypes(patch.types);
    const now = this.#ctx.clock.now().toISOString();
    return this.#ctx.storage.transaction(async (tx) => {
      const current = await this.#own(tx, caller, id);
      if (expectedVersion !== null && expectedVersion !== current.version) {
        throw new PreconditionFailedError();
      }
      const issuer = patch.issuer === undefined ? current.issuer : await this.#issuer(tx, patch.issuer);
      const saved = await tx.subscriptions.update({
        ...current,
        url: url ?? current.url,
        description: patch.description === undefined ? current.description : patch.description,
        types: types === undefined ? current.types : types,
        issuer,
        cardSet: patch.cardSet ?? current.cardSet,
        state: patch.state ?? current.state,
        updatedAt: now,
      });
      if (saved === undefined)
        throw new ConflictError("VERSION_MISMATCH", "the subscription changed meanwhile");
      return saved;
    });
  }

  async delete(caller: Principal, id: string): Promise<void> {
    requireScope(caller, "subscriptions:manage");
    await this.#ctx.storage.transaction(async (tx) => {
      const current = await this.#own(tx, caller, id);
      await tx.subscriptions.delete(current.id);
    });
  }

  /** Grows and shrinks the card set; returns how many ESCNs it holds afterwards. */
  async changeCards(
    caller: Principal,
    id: string,
    change: { add?: readonly string[]; remove?: readonly string[] },
  ): Promise<{ added: number; removed: number; cards: number }> {
    requireScope(caller, "subscriptions:manage");
    const add = parseCards(change.add ?? [], "/add");
    const remove = parseCards(change.remove ?? [], "/remove");
    return this.#ctx.storage.transaction(async (tx) => {
      const current = await this.#own(tx, caller, id);
      const removed = remove.length > 0 ? await tx.subscriptions.removeCards(current.id, remove) : 0;
      const added = add.length > 0 ? await tx.subscriptions.addCards(current.id, add) : 0;
      const cards = await tx.subscriptions.countCards(current.id);
      if (cards > CARD_SET_LIMIT) {
        // Thrown inside the transaction: nothing of this change stays.
        throw new InvalidValueError(
          "CARD_SET_TOO_LARGE",
          "/add",
          `a card set holds at most ${CARD_SET_LIMIT} ESCNs`,
        );
      }
      return { added, removed, cards };
    });
  }

  async listCards(caller: Principal, id: string, after: string, limit: number): Promise<string[]> {
    requireScope(caller, "subscriptions:manage");
    const read = this.#ctx.storage.read;
    const subscription = await this.#own(read, caller, id);
    return read.subscriptions.listCards(subscription.id, after, limit);
  }

  async listDeliveries(
    caller: Principal,
    id: string,
    state: DeliveryState | null,
    page: KeysetPage,
  ): Promise<Keyed<Delivery>> {
    requireScope(caller, "subscriptions:manage");
    const read = this.#ctx.storage.read;
    const subscription = await this.#own(read, caller, id);
    return read.deliveries.list(subscription.id, state, page);
  }

  /** Dead deliveries (all, or one) back in the queue, due now; returns how many. */
  async redeliver(caller: Principal, id: string, deliveryId: number | null): Promise<number> {
    requireScope(caller, "subscriptions:manage");
    const now = this.#ctx.clock.now().toISOString();
    const count = await this.#ctx.storage.transaction(async (tx) => {
      const subscription = await this.#own(tx, caller, id);
      if (deliveryId !== null && (await tx.deliveries.find(subscription.id, deliveryId)) === undefined) {
        throw new NotFoundError("DELIVERY_NOT_FOUND", "no such delivery in this subscription");
      }
      return tx.deliveries.redeliver(subscription.id, deliveryId === null ? null : [deliveryId], now);
    });
    if (count > 0) this.#onChange();
    return count;
  }

  /**
   * Where the new subscription starts. The dispatcher's cursor is locked first, so that the dispatcher
   * cannot queue an event after this position while the subscription is not yet visible to it: it waits
   * for this transaction, then sees the subscription.
   */
  async #feedPositionNow(tx: Repositories): Promise<number> {
    await tx.cursors.getForUpdate(DISPATCH_CURSOR);
    return tx.outbox.latestPosition();
  }

  async #own(
    repos: { subscriptions: { find(id: string): Promise<Subscription | undefined> } },
    caller: Principal,
    id: string,
  ): Promise<Subscription> {
    const found = /^[0-9a-f-]{36}$/i.test(id) ? await repos.subscriptions.find(id.toLowerCase()) : undefined;
    if (found === undefined || found.organisationId !== caller.organisation.id) {
      throw new NotFoundError("SUBSCRIPTION_NOT_FOUND", "no such subscription");
    }
    return found;
  }

  async #issuer(
    tx: { organisations: { findById(id: string): Promise<unknown> } },
    issuer: string | null,
  ): Promise<string | null> {
    if (issuer === null) return null;
    if ((await tx.organisations.findById(issuer)) === undefined) {
      throw new InvalidValueError("ISSUER_UNKNOWN", "/issuer", "no organisation has this identifier");
    }
    return issuer;
  }
}

/** Event types as the API takes them: `card.updated` or the CloudEvents type `eu.openesc.card.updated`. */
function parseTypes(types: readonly string[] | null): readonly EventType[] | null {
  if (types === null) return null;
  if (types.length === 0) {
    throw new InvalidValueError(
      "EVENT_TYPE_UNKNOWN",
      "/types",
      "must name at least one type, or be null for all",
    );
  }
  const parsed = types.map((raw, i) => {
    const short = raw.startsWith(`${EVENT_NAMESPACE}.`) ? raw.slice(EVENT_NAMESPACE.length + 1) : raw;
    if (!isEventType(short)) {
      throw new InvalidValueError(
        "EVENT_TYPE_UNKNOWN",
        `/types/${i}`,
        `"${raw.slice(0, 80)}" is not an event type of this hub`,
      );
    }
    return short;
  });
  return [...new Set(parsed)];
}

function parseCards(escns: readonly string[], field: string): string[] {
  if (escns.length > CARD_SET_CHANGE_LIMIT) {
    throw new InvalidValueError(
      "CARD_SET_TOO_LARGE",
      field,
      `at most ${CARD_SET_CHANGE_LIMIT} ESCNs per call`,
    );
  }
  return [...new Set(escns.map((escn, i) => parseEscn(escn, `${field}/${i}`)))];
}
