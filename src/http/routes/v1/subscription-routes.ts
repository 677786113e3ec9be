import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { InvalidValueError } from "../../../domain/errors.ts";
import {
  DELIVERY_STATES,
  type Delivery,
  type DeliveryState,
  type Subscription,
} from "../../../domain/subscription.ts";
import type { SubscriptionInput, SubscriptionPatch } from "../../../services/subscription-service.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { KeysetQuery, listOf, nativeRef } from "../../schemas/native-schemas.ts";
import { bearer, problems } from "../common-responses.ts";
import { encodeCursor, etag, expectedVersion, keysetPage } from "./keyset-cursor.ts";

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const TAGS = ["subscriptions"];
const IdParams = Type.Object({ id: Type.String({ description: "The subscription's id" }) });
const DeliveryParams = Type.Object({
  id: Type.String({ description: "The subscription's id" }),
  deliveryId: Type.String({ pattern: "^[0-9]{1,15}$", description: "The delivery's id" }),
});
const config = { auth: true, purpose: "change-notification" } as const;

/** What the owner sees of a subscription: everything but its secret, which is shown once. */
function subscriptionView(s: Subscription) {
  const { secret: _secret, seq: _seq, organisationId: _organisation, ...view } = s;
  return view;
}

function deliveryView(d: Delivery) {
  return {
    id: d.id,
    eventId: d.eventId,
    sequence: String(d.position),
    projection: d.projection,
    state: d.state,
    attempts: d.attempts,
    createdAt: d.createdAt,
    nextAttemptAt: d.state === "pending" ? d.nextAttemptAt : null,
    lastAttemptAt: d.lastAttemptAt,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    deliveredAt: d.deliveredAt,
  };
}

/**
 * Webhook subscriptions, their card sets and their deliveries (with the dead-letter list and manual
 * redelivery). Each organisation sees and changes only its own; another organisation's subscription
 * answers 404 exactly like one that does not exist.
 */
