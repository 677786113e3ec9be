/**
 * ESI: the European Student Identifier (GÉANT/MyAcademicID specification v1.0), the key by which the hub
 * knows a student. Identity providers release it as `schacPersonalUniqueCode`.
 *
 * Accepted forms:
 * - `urn:schac:personalUniqueCode:int:esi:<scope>:<code>` where `<scope>` is an ISO 3166-1 country code
 *   or ISO 3166-2 subdivision code (`es`, `BE-BRU`) when the student number is nationally unique
 *   ("national"), or the institution's SCHAC home organisation domain, possibly with an org-unit prefix
 *   (`ladok.se`, `fi.uw.edu.pl`), when it is unique only inside that institution ("institutional").
 *   `<code>` uses the RFC 2141 NSS characters: letters, digits, `( ) + , - . : = @ ; $ _ ! * '` and `%XX`
 *   escapes. `/`, `?`, `#`, whitespace and anything else are refused. At most 255 characters in all.
 * - `CN-PIC-STUDENTCODE`, the legacy form the ESC Router still accepts ("legacy"): a two-letter country
 *   code, the institution's 9-digit PIC and the student code, split on the first two hyphens (the code
 *   may itself contain hyphens).
 *
 * Legacy rule: a legacy identifier is kept verbatim, matched case-insensitively, and never converted to
 * the URN form. A conversion would have to guess whether the student code is national or institutional,
 * and a wrong guess would give one student two identities (or two students one).
 *
 * Matching: issuers send the same ESI in different cases (`ES` vs `es`, upper-case `URN:SCHAC:`), and the
 * ESC Router treats them as one student, so every ESI has a `key`, the whole value in lower case (RFC 2141
 * makes `%XX` escapes case-insensitive as well, so they are folded too). Stores index and compare the
 * key; `value` is kept as given, for display and for echoing back to the issuer.
 *
 * An ESI is personal data: reasons name the rule and the position that broke it, never the value.
 */
import { parseCountryCode } from "./country-code.ts";
import { InvalidValueError } from "./errors.ts";
import { parseSchacHomeOrganisation } from "./schac-home-organisation.ts";

/** The URN prefix of every non-legacy ESI, in the specification's spelling (matched case-insensitively). */
export const ESI_PREFIX = "urn:schac:personalUniqueCode:int:esi:";
/** Longest ESI accepted, in characters (GÉANT specification). */
export const ESI_MAX_LENGTH = 255;

export type EsiForm = "national" | "institutional" | "legacy";

export interface Esi {
  /** The identifier exactly as given. */
  readonly value: string;
  /** The case-insensitive matching key: `value` in lower case. */
  readonly key: string;
  readonly form: EsiForm;
  /**
   * Where the code is unique: for "national" the country or subdivision code in upper case (`ES`,
   * `BE-BRU`); for "institutional" the home organisation domain in lower case; for "legacy" `CN-PIC` with
   * the country in upper case.
   */
  readonly scope: string;
  /** The student code, as given. */
  readonly code: string;
}

