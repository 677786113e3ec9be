import type { EventType } from "./events.ts";

/**
 * A webhook subscription: an organisation asks the hub to POST it the events it may see, filtered by type,
 * by issuer, and (for card events) by the set of cards it has seen.
 */
export const SUBSCRIPTION_STATES = ["active", "paused"] as const;
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];

export interface Subscription {
  /** A random UUID. */
  readonly id: string;
  /** Keyset position for listing; assigned by the store. */
  readonly seq: number;
  readonly organisationId: string;
  readonly url: string;
  /** The Standard Webhooks signing secret, `whsec_` + base64 of 32 random bytes. */
  readonly secret: string;
  readonly description: string | null;
  /** Event types delivered; null for every type. */
  readonly types: readonly EventType[] | null;
  /** Only events about this organisation (a card's issuer, a status's institution); null for any. */
  readonly issuer: string | null;
  /**
   * When true, card events are delivered only for the cards in the subscription's card set (which also
   * lets a service provider follow cards it does not issue, with their public status only).
   */
  readonly cardSet: boolean;
  readonly state: SubscriptionState;
  /**
   * The feed's newest position when the subscription was made: only later events are delivered to it
   * (earlier ones are in the pull feed). A position, not a time, so that no clock decides.
   */
  readonly startAfter: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
  /** Outcome of the most recent delivery attempt, for the subscriber to see what goes wrong. */
  readonly lastAttemptAt: string | null;
  /** HTTP status of that attempt; null when none came (timeout, refused connection, refused address). */
  readonly lastStatus: number | null;
  /** Why that attempt failed; null when it succeeded. */
  readonly lastError: string | null;
}

/** What a subscriber receives of an event: everything the event carries, or only a card's public status. */
export type DeliveryProjection = "full" | "public";

export const DELIVERY_STATES = ["pending", "delivered", "dead"] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** One event to send to one subscription, with its attempts. */
export interface Delivery {
  /** Assigned by the store, increasing. */
  readonly id: number;
  readonly subscriptionId: string;
  /** The event's id: also the `webhook-id` of every attempt, so a receiver can drop duplicates. */
  readonly eventId: string;
  /** The event's feed position (delivery order within a subject). */
  readonly position: number;
  /**
   * SHA-256 (hex) of the event's subject in lower case: deliveries of one subject to one subscription go out
   * one at a time, in order. A hash, so the queue holds no ESI in the clear.
   */
  readonly subjectKey: string;
  readonly projection: DeliveryProjection;
  readonly state: DeliveryState;
  readonly attempts: number;
  /** When it was queued, or queued again by a redelivery: the retry horizon counts from here. */
  readonly createdAt: string;
  /** When the next attempt is due (pending deliveries). */
  readonly nextAttemptAt: string;
  readonly lastAttemptAt: string | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
}

export type NewDelivery = Pick<
  Delivery,
  "subscriptionId" | "eventId" | "position" | "subjectKey" | "projection"
> & {
  readonly createdAt: string;
};
