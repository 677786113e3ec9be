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
  "card.created",
  "card.updated",
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
