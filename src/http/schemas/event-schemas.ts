import { Type } from "typebox";
import { EVENT_TYPES } from "../../domain/events.ts";
import { DELIVERY_STATES, SUBSCRIPTION_STATES } from "../../domain/subscription.ts";
import { data } from "./data-annotation.ts";
import { literals, nullable, strict } from "./schema-helpers.ts";

/** Schemas of subscriptions, deliveries and the event feed (`/v1/subscriptions`, `/v1/events`). */
const typesDescription = `Event types delivered, as \`card.updated\` or \`eu.openesc.card.updated\`; null for all. Known: ${EVENT_TYPES.join(", ")}`;
// No maxItems: the service answers CARD_SET_TOO_LARGE above 1,000, which says what to do about it.
const EscnList = (description: string) => Type.Array(Type.String({ maxLength: 64 }), { description });

export const SubscriptionInput = Type.Object(
  {
    url: Type.String({
      maxLength: 2048,
      description:
        "Where the hub POSTs events: an absolute http(s) URL. Private, loopback and link-local addresses are refused (checked again at every connection) unless the operator allows them",
    }),
    description: Type.Optional(nullable(Type.String({ maxLength: 500 }))),
    types: Type.Optional(
      nullable(Type.Array(Type.String({ maxLength: 100 }), { description: typesDescription })),
    ),
    issuer: Type.Optional(
      nullable(
        Type.String({
          description: "Only events about this organisation (a card's issuer, a status's institution)",
        }),
      ),
    ),
    cardSet: Type.Optional(
      Type.Boolean({
        description:
          "Card events only for the cards in the subscription's card set (default: true when `cards` is given)",
      }),
    ),
    cards: Type.Optional(EscnList("The card set to start with: ESCNs of cards the subscriber has seen")),
  },
  { $id: "SubscriptionInput", ...strict },
);

export const SubscriptionPatch = Type.Object(
  {
    url: Type.Optional(Type.String({ maxLength: 2048 })),
    description: Type.Optional(nullable(Type.String({ maxLength: 500 }))),
    types: Type.Optional(
      nullable(Type.Array(Type.String({ maxLength: 100 }), { description: typesDescription })),
    ),
    issuer: Type.Optional(nullable(Type.String())),
    cardSet: Type.Optional(Type.Boolean()),
    state: Type.Optional(
      literals(SUBSCRIPTION_STATES, {
        description: "paused: no new events are queued for it (those already queued still go out)",
      }),
    ),
  },
  { $id: "SubscriptionPatch", ...strict, minProperties: 1 },
);

const subscriptionProperties = {
  id: Type.String({ format: "uuid", ...data("subscription.id") }),
  url: Type.String(data("subscription.url")),
  description: nullable(Type.String(), data("subscription.description")),
  types: nullable(Type.Array(literals(EVENT_TYPES)), data("subscription.filters")),
  issuer: nullable(Type.String(), data("subscription.filters")),
  cardSet: Type.Boolean(data("subscription.filters")),
  state: literals(SUBSCRIPTION_STATES, data("subscription.state")),
  createdAt: Type.String({ format: "date-time", ...data("subscription.timestamps") }),
  updatedAt: Type.String({ format: "date-time", ...data("subscription.timestamps") }),
  version: Type.Integer(data("subscription.timestamps")),
  lastAttemptAt: nullable(Type.String({ format: "date-time" }), data("subscription.lastAttempt")),
  lastStatus: nullable(Type.Integer(), data("subscription.lastAttempt")),
  lastError: nullable(Type.String(), data("subscription.lastAttempt")),
};

export const Subscription = Type.Object(subscriptionProperties, {
  $id: "Subscription",
  description: "A webhook subscription, with the outcome of its latest delivery attempt",
});

export const SubscriptionDetail = Type.Object(
  {
    ...subscriptionProperties,
    cards: Type.Integer({ description: "ESCNs in the card set", ...data("subscription.cards") }),
    deliveries: Type.Object(
      {
        pending: Type.Integer(data("delivery.state")),
        delivered: Type.Integer(data("delivery.state")),
        dead: Type.Integer(data("delivery.state")),
      },
      {
        description: "Deliveries by state (delivered ones are kept for a few days)",
        ...data("delivery.state"),
      },
    ),
  },
  { $id: "SubscriptionDetail", description: "A subscription with its card set's size and its queue" },
);

