/**
 * Card types, as the ESC Router defines them (`cardType` on cards). The keys are part of the ESC-R wire
 * format and are matched exactly (upper case, no aliases) so that what is stored is always one of them.
 * The labels are the ESC Router's own descriptions, given with the key in read views (`{key, label}`).
 */
import { InvalidValueError } from "./errors.ts";

export const CARD_TYPES = [
  "UNKNOWN",
  "PASSIVE",
  "SMART_NO_CDZ",
  "SMART_CDZ",
  "SMART_MAY_SP",
  "SMART_PASSIVE",
  "SMART_PASSIVE_EMULATION",
] as const;

export type CardType = (typeof CARD_TYPES)[number];

/** Human labels, from the ESC Router's OpenAPI document. */
export const CARD_TYPE_LABELS: Readonly<Record<CardType, string>> = {
  UNKNOWN: "Unknown / None",
  PASSIVE: "Physical passive card, with no electronic component",
  SMART_NO_CDZ: "Physical smart card, without ESC data zone",
  SMART_CDZ: "Physical smart card, with ESC data zone",
  SMART_MAY_SP: "Physical smart card, with custom data by service providers",
  SMART_PASSIVE: "Digital passive card, with no electronic component",
  SMART_PASSIVE_EMULATION: "Digital smart card, with physical card emulation",
};

/** Reads a card type; throws `CARD_TYPE_INVALID` listing the allowed values. */
export function parseCardType(value: unknown, field = "cardType"): CardType {
  if (isCardType(value)) return value;
  const allowed = `must be one of ${CARD_TYPES.join(", ")}`;
  const reason =
    typeof value === "string" && isCardType(value.toUpperCase())
      ? `${allowed} (upper case: ${value.toUpperCase()})`
      : allowed;
  throw new InvalidValueError("CARD_TYPE_INVALID", field, reason);
}

export function isCardType(value: unknown): value is CardType {
  return typeof value === "string" && (CARD_TYPES as readonly string[]).includes(value);
}
