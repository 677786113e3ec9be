import type { CardType } from "./card-type.ts";
import type { Escn } from "./escn.ts";
import type { IsoDate } from "./iso-date.ts";

/** Stored card status, as ESC-R has it. EXPIRED is never stored: it follows from `expiresAt`. */
export const CARD_STATUSES = ["ACTIVE", "INACTIVE"] as const;
export type CardStatus = (typeof CARD_STATUSES)[number];

/** Why a card is INACTIVE. `unspecified` is what an ESC-R client gets, since its API cannot say why. */
export const INACTIVE_REASONS = [
  "lost",
  "stolen",
  "damaged",
  "replaced",
  "suspended",
  "withdrawn",
  "unspecified",
] as const;
export type InactiveReason = (typeof INACTIVE_REASONS)[number];

export interface Card {
  readonly escn: Escn;
  readonly personId: number;
  readonly esi: string;
  /** PIC of the issuing organisation; equal to the PIC inside the ESCN. */
  readonly issuerId: string;
  /** VAT number of the card bureau that processed the card, if any. */
  readonly processorId: string | null;
  readonly cardType: CardType;
  readonly status: CardStatus;
  readonly inactiveReason: InactiveReason | null;
  readonly issuedAt: IsoDate;
  /** Last day the card is valid; it expires at the following midnight. */
  readonly expiresAt: IsoDate;
  readonly displayName: string | null;
  readonly chipUid: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}