export const CreatedSubscription = Type.Object(
  {
    ...subscriptionProperties,
    secret: Type.String({
      description:
        "The Standard Webhooks signing secret (`whsec_…`). Shown this once: keep it to verify `webhook-signature`",
      ...data("subscription.secret"),
    }),
  },
  { $id: "CreatedSubscription", description: "A new subscription, with its signing secret" },
);

export const CardSetChange = Type.Object(
  {
    add: Type.Optional(EscnList("ESCNs to follow")),
    remove: Type.Optional(EscnList("ESCNs to stop following")),
  },
  { $id: "CardSetChange", ...strict, minProperties: 1 },
);

export const CardSetChanged = Type.Object(
  {
    added: Type.Integer(data("subscription.cards")),
    removed: Type.Integer(data("subscription.cards")),
    cards: Type.Integer({ description: "ESCNs in the card set now", ...data("subscription.cards") }),
  },
  { $id: "CardSetChanged" },
);

export const Delivery = Type.Object(
  {
    id: Type.Integer(data("delivery.id")),
    eventId: Type.String({
      description: "The event's id, which is also the `webhook-id`",
      ...data("event.id"),
    }),
    sequence: Type.String({ description: "The event's feed position", ...data("event.id") }),
    projection: literals(["full", "public"], data("delivery.state")),
    state: literals(DELIVERY_STATES, data("delivery.state")),
    attempts: Type.Integer(data("delivery.state")),
    createdAt: Type.String({ format: "date-time", ...data("delivery.attempts") }),
    nextAttemptAt: nullable(Type.String({ format: "date-time" }), data("delivery.attempts")),
    lastAttemptAt: nullable(Type.String({ format: "date-time" }), data("delivery.attempts")),
    lastStatus: nullable(Type.Integer(), data("delivery.attempts")),
    lastError: nullable(Type.String(), data("delivery.attempts")),
    deliveredAt: nullable(Type.String({ format: "date-time" }), data("delivery.attempts")),
  },
  { $id: "Delivery", description: "One event to one subscription, with its attempts" },
);

const eventDataValue = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);

/** Every field any event's `data` carries (the catalogue in src/delivery/event-catalogue.ts has them per type). */
const EVENT_DATA_FIELDS = [
  "escn",
  "issuer",
  "status",
  "inactiveReason",
  "expiresAt",
  "version",
  "esi",
  "organisation",
  "state",
  "validFrom",
  "validUntil",
  "kind",
  "purpose",
  "wordingVersion",
] as const;

export const CloudEvent = Type.Object(
  {
    specversion: Type.Literal("1.0", data("event.id")),
    id: Type.String(data("event.id")),
    source: Type.String(data("event.id")),
    type: Type.String({ description: "`eu.openesc.` + the event type", ...data("event.type") }),
    subject: Type.String({ description: "ESCN, ESI or organisation identifier", ...data("event.subject") }),
    time: Type.String({ format: "date-time", ...data("event.occurredAt") }),
    datacontenttype: Type.Literal("application/json", data("event.type")),
    sequence: Type.String({
      description: "The feed position: a cursor for `after` and `Last-Event-ID`",
      ...data("event.id"),
    }),
    data: Type.Object(
      Object.fromEntries(
        EVENT_DATA_FIELDS.map((name) => [
          name,
          Type.Optional(Type.Union([eventDataValue], data("event.data"))),
        ]),
      ),
      {
        description:
          "Identifiers, the new status and validity; never names or contact data. Which fields each type carries: docs/events.md and /asyncapi.json",
        additionalProperties: false,
        ...data("event.data"),
      },
    ),
  },
  { $id: "CloudEvent", description: "A CloudEvents 1.0 event in structured JSON mode" },
);

export const EVENT_SCHEMAS = [
  SubscriptionInput,
  SubscriptionPatch,
  Subscription,
  SubscriptionDetail,
  CreatedSubscription,
  CardSetChange,
  CardSetChanged,
  Delivery,
  CloudEvent,
];

export const eventRef = (id: string, options: object = {}) =>
  Type.Unsafe<unknown>({ $ref: `${id}#`, ...options });
