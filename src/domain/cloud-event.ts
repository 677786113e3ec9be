import { EVENT_NAMESPACE, eventFamily, type StoredEvent } from "./events.ts";
import type { DeliveryProjection } from "./subscription.ts";

/**
 * An event as subscribers receive it: a CloudEvents 1.0 event in structured JSON mode
 * (`application/cloudevents+json`), the same on webhooks, server-sent events, the pull feed and NATS.
 */
export interface CloudEvent {
  readonly specversion: "1.0";
  readonly id: string;
  /** The hub's feed, under the public URL (`…/v1/events`). */
  readonly source: string;
  /** `eu.openesc.` + the event type, e.g. `eu.openesc.card.updated`. */
  readonly type: string;
  /** The ESCN for card events, the ESI for person, status and consent events, the organisation's id. */
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: "application/json";
  /** CloudEvents' `sequence` extension: the event's feed position, a cursor for `after=` and `Last-Event-ID`. */
  readonly sequence: string;
  readonly data: Readonly<Record<string, string | number | boolean | null>>;
}

export const CLOUD_EVENT_CONTENT_TYPE = "application/cloudevents+json";

/** `eu.openesc.card.updated` from `card.updated`. */
export function cloudEventType(type: StoredEvent["type"]): string {
  return `${EVENT_NAMESPACE}.${type}`;
}

/**
 * What a card event says to a subscriber outside its audience that follows the card (its card set): only
 * what the public status already shows to anyone holding the number.
 */
const PUBLIC_CARD_FIELDS = ["escn", "status", "expiresAt"] as const;

export function toCloudEvent(
  event: StoredEvent,
  projection: DeliveryProjection,
  publicUrl: string,
): CloudEvent {
  let data = event.data;
  if (projection === "public") {
    if (eventFamily(event.type) !== "card") {
      // Only card events have a public form; anything else must never reach a subscriber this way.
      throw new TypeError(`event type ${event.type} has no public projection`);
    }
    data = Object.fromEntries(PUBLIC_CARD_FIELDS.map((name) => [name, event.data[name] ?? null]));
  }
  return {
    specversion: "1.0",
    id: event.id,
    source: `${publicUrl}/v1/events`,
    type: cloudEventType(event.type),
    subject: event.subject,
    time: event.occurredAt,
    datacontenttype: "application/json",
    sequence: String(event.position),
    data,
  };
}
