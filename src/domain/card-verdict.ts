import type { Card } from "./card.ts";
import type { IsoDate } from "./iso-date.ts";
import type { Organisation } from "./organisation.ts";
import { isInEffect, type StudentStatus } from "./student-status.ts";

/**
 * The one state model (docs/state-model.md). Three vocabularies meet here and nowhere else:
 * the stored card status (ACTIVE / INACTIVE + reason), the public card status ESC-R shows
 * (ACTIVE / INACTIVE / EXPIRED) and the verification verdict (valid / suspended / invalid).
 */
export type PublicCardStatus = "ACTIVE" | "INACTIVE" | "EXPIRED";
export type Verdict = "valid" | "suspended" | "invalid";

/** Status-list values of each verdict (IETF Token Status List, `bits: 2`). */
export const VERDICT_STATUS_LIST_VALUE: Readonly<Record<Verdict, 0 | 1 | 2>> = {
  valid: 0,
  invalid: 1,
  suspended: 2,
};

/** Whether the card's validity has run out: it is valid through `expiresAt` and expired from the next day. */
export function isExpired(card: Pick<Card, "expiresAt">, today: IsoDate): boolean {
  return card.expiresAt < today;
}

/** What ESC-R's public status shows. Time dominates: an expired card is EXPIRED whatever its stored status. */
export function publicCardStatus(card: Pick<Card, "status" | "expiresAt">, today: IsoDate): PublicCardStatus {
  if (isExpired(card, today)) return "EXPIRED";
  return card.status;
}

/**
 * The verdict a verifier gets: valid when the card is ACTIVE, not expired, and its holder has an
 * enrolled status in effect today at the issuer (or at an institution the issuing student-service
 * organisation serves); suspended when the card or that status is suspended; invalid otherwise.
 */
export function cardVerdict(
  card: Pick<Card, "status" | "inactiveReason" | "expiresAt" | "issuerId">,
  issuer: Pick<Organisation, "id" | "serves">,
  holderStatuses: readonly Pick<StudentStatus, "organisationId" | "state" | "validFrom" | "validUntil">[],
  today: IsoDate,
): Verdict {
  if (isExpired(card, today)) return "invalid";
  const relevant = holderStatuses.filter(
    (s) =>
      (s.organisationId === issuer.id || issuer.serves.includes(s.organisationId)) && isInEffect(s, today),
  );
  const enrolled = relevant.some((s) => s.state === "enrolled");
  const suspended = relevant.some((s) => s.state === "suspended");
  if (card.status === "INACTIVE") {
    if (card.inactiveReason !== "suspended") return "invalid";
    return enrolled || suspended ? "suspended" : "invalid";
  }
  if (enrolled) return "valid";
  return suspended ? "suspended" : "invalid";
}