export function subscriptionRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  app.post<{ Body: SubscriptionInput }>(
    "/subscriptions",
    {
      config,
      schema: {
        operationId: "createSubscription",
        tags: TAGS,
        summary: "Subscribe a webhook to the events the caller may see",
        description:
          "Events are POSTed as CloudEvents signed per Standard Webhooks with the `secret` of this answer, shown only here. " +
          "Filters: types, issuer, and the card set (cards the subscriber has seen; a service provider gets their public status changes).",
        security: bearer,
        body: nativeRef("SubscriptionInput"),
        response: { 201: json(nativeRef("CreatedSubscription"), "Created"), ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { subscription, secret } = await services.subscriptions.create(
        principalOf(request),
        request.body,
      );
      reply
        .code(201)
        .header("location", `/v1/subscriptions/${subscription.id}`)
        .header("etag", etag(subscription.version));
      return { ...subscriptionView(subscription), secret };
    },
  );

  app.get<{ Querystring: { after?: string; limit?: number } }>(
    "/subscriptions",
    {
      config,
      schema: {
        operationId: "listSubscriptions",
        tags: TAGS,
        summary: "The caller's subscriptions, cursor-paged",
        security: bearer,
        querystring: Type.Object(KeysetQuery),
        response: { 200: json(listOf("Subscription"), "A page"), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await services.subscriptions.list(
        principalOf(request),
        keysetPage(request.query, options.maxPageSize),
      );
      return { items: page.items.map(subscriptionView), next: encodeCursor(page.next) };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/subscriptions/:id",
    {
      config,
      schema: {
        operationId: "getSubscription",
        tags: TAGS,
        summary: "A subscription, how its deliveries go, and its card set's size",
        security: bearer,
        params: IdParams,
        response: { 200: json(nativeRef("SubscriptionDetail"), "Found"), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const report = await services.subscriptions.get(principalOf(request), request.params.id);
      reply.header("etag", etag(report.subscription.version));
      return { ...subscriptionView(report.subscription), cards: report.cards, deliveries: report.deliveries };
    },
  );

  app.patch<{ Params: { id: string }; Body: SubscriptionPatch; Headers: { "if-match"?: string } }>(
    "/subscriptions/:id",
    {
      config,
      schema: {
        operationId: "updateSubscription",
        tags: TAGS,
        summary: "Change a subscription's URL, filters or state (active, paused)",
        description: "`If-Match` with the ETag makes the change conditional (412 when it is stale).",
        security: bearer,
        params: IdParams,
        body: nativeRef("SubscriptionPatch"),
        response: { 200: json(nativeRef("Subscription"), "Changed"), ...problems(400, 401, 403, 404, 412) },
      },
    },
    async (request, reply) => {
      const saved = await services.subscriptions.update(
        principalOf(request),
        request.params.id,
        request.body,
        expectedVersion(request.headers["if-match"]),
      );
      reply.header("etag", etag(saved.version));
      return subscriptionView(saved);
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/subscriptions/:id",
    {
      config,
      schema: {
        operationId: "deleteSubscription",
        tags: TAGS,
        summary: "Unsubscribe: the subscription goes with its card set and its queue",
        security: bearer,
        params: IdParams,
        response: { 204: { description: "Deleted", type: "null" }, ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await services.subscriptions.delete(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: { add?: string[]; remove?: string[] } }>(
    "/subscriptions/:id/cards",
    {
      config,
      schema: {
        operationId: "changeSubscriptionCards",
        tags: TAGS,
        summary: "Grow or shrink the card set: the cards the subscriber follows",
        description: `At most 1,000 ESCNs added or removed per call. Removals apply first.`,
        security: bearer,
        params: IdParams,
        body: nativeRef("CardSetChange"),
        response: { 200: json(nativeRef("CardSetChanged"), "Changed"), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) =>
      services.subscriptions.changeCards(principalOf(request), request.params.id, request.body),
  );

  app.get<{ Params: { id: string }; Querystring: { after?: string; limit?: number } }>(
    "/subscriptions/:id/cards",
    {
      config,
      schema: {
        operationId: "listSubscriptionCards",
        tags: TAGS,
        summary: "The card set, in ESCN order",
        security: bearer,
        params: IdParams,
        querystring: Type.Object({
          after: Type.Optional(
            Type.String({ maxLength: 64, description: "The `next` of the previous page" }),
          ),
          limit: KeysetQuery.limit,
        }),
        response: {
          200: json(
            Type.Object({
              items: Type.Array(Type.String({ "x-data": "subscription.cards" })),
              next: Type.Union([Type.String(), Type.Null()]),
            }),
            "A page",
          ),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const limit = keysetPage({ limit: request.query.limit }, options.maxPageSize).limit;
      const items = await services.subscriptions.listCards(
        principalOf(request),
        request.params.id,
        request.query.after ?? "",
        limit,
      );
      return { items, next: items.length === limit ? (items[items.length - 1] ?? null) : null };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { after?: string; limit?: number; state?: DeliveryState } }>(
    "/subscriptions/:id/deliveries",
    {
      config,
      schema: {
        operationId: "listDeliveries",
        tags: TAGS,
        summary: "The subscription's deliveries: pending, delivered, or dead (the dead-letter list)",
        security: bearer,
        params: IdParams,
        querystring: Type.Object({
          ...KeysetQuery,
          state: Type.Optional(Type.Union(DELIVERY_STATES.map((s) => Type.Literal(s)))),
        }),
        response: { 200: json(listOf("Delivery"), "A page"), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const page = await services.subscriptions.listDeliveries(
        principalOf(request),
        request.params.id,
        request.query.state ?? null,
        keysetPage(request.query, options.maxPageSize),
      );
      return { items: page.items.map(deliveryView), next: encodeCursor(page.next) };
    },
  );

  app.post<{ Params: { id: string } }>(
    "/subscriptions/:id/redeliver",
    {
      config,
      schema: {
        operationId: "redeliverDead",
        tags: TAGS,
        summary: "Send every dead delivery of the subscription again",
        description:
          "Each goes back to the queue, due now, with a fresh retry horizon; order per subject holds.",
        security: bearer,
        params: IdParams,
        response: {
          200: json(
            Type.Object({ redelivered: Type.Integer({ "x-data": "delivery.state" }) }),
            "Queued again",
          ),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => ({
      redelivered: await services.subscriptions.redeliver(principalOf(request), request.params.id, null),
    }),
  );

  app.post<{ Params: { id: string; deliveryId: string } }>(
    "/subscriptions/:id/deliveries/:deliveryId/redeliver",
    {
      config,
      schema: {
        operationId: "redeliverOne",
        tags: TAGS,
        summary: "Send one dead delivery again",
        security: bearer,
        params: DeliveryParams,
        response: {
          200: json(
            Type.Object({ redelivered: Type.Integer({ "x-data": "delivery.state" }) }),
            "Queued again",
          ),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const deliveryId = Number(request.params.deliveryId);
      if (!Number.isSafeInteger(deliveryId))
        throw new InvalidValueError("VALIDATION_FAILED", "deliveryId", "not a delivery id");
      return {
        redelivered: await services.subscriptions.redeliver(
          principalOf(request),
          request.params.id,
          deliveryId,
        ),
      };
    },
  );
}
