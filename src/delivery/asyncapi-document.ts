import { readFileSync } from "node:fs";
import { CLOUD_EVENT_CONTENT_TYPE, cloudEventType, toCloudEvent } from "../domain/cloud-event.ts";
import { EVENT_TYPES, type EventType, eventFamily, type StoredEvent } from "../domain/events.ts";
import type { DeliveryProjection } from "../domain/subscription.ts";
import { AUDIENCE, cloudEventSchema, EVENT_CATALOGUE, type JsonSchema } from "./event-catalogue.ts";
import { signWebhook } from "./standard-webhooks.ts";

/**
 * The hub's events as an AsyncAPI 3.0 document, built from the event catalogue: served at `/asyncapi.json`
 * for code generators and viewers, and what docs/events.md explains in prose.
 *
 * Three channels: webhook deliveries to each subscription's URL, the server-sent event stream, and the
 * NATS subjects internal consumers read. One message per event type (and per public projection of card
 * events), whose payload is the whole CloudEvent; the webhook form adds the Standard Webhooks headers.
 */
export interface AsyncApiDocument {
  readonly asyncapi: "3.0.0";
  readonly info: JsonSchema;
  readonly defaultContentType: string;
  readonly servers: JsonSchema;
  readonly channels: JsonSchema;
  readonly operations: JsonSchema;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly messages: Readonly<Record<string, JsonSchema>>;
    readonly [part: string]: unknown;
  };
}

const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/**
 * Not a real secret: the one the webhook examples are signed with, so that a receiver can check its
 * verification against them (docs/events.md shows the same).
 */
export const EXAMPLE_WEBHOOK_SECRET = `whsec_${Buffer.from("openesc example secret, not real").toString("base64")}`;

const NATS_SUBJECT = "openesc.events.{family}.{issuer}";
const ref = (pointer: string) => ({ $ref: pointer });

/** Component names of the messages: the type, and `<type>.public` for the public form of card events. */
function messageKeys(): { key: string; type: EventType; projection: DeliveryProjection }[] {
  return EVENT_TYPES.flatMap((type) => [
    { key: type as string, type, projection: "full" as const },
    ...(EVENT_CATALOGUE[type].publicData === null
      ? []
      : [{ key: `${type}.public`, type, projection: "public" as const }]),
  ]);
}

/** The example event of `type`, as a subscriber receives it. */
export function exampleCloudEvent(type: EventType, projection: DeliveryProjection, publicUrl: string) {
  const entry = EVENT_CATALOGUE[type];
  const index = EVENT_TYPES.indexOf(type) + 1;
  const event: StoredEvent = {
    id: `5f0c6e1a-3b7d-4c2e-9a41-${String(index).padStart(12, "0")}`,
    position: 41_000 + index,
    type,
    subject: String(entry.example[entry.subject]),
    audience: [],
    data: entry.example,
    occurredAt: `2026-10-01T08:${String(index).padStart(2, "0")}:00.000Z`,
  };
  return toCloudEvent(event, projection, publicUrl);
}

