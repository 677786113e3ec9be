/**
 * PIC: the 9-digit Participant Identification Code an organisation holds in the EU Funding & Tenders
 * portal. It identifies issuing institutions and student-service organisations, and it is the last nine
 * digits of every ESCN they issue, so it is kept as a string of exactly nine digits: leading zeros matter.
 */
import { InvalidValueError } from "./errors.ts";

/** A PIC: exactly nine ASCII decimal digits. Only {@link parsePic} makes one. */
export type Pic = string & { readonly __brand: "Pic" };

const PIC = /^[0-9]{9}$/;

/**
 * Reads a PIC from outside.
 *
 * A JSON number is accepted and converted, because the ESC Router's OpenAPI document shows PICs as numbers
 * (`"example": 123456789`) and its clients send them that way. A number cannot carry leading zeros, so a
 * number with fewer than nine digits is refused rather than padded: padding would guess.
 */
export function parsePic(value: unknown, field = "pic"): Pic {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidValueError(
        "PIC_INVALID",
        field,
        "must be 9 decimal digits, not a fraction or negative",
      );
    }
    const digits = String(value);
    if (digits.length !== 9) {
      throw new InvalidValueError(
        "PIC_INVALID",
        field,
        `must be 9 decimal digits, got ${digits.length}; send a PIC with leading zeros as a string`,
      );
    }
    return digits as Pic;
  }
  if (typeof value !== "string") {
    throw new InvalidValueError(
      "PIC_INVALID",
      field,
      `must be a string of 9 decimal digits, got ${typeName(value)}`,
    );
  }
  if (!PIC.test(value)) {
    const reason = /^[0-9]*$/.test(value)
      ? `must be exactly 9 decimal digits, got ${value.length}`
      : "must be exactly 9 decimal digits (no spaces, letters or separators)";
    throw new InvalidValueError("PIC_INVALID", field, reason);
  }
  return value as Pic;
}

/** Whether `value` is a PIC in its canonical form (a string of nine digits). */
export function isPic(value: unknown): value is Pic {
  return typeof value === "string" && PIC.test(value);
}

function typeName(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}
