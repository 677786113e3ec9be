/**
 * Erasmus codes: the institution codes of the Erasmus+ programme (ECHE), e.g. `PL WARSZAW01`,
 * `F  PARIS001`, `IRLDUBLIN01`, and one of the identifiers EWP's catalogue lists for every institution.
 *
 * The code is a fixed-width country part of three characters (the old vehicle-style codes: `F`, `D`, `PL`,
 * `IRL`, `LUX`…), padded with spaces, followed by a city part and a 2–3 digit number. People and systems
 * write the padding inconsistently (`F PARIS001`, `F  PARIS001`), so:
 * - {@link parseErasmusCode} accepts any number of spaces between the parts and returns the canonical
 *   fixed-width form, upper case: `f paris001` becomes `F  PARIS001`, `IRL DUBLIN01` becomes `IRLDUBLIN01`.
 *   The three-letter country parts `IRL` and `LUX` fill the width, so their codes are also accepted
 *   without a space (`IRLDUBLIN01`, `LUXLUX-VIL01`); for shorter ones a space is required, since
 *   without it the country part cannot be told from the city.
 * - {@link erasmusCodeKey} removes every space, for matching codes from sources that write them loosely.
 */
import { InvalidValueError } from "./errors.ts";

/** An Erasmus code in canonical fixed-width, upper-case form. Only {@link parseErasmusCode} makes one. */
export type ErasmusCode = string & { readonly __brand: "ErasmusCode" };

const SPACED = /^([A-Za-z]{1,3}) +([A-Za-z][A-Za-z-]*[0-9]{2,3})$/;
/** Three-letter country parts in use; only these can be told apart from the city without a space. */
const UNSPACED = /^(IRL|LUX)([A-Za-z][A-Za-z-]*[0-9]{2,3})$/i;

/** Reads an Erasmus code; throws `ERASMUS_CODE_INVALID`. Returns the canonical fixed-width form. */
export function parseErasmusCode(value: unknown, field = "erasmusCode"): ErasmusCode {
  const fail = (reason: string): never => {
    throw new InvalidValueError("ERASMUS_CODE_INVALID", field, reason);
  };
  if (typeof value !== "string") {
    return fail(
      `must be a string, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  if (value === "") return fail("must not be empty");
  if (value.trim() !== value) return fail("must not start or end with whitespace");
  if (/[^\S ]/.test(value)) return fail("only spaces may separate the country part from the city part");
  const match = SPACED.exec(value) ?? UNSPACED.exec(value);
  if (match === null) {
    return fail(
      "must be a country part of 1-3 letters, spaces, then a city part of letters (and '-') ending in 2-3 digits, e.g. PL WARSZAW01 or F  PARIS001",
    );
  }
  const country = match[1]!.toUpperCase();
  const rest = match[2]!.toUpperCase();
  return `${country.padEnd(3, " ")}${rest}` as ErasmusCode;
}

/** The matching key of an Erasmus code in any spelling: upper case with every space removed. */
export function erasmusCodeKey(code: string): string {
  return code.toUpperCase().replace(/ /g, "");
}
