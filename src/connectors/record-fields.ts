import { parseAcademicLevel } from "../domain/academic-level.ts";
import { CARD_STATUSES, type CardStatus, INACTIVE_REASONS, type InactiveReason } from "../domain/card.ts";
import { parseCardType } from "../domain/card-type.ts";
import { isOpenEscError } from "../domain/errors.ts";
import { parseEscn } from "../domain/escn.ts";
import { parseEsi } from "../domain/esi.ts";
import { type IsoDate, parseIsoDate } from "../domain/iso-date.ts";
import { STUDENT_STATUS_STATES, type StudentStatusState } from "../domain/student-status.ts";
import type { RecordOrigin, SourceCard, SourceItem, SourceStatus } from "./source-record.ts";

/**
 * The fields of a record, by the names every source maps to (the native CSV's columns, JSON Lines' keys, an
 * LDAP or SQL mapping's targets). Values are text as read; an empty or absent value is "not given".
 */
export const RECORD_FIELDS = [
  "esi",
  "fullName",
  "academicLevel",
  "email",
  "statusState",
  "validFrom",
  "validUntil",
  "escn",
  "cardType",
  "cardStatus",
  "inactiveReason",
  "issuedAt",
  "expiresAt",
  "displayName",
] as const;
export type RecordField = (typeof RECORD_FIELDS)[number];

export type RecordFields = Partial<Record<RecordField, string | null | undefined>>;

/** Which field of a record each part needs, to tell "not given" from "given in part". */
const STATUS_FIELDS: readonly RecordField[] = ["statusState", "validFrom", "validUntil"];
/** The fields of a record's card. */
export const CARD_FIELDS = [
  "escn",
  "cardType",
  "cardStatus",
  "inactiveReason",
  "issuedAt",
  "expiresAt",
  "displayName",
] as const satisfies readonly RecordField[];

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/**
 * Control characters, line breaks included, tab excepted: no field of a record is multi-line text, and a
 * line break inside a quoted CSV value, a JSON string or a directory attribute is an accident, not a name.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/**
 * Reads one record's fields into a {@link SourceRecord}, or the first problem found (field and reason, as a
 * per-row report shows it). `rename` maps a field to the name the source uses for it (a CSV column, an
 * LDAP attribute), so that the report names what the institution knows.
 */
export function recordFromFields(
  fields: RecordFields,
  origin: RecordOrigin,
  rename: (field: RecordField) => string = (field) => field,
): SourceItem {
  let readEsi: string | undefined;
  const problem = (field: RecordField | "", reason: string): SourceItem => ({
    problem: {
      origin,
      field: field === "" ? "" : rename(field),
      reason,
      ...(readEsi !== undefined ? { esi: readEsi } : {}),
    },
  });
  const text = (field: RecordField): string | null => {
    const value = fields[field];
    if (value === undefined || value === null) return null;
    const trimmed = value.trim();
    return trimmed === "" ? null : trimmed;
  };
  for (const field of RECORD_FIELDS) {
    const value = fields[field];
    if (typeof value === "string" && hasControlCharacters(value)) {
      return problem(field, "must not contain control characters or line breaks");
    }
  }
  try {
    const esiText = text("esi");
    if (esiText === null) return problem("esi", "is required");
    const esi = parseEsi(esiText, "esi").value;
    readEsi = esi;
    const fullName = text("fullName");
    if (fullName === null) return problem("fullName", "is required");
    if (fullName.length > 255) return problem("fullName", "must be at most 255 characters");
    const levelText = text("academicLevel");
    const academicLevel = levelText === null ? null : parseAcademicLevel(levelText, "academicLevel");
    const email = text("email");
    if (email !== null && (!EMAIL.test(email) || email.length > 254)) {
      return problem("email", "must be an e-mail address");
    }

    let status: SourceStatus | null = null;
    if (STATUS_FIELDS.some((f) => text(f) !== null)) {
      const state = text("statusState");
      if (state === null) return problem("statusState", "is required when a status is given");
      if (!(STUDENT_STATUS_STATES as readonly string[]).includes(state)) {
        return problem("statusState", `must be one of ${STUDENT_STATUS_STATES.join(", ")}`);
      }
      const validFrom = date(text("validFrom"), "validFrom");
      if (validFrom === null) return problem("validFrom", "is required when a status is given");
      const validUntil = date(text("validUntil"), "validUntil");
      if (validUntil !== null && validUntil < validFrom) {
        return problem("validUntil", "must not be before validFrom");
      }
      status = { state: state as StudentStatusState, validFrom, validUntil };
    }

    let card: SourceCard | null = null;
    if (CARD_FIELDS.some((f) => text(f) !== null)) {
      const escnText = text("escn");
      const typeText = text("cardType");
      if (typeText === null) return problem("cardType", "is required when a card is given");
      const cardType = parseCardType(typeText, "cardType");
      const statusText = text("cardStatus") ?? "ACTIVE";
      if (!(CARD_STATUSES as readonly string[]).includes(statusText)) {
        return problem("cardStatus", `must be one of ${CARD_STATUSES.join(", ")}`);
      }
      const cardStatus = statusText as CardStatus;
      const reasonText = text("inactiveReason");
      let inactiveReason: InactiveReason | null = null;
      if (cardStatus === "INACTIVE") {
        const reason = reasonText ?? "unspecified";
        if (!(INACTIVE_REASONS as readonly string[]).includes(reason)) {
          return problem("inactiveReason", `must be one of ${INACTIVE_REASONS.join(", ")}`);
        }
        inactiveReason = reason as InactiveReason;
      } else if (reasonText !== null) {
        return problem("inactiveReason", "is only for an INACTIVE card");
      }
      const issuedAt = date(text("issuedAt"), "issuedAt");
      if (issuedAt === null) return problem("issuedAt", "is required when a card is given");
      const expiresAt = date(text("expiresAt"), "expiresAt");
      if (expiresAt === null) return problem("expiresAt", "is required when a card is given");
      if (expiresAt < issuedAt) return problem("expiresAt", "must not be before issuedAt");
      const displayName = text("displayName");
      if (displayName !== null && displayName.length > 255) {
        return problem("displayName", "must be at most 255 characters");
      }
      card = {
        escn: escnText === null ? null : parseEscn(escnText, "escn"),
        cardType,
        status: cardStatus,
        inactiveReason,
        issuedAt,
        expiresAt,
        displayName,
      };
    }
    return { record: { origin, person: { esi, fullName, academicLevel, email }, status, card } };
  } catch (error) {
    // The domain parsers say which rule broke; the field they name is one of ours.
    if (isOpenEscError(error) && error.issues[0]) {
      const issue = error.issues[0];
      return problem(issue.field as RecordField, issue.reason);
    }
    throw error;
  }
}

function date(value: string | null, field: RecordField): IsoDate | null {
  return value === null ? null : parseIsoDate(value, field);
}

/** Whether a value holds a control character or a line break (tab excepted). */
export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

/**
 * Makes a text safe to open in a spreadsheet: a value a spreadsheet would run as a formula (starting with
 * `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading apostrophe, and control characters are
 * shown as `\uXXXX`. Reports of rejected rows pass every value through it.
 */
export function spreadsheetSafe(value: string): string {
  const visible = value.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: showing control characters is the point
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return /^[=+\-@\t\r]/.test(visible) ? `'${visible}` : visible;
}