/** The AsyncAPI 3.0.0 document of the hub reachable at `publicUrl` (its `OPENESC_PUBLIC_URL`). */
export function asyncApiDocument({ publicUrl }: { readonly publicUrl: string }): AsyncApiDocument {
  const url = new URL(publicUrl);
  const keys = messageKeys();
  const schemas: Record<string, JsonSchema> = {};
  const messages: Record<string, JsonSchema> = {};
  for (const { key, type, projection } of keys) {
    const entry = EVENT_CATALOGUE[type];
    const example = exampleCloudEvent(type, projection, publicUrl);
    const common = {
      name: key,
      title: projection === "public" ? `${cloudEventType(type)} (public)` : cloudEventType(type),
      summary: entry.summary,
      description:
        projection === "public"
          ? "What a subscriber that follows the card (its card set) but is not its issuer or card bureau receives."
          : `Subject: the ${entry.subject === "escn" ? "ESCN" : entry.subject === "esi" ? "ESI" : "organisation"}. ` +
            `Reaches: ${AUDIENCE[eventFamily(type)]}`,
      contentType: CLOUD_EVENT_CONTENT_TYPE,
      payload: ref(`#/components/schemas/${key}`),
    };
    schemas[key] = cloudEventSchema(type, projection);
    messages[key] = { ...common, examples: [{ name: key, payload: example }] };
    const body = JSON.stringify(example);
    const headers = signWebhook(EXAMPLE_WEBHOOK_SECRET, example.id, new Date(example.time), body);
    messages[`webhook.${key}`] = {
      ...common,
      traits: [ref("#/components/messageTraits/standardWebhooks")],
      examples: [
        { name: key, headers: { ...headers, "content-type": CLOUD_EVENT_CONTENT_TYPE }, payload: example },
      ],
    };
  }
  const channelMessages = (prefix: string) =>
    Object.fromEntries(keys.map(({ key }) => [key, ref(`#/components/messages/${prefix}${key}`)]));
  const operationMessages = (channel: string) =>
    keys.map(({ key }) => ref(`#/channels/${channel}/messages/${key}`));

  return {
    asyncapi: "3.0.0",
    info: {
      title: "OpenESC events",
      version: VERSION,
      description:
        "Every change in the hub is an event, a CloudEvents 1.0 event (`eu.openesc.*`) carrying identifiers, the " +
        "new status and validity, never names or contact data. Organisations receive them as signed webhooks " +
        "(Standard Webhooks), as server-sent events (`GET /v1/events/stream`), or page through them " +
        "(`GET /v1/events?after=`, in the OpenAPI document at `/openapi.json`). Delivery is at least once, in " +
        "order per subject: drop duplicates by the CloudEvent `id`. See docs/events.md.",
      license: { name: "EUPL-1.2" },
    },
    defaultContentType: CLOUD_EVENT_CONTENT_TYPE,
    servers: {
      hub: {
        host: url.host,
        protocol: url.protocol.replace(/:$/, ""),
        ...(url.pathname === "/" ? {} : { pathname: url.pathname.replace(/\/$/, "") }),
        title: "The hub",
        description: "The hub's HTTP server: the event stream and the pull feed. Webhooks are sent from it.",
        security: [ref("#/components/securitySchemes/bearer")],
      },
      nats: {
        host: "{host}",
        protocol: "nats",
        title: "The deployment's NATS",
        description:
          "The NATS JetStream server of a deployment that uses one (`NATS_URL`), for internal consumers only: " +
          "organisations never reach it. See docs/nats.md.",
        variables: { host: { default: "localhost:4222", description: "host:port of `NATS_URL`" } },
      },
    },
    channels: {
      webhooks: {
        address: null,
        title: "Webhook deliveries",
        description:
          "The URL of each subscription (`POST /v1/subscriptions`): the hub POSTs one CloudEvent per request and " +
          "takes any 2xx answer as received. Other answers and timeouts are retried (docs/webhooks.md).",
        messages: channelMessages("webhook."),
      },
      eventStream: {
        address: "/v1/events/stream",
        servers: [ref("#/servers/hub")],
        title: "Server-sent events",
        description:
          "`text/event-stream`: each message has `id:` = the event's `sequence`, `event:` = its CloudEvents " +
          "type and `data:` = the CloudEvent. Reconnect with `Last-Event-ID` to resume without a gap.",
        messages: channelMessages(""),
      },
      natsEvents: {
        address: NATS_SUBJECT,
        servers: [ref("#/servers/nats")],
        title: "NATS subjects",
        description:
          "Every event, as the hub stores it, on `<prefix>.<family>.<issuer>`; the prefix is " +
          "`OPENESC_NATS_SUBJECT_PREFIX` (default `openesc.events`). See docs/nats.md.",
        parameters: {
          family: {
            enum: [...new Set(EVENT_TYPES.map(eventFamily))],
            description: "The event type's first word",
          },
          issuer: {
            description:
              "The organisation the event is about: a card's issuer, the organisation of a link or status, the " +
              "organisation itself (docs/nats.md names the token of consent events, which have none)",
          },
        },
        messages: { storedEvent: ref("#/components/messages/storedEvent") },
      },
    },
    operations: {
      deliverWebhooks: {
        action: "send",
        channel: ref("#/channels/webhooks"),
        title: "Deliver events to subscriptions",
        summary:
          "POST each event a subscription may see to its URL, signed, at least once, in order per subject",
        bindings: { http: { method: "POST", bindingVersion: "0.3.0" } },
        messages: operationMessages("webhooks"),
      },
      streamEvents: {
        action: "send",
        channel: ref("#/channels/eventStream"),
        title: "Stream events",
        summary: "Send each event the caller may see, as it is committed, to a token with `events:read`",
        security: [ref("#/components/securitySchemes/bearer")],
        messages: operationMessages("eventStream"),
      },
      publishEvents: {
        action: "send",
        channel: ref("#/channels/natsEvents"),
        title: "Publish events on NATS",
        summary: "The relay publishes outbox events in feed order, de-duplicated by id",
        messages: [ref("#/channels/natsEvents/messages/storedEvent")],
      },
      fanOutEvents: {
        action: "receive",
        channel: ref("#/channels/natsEvents"),
        title: "Fan events out to subscriptions",
        summary: "The hub's own consumer group reads the subjects to queue webhook deliveries",
        messages: [ref("#/channels/natsEvents/messages/storedEvent")],
      },
    },
    components: {
      schemas: { ...schemas, StoredEvent: storedEventSchema(), StandardWebhooksHeaders: webhookHeaders() },
      messages: {
        ...messages,
        storedEvent: {
          name: "storedEvent",
          title: "An event as the hub stores it",
          summary: "Internal: the outbox row, with its audience. Subscribers get CloudEvents instead.",
          contentType: "application/json",
          payload: ref("#/components/schemas/StoredEvent"),
        },
      },
      messageTraits: {
        standardWebhooks: {
          headers: ref("#/components/schemas/StandardWebhooksHeaders"),
          description:
            "Signed per Standard Webhooks: check `webhook-signature` with the subscription's secret before " +
            `trusting the body. The examples are signed with ${EXAMPLE_WEBHOOK_SECRET}.`,
        },
      },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "An API token of the organisation with the scope `events:read`",
        },
      },
    },
  };
}

