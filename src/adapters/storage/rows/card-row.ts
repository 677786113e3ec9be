/** Card rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { Card, CardStatus, InactiveReason } from "../../../domain/card.ts";
import type { CardType } from "../../../domain/card-type.ts";
import type { Escn } from "../../../domain/escn.ts";
import type { IsoDate } from "../../../domain/iso-date.ts";

/** A card joined with its holder's ESI; bigint columns may arrive as strings from `pg` (ids stay below 2^53). */
export interface CardRow {
  id: number | string;
  escn: string;
  person_id: number | string;
  esi: string;
  issuer_id: string;
  processor_id: string | null;
  card_type: CardType;
  status: CardStatus;
  inactive_reason: InactiveReason | null;
  issued_at: string;
  expires_at: string;
  display_name: string | null;
  chip_uid: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

/** Every card column with the holder's ESI; callers append their own `WHERE`. */
export const CARD_SELECT = `SELECT c.id, c.escn, c.person_id, p.esi, c.issuer_id, c.processor_id, c.card_type, c.status,
  c.inactive_reason, c.issued_at, c.expires_at, c.display_name, c.chip_uid, c.created_at, c.updated_at, c.version
  FROM cards c JOIN persons p ON p.id = c.person_id`;

/** The columns a new card writes, in the order of {@link cardInsertValues}; `id` is generated. */
export const CARD_INSERT_COLUMNS = `escn, person_id, issuer_id, processor_id, card_type, status, inactive_reason,
  issued_at, expires_at, display_name, chip_uid, created_at, updated_at, version`;

/** Sort keys of the ESC-R listing; engines may override a key's expression (PostgreSQL adds a collation). */
export const CARD_SORT_COLUMNS: Readonly<Record<string, string>> = {
  cardNumber: "c.escn",
  issuedAt: "c.issued_at",
  expiresAt: "c.expires_at",
  displayName: "c.display_name",
  createdAt: "c.created_at",
};

export const toCard = (row: CardRow): Card => ({
  escn: row.escn as Escn,
  personId: Number(row.person_id),
  esi: row.esi,
  issuerId: row.issuer_id,
  processorId: row.processor_id,
  cardType: row.card_type,
  status: row.status,
  inactiveReason: row.inactive_reason,
  issuedAt: row.issued_at as IsoDate,
  expiresAt: row.expires_at as IsoDate,
  displayName: row.display_name,
  chipUid: row.chip_uid,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  version: row.version,
});

/** The values of {@link CARD_INSERT_COLUMNS} for a new card: `version` starts at 1. */
export function cardInsertValues(card: Omit<Card, "version">): unknown[] {
  return [
    card.escn,
    card.personId,
    card.issuerId,
    card.processorId,
    card.cardType,
    card.status,
    card.inactiveReason,
    card.issuedAt,
    card.expiresAt,
    card.displayName,
    card.chipUid,
    card.createdAt,
    card.updatedAt,
    1,
  ];
}

/** The values of a card update: the changed columns in the order `person_id … updated_at`, then `escn` and `version`. */
export function cardUpdateValues(card: Card): unknown[] {
  return [
    card.personId,
    card.processorId,
    card.cardType,
    card.status,
    card.inactiveReason,
    card.issuedAt,
    card.expiresAt,
    card.displayName,
    card.chipUid,
    card.updatedAt,
    card.escn,
    card.version,
  ];
}
