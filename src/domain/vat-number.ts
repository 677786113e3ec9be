/**
 * VAT numbers identify card bureaus (the ESC Router's "processor" organisations, `processorIdentifier`).
 *
 * The check is deliberately a shape check, not a per-country checksum: the ESC Router's own example is
 * `B12345678`, without a country prefix, and bureaus outside the EU VAT area take part too, so insisting
 * on VIES-valid numbers would refuse real data. What it does do is give every number one spelling, so the
 * same bureau is never registered twice: spaces, dots and hyphens (as printed on invoices) are removed
 * and letters upper-cased, e.g. `be 0123.456.789` becomes `BE0123456789`.
 *
 * Shape: an optional EU VAT country prefix (the EU's own codes, so `EL` for Greece and `XI` for Northern
 * Ireland), then 2–13 characters of `0-9 A-Z + *` with at least one digit (`+` and `*` occur in old-style
 * Irish numbers, e.g. `IE1+23456X`).
 */
import { InvalidValueError } from "./errors.ts";

/** A VAT number without separators, upper case. Only {@link parseVatNumber} makes one. */
export type VatNumber = string & { readonly __brand: "VatNumber" };

/** The prefixes VIES uses: the EU member states (Greece as EL) and XI for Northern Ireland. */
export const EU_VAT_PREFIXES: ReadonlySet<string> = new Set(
  "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI".split(" "),
);

const BODY = /^[0-9A-Z+*]{2,13}$/;
const SEPARATORS = /[ .-]/g;

/** Reads a VAT number; throws `VAT_NUMBER_INVALID`. Returns it without separators, in upper case. */
export function parseVatNumber(value: unknown, field = "processorIdentifier"): VatNumber {
  if (typeof value !== "string") {
    throw new InvalidValueError(
      "VAT_NUMBER_INVALID",
      field,
      `must be a string, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  const compact = value.replace(SEPARATORS, "").toUpperCase();
  const problem = vatProblem(compact);
  if (problem !== undefined) throw new InvalidValueError("VAT_NUMBER_INVALID", field, problem);
  return compact as VatNumber;
}

/** Whether `value` is a VAT number in canonical form (no separators, upper case). */
export function isVatNumber(value: unknown): value is VatNumber {
  return typeof value === "string" && vatProblem(value) === undefined;
}

function vatProblem(compact: string): string | undefined {
  if (compact === "") return "must not be empty";
  const prefix = compact.slice(0, 2);
  if (EU_VAT_PREFIXES.has(prefix) && fitsBody(compact.slice(2))) return undefined;
  if (fitsBody(compact)) return undefined;
  if (!/^[0-9A-Z+*]*$/.test(compact)) {
    return "may contain only letters, digits, + and * (spaces, dots and hyphens are removed)";
  }
  if (!/[0-9]/.test(compact)) return "must contain at least one digit";
  return "must be 2 to 13 letters or digits after an optional EU country prefix, e.g. B12345678 or BE0123456789";
}

function fitsBody(body: string): boolean {
  return BODY.test(body) && /[0-9]/.test(body);
}
