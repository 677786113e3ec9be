import { eventFamily, eventIssuer, type StoredEvent } from "./events.ts";
import type { DeliveryProjection, Subscription } from "./subscription.ts";

/**
 * Whether an event reaches a subscription, and in which form. The tenant wall first: an organisation in
 * the event's audience (the card's issuer and card bureau; the organisations linked to the person) gets
 * the whole event; a subscriber following a card in its card set gets that card's events with only what
 * the public status shows anyone holding the number; nobody else gets anything. Then the subscription's
 * own filters: types, issuer, card set. Events from before the subscription existed are not delivered
 * (the pull feed has them).
 */
export function deliveryProjection(
  event: StoredEvent,
  subscription: Pick<Subscription, "organisationId" | "types" | "issuer" | "cardSet" | "startAfter">,
  inCardSet: boolean,
): DeliveryProjection | null {
  if (event.position <= subscription.startAfter) return null;
  return readerProjection(event, subscription, inCardSet);
}

/** {@link deliveryProjection} without the creation-time rule: what a reader of the feed may see. */
export function readerProjection(
  event: StoredEvent,
  reader: Pick<Subscription, "organisationId" | "types" | "issuer" | "cardSet">,
  inCardSet: boolean,
): DeliveryProjection | null {
  if (reader.types !== null && !reader.types.includes(event.type)) return null;
  if (reader.issuer !== null && eventIssuer(event) !== reader.issuer) return null;
  const isCardEvent = eventFamily(event.type) === "card";
  if (isCardEvent && reader.cardSet && !inCardSet) return null;
  if (event.audience.includes(reader.organisationId)) return "full";
  if (isCardEvent && inCardSet) return "public";
  return null;
}