function webhookHeaders(): JsonSchema {
  return {
    type: "object",
    required: ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type"],
    properties: {
      "webhook-id": {
        type: "string",
        description:
          "The CloudEvent's `id`, the same on every attempt: drop a delivery whose id you have seen",
      },
      "webhook-timestamp": {
        type: "string",
        pattern: "^[0-9]+$",
        description:
          "When this attempt was sent, in seconds since the epoch; refuse one more than 5 minutes off",
      },
      "webhook-signature": {
        type: "string",
        pattern: "^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$",
        description:
          "`v1,` + base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` under the secret (the " +
          "base64 after `whsec_`); several, space-separated, while a secret is being rotated",
      },
      "content-type": { type: "string", const: CLOUD_EVENT_CONTENT_TYPE },
    },
  };
}

function storedEventSchema(): JsonSchema {
  return {
    type: "object",
    required: ["id", "position", "type", "subject", "audience", "data", "occurredAt"],
    properties: {
      id: { type: "string", format: "uuid", description: "The CloudEvent `id`" },
      position: { type: "integer", minimum: 1, description: "The feed position (the CloudEvent `sequence`)" },
      type: { type: "string", enum: [...EVENT_TYPES], description: "The type, without `eu.openesc.`" },
      subject: { type: "string", description: "The ESCN, ESI or organisation the event is about" },
      audience: {
        type: "array",
        items: { type: "string" },
        description: "The organisations entitled to the whole event",
      },
      data: { type: "object", description: "The same `data` as the CloudEvent of the type, in full" },
      occurredAt: { type: "string", format: "date-time" },
    },
  };
}