const PREFIX_LOWER = ESI_PREFIX.toLowerCase();
const COUNTRY = /^[A-Za-z]{2}$/;
const DOMAIN_CHARS = /^[A-Za-z0-9.-]+$/;
const NSS_CHAR = /^[A-Za-z0-9()+,\-.:=@;$_!*']$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;
const PIC = /^[0-9]{9}$/;
const ALLOWED = "letters, digits, ( ) + , - . : = @ ; $ _ ! * ' and %XX escapes";

/** Reads an ESI in either form; throws `ESI_INVALID` naming the rule that broke. */
export function parseEsi(value: unknown, field = "identifier"): Esi {
  const fail = (reason: string): never => {
    throw new InvalidValueError("ESI_INVALID", field, reason);
  };
  if (typeof value !== "string") {
    return fail(
      `must be a string, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  if (value === "") return fail("must not be empty");
  if (value.length > ESI_MAX_LENGTH) {
    return fail(`must be at most ${ESI_MAX_LENGTH} characters, got ${value.length}`);
  }
  if (/\s/.test(value)) return fail("must not contain whitespace");

  const lower = value.toLowerCase();
  if (lower.startsWith(PREFIX_LOWER)) return parseUrnForm(value, fail);
  if (lower.startsWith("urn:")) {
    return fail(`must start with ${ESI_PREFIX} (any case), or be the legacy form CN-PIC-STUDENTCODE`);
  }
  if (/^[A-Za-z]{2}-/.test(value)) return parseLegacyForm(value, fail);
  return fail(
    `must be ${ESI_PREFIX}<country or home organisation>:<code>, or the legacy form CN-PIC-STUDENTCODE`,
  );
}

/** The matching key of an ESI (see {@link Esi.key}); throws `ESI_INVALID` like {@link parseEsi}. */
export function esiKey(value: string): string {
  return parseEsi(value).key;
}

function parseUrnForm(value: string, fail: (reason: string) => never): Esi {
  const rest = value.slice(ESI_PREFIX.length);
  const colon = rest.indexOf(":");
  if (colon < 0) {
    return fail(`must be ${ESI_PREFIX}<scope>:<code>; the ':' between scope and code is missing`);
  }
  const rawScope = rest.slice(0, colon);
  const code = rest.slice(colon + 1);
  if (rawScope === "") return fail("the scope (country code or home organisation domain) is missing");
  if (code === "") return fail("the code after the scope is missing");

  let scope: string;
  let form: EsiForm;
  if (COUNTRY.test(rawScope)) {
    const problem = problemOf(() => parseCountryCode(rawScope));
    if (problem !== undefined) return fail(`scope: ${problem}`);
    scope = rawScope.toUpperCase();
    form = "national";
  } else if (/^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$/.test(rawScope)) {
    const problem = problemOf(() => parseCountryCode(rawScope.slice(0, 2)));
    if (problem !== undefined) return fail(`scope: the country part of the subdivision code: ${problem}`);
    scope = rawScope.toUpperCase();
    form = "national";
  } else if (rawScope.includes(".") && DOMAIN_CHARS.test(rawScope)) {
    const problem = problemOf(() => parseSchacHomeOrganisation(rawScope));
    if (problem !== undefined) return fail(`scope: home organisation domain: ${problem}`);
    scope = rawScope.toLowerCase();
    form = "institutional";
  } else {
    return fail(
      "scope must be an ISO 3166 country or subdivision code (e.g. ES, BE-BRU) or a home organisation domain (e.g. ladok.se)",
    );
  }
  const problem = codeProblem(code, ESI_PREFIX.length + colon + 1);
  if (problem !== undefined) return fail(problem);
  return { value, key: keyOf(value), form, scope, code };
}

function parseLegacyForm(value: string, fail: (reason: string) => never): Esi {
  const legacy = "legacy form CN-PIC-STUDENTCODE";
  const second = value.indexOf("-", 3);
  if (second < 0) {
    return fail(`${legacy}: must have a country code, a PIC and a student code separated by '-'`);
  }
  const country = value.slice(0, 2);
  const pic = value.slice(3, second);
  const code = value.slice(second + 1);
  const problem = problemOf(() => parseCountryCode(country));
  if (problem !== undefined) return fail(`${legacy}: country ${problem}`);
  if (!PIC.test(pic)) return fail(`${legacy}: the PIC must be 9 decimal digits`);
  if (code === "") return fail(`${legacy}: the student code is missing`);
  const codeIssue = codeProblem(code, second + 1);
  if (codeIssue !== undefined) return fail(`${legacy}: ${codeIssue}`);
  return { value, key: keyOf(value), form: "legacy", scope: `${country.toUpperCase()}-${pic}`, code };
}

/** The first RFC 2141 rule the code breaks; `start` is the code's offset in the whole value. */
function codeProblem(code: string, start: number): string | undefined {
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (c === "%") {
      const hexDigits = code.slice(i + 1, i + 3);
      if (!HEX2.test(hexDigits)) {
        return `'%' at position ${start + i + 1} must begin a %XX escape of two hexadecimal digits`;
      }
      if (hexDigits === "00") return `%00 at position ${start + i + 1} is not allowed (RFC 2141)`;
      i += 2;
    } else if (!NSS_CHAR.test(c)) {
      return `${show(code.codePointAt(i)!)} at position ${start + i + 1} is not allowed in the code; allowed are ${ALLOWED}`;
    }
  }
  return undefined;
}

/** The key is the whole value in lower case; `%XX` escapes fold with it, as RFC 2141 allows. */
function keyOf(value: string): string {
  return value.toLowerCase();
}

/** A printable way to name one character in a reason: `'/'`, or `U+00E9` for anything outside ASCII. */
function show(codePoint: number): string {
  return codePoint > 0x20 && codePoint < 0x7f
    ? `character '${String.fromCodePoint(codePoint)}'`
    : `character U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
}

function problemOf(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    if (error instanceof InvalidValueError) return error.issues[0]?.reason ?? error.message;
    throw error;
  }
}
