/**
 * Domain events: every change to the hub's state produces one, written in the same transaction as the
 * change (the outbox). An event carries identifiers, the new status and validity, never names or contact
 * data: a subscriber that may see more fetches it through the API, where purpose and audit apply.
 */
export const EVENT_NAMESPACE = "eu.openesc";

export const EVENT_TYPES = [
  "organisation.created",
  "organisation.updated",
  "person.linked",
  "person.updated",
  "person.unlinked",
  "student-status.changed",
  "student-status.expired",
  "card.created",
  "card.updated",
  "card.expired",
  "card.deleted",
  "consent.given",
  "consent.withdrawn",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface DomainEvent {
  readonly type: EventType;
  /**
   * The ESCN for card events, the ESI for person, status and consent events, the identifier for
   * organisations.
   */
  readonly subject: string;
  /** Organisations entitled to see the event (tenant wall for delivery). */
  readonly audience: readonly string[];
  readonly data: Readonly<Record<string, string | number | boolean | null>>;
  readonly occurredAt: string;
}

/** An event once it has a place in the outbox. */
export interface StoredEvent extends DomainEvent {
  readonly id: string;
  readonly position: number;
}

/** The first word of an event type: `card`, `person`, `student-status`, `consent`, `organisation`. */
export type EventFamily = "organisation" | "person" | "student-status" | "card" | "consent";

export function eventFamily(type: EventType): EventFamily {
  return type.slice(0, type.indexOf(".")) as EventFamily;
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && (EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * The organisation an event is about, for subscription filters and bus partitions: a card's issuer, the
 * organisation holding a status or a link, the organisation itself; null for consent events, which belong
 * to the student and reach every organisation linked to them.
 */
export function eventIssuer(event: Pick<DomainEvent, "type" | "data">): string | null {
  const family = eventFamily(event.type);
  const value = family === "card" ? event.data.issuer : event.data.organisation;
  return typeof value === "string" ? value : null;
}
