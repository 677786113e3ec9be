import type { EscCredentialClaims } from "../credentials/esc-credential.ts";
import { verificationUrl } from "../credentials/issuer-identifier.ts";
import type { Card } from "../domain/card.ts";
import { cardVerdict } from "../domain/card-verdict.ts";
import { ConflictError } from "../domain/errors.ts";
import type { IsoDate } from "../domain/iso-date.ts";
import type { Organisation } from "../domain/organisation.ts";
import { isInEffect } from "../domain/student-status.ts";
import type { Repositories } from "../ports/storage.ts";

/**
 * Whether a card may go to its holder's wallet: only while its verdict is valid (state model) and its
 * holder consents to credential issuance. Checked when the offer is made and again when it is redeemed.
 */
export async function requireIssuable(tx: Repositories, card: Card, day: IsoDate): Promise<void> {
  const consent = await tx.consents.find(card.personId, "credential-issuance");
  if (consent?.state !== "given") {
    throw new ConflictError(
      "CONSENT_NOT_GIVEN",
      "the holder has not consented to credential-issuance; record their consent first",
    );
  }
  const issuer = await tx.organisations.findById(card.issuerId);
  const statuses = await tx.statuses.listForPerson(card.personId);
  const verdict = issuer ? cardVerdict(card, issuer, statuses, day) : "invalid";
  if (verdict !== "valid") {
    throw new ConflictError(
      "CARD_NOT_VALID",
      `the card's verdict is ${verdict}; only a valid card is issued`,
    );
  }
}

/**
 * The claims of a card's credential, from the hub's records: the card, the holder's enrolled status in
 * effect at the issuer (or at an institution the issuing student-service organisation serves), that
 * institution, and the holder's link there. Undefined when no such status is in effect.
 */
export async function escClaimsOf(
  tx: Repositories,
  card: Card,
  issuer: Organisation,
  publicUrl: string,
  day: IsoDate,
): Promise<EscCredentialClaims | undefined> {
  const statuses = await tx.statuses.listForPerson(card.personId);
  const status = statuses.find(
    (s) =>
      s.state === "enrolled" &&
      isInEffect(s, day) &&
      (s.organisationId === issuer.id || issuer.serves.includes(s.organisationId)),
  );
  if (!status) return undefined;
  const institution =
    status.organisationId === issuer.id ? issuer : await tx.organisations.findById(status.organisationId);
  const link =
    (await tx.persons.findLink(card.personId, status.organisationId)) ??
    (await tx.persons.findLink(card.personId, issuer.id));
  return {
    cardNumber: card.escn,
    issuedAt: card.issuedAt,
    expiresAt: card.expiresAt,
    displayName: card.displayName,
    fullName: link?.fullName ?? "",
    issuer: issuer.name,
    qrCode: verificationUrl(publicUrl, card.escn),
    institution: institution?.name ?? issuer.name,
    institutionId: status.organisationId,
    country: institution?.country ?? null,
    academicLevel: link?.academicLevel ?? null,
    validUntil: status.validUntil,
    esi: card.esi,
  };
}

/** A card is valid through its `expiresAt` day; its credential expires at the following midnight (UTC). */
export function credentialExpiry(day: IsoDate): Date {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000);
}
