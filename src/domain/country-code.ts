/**
 * Country codes: ISO 3166-1 alpha-2, the codes ESI scopes, organisation addresses and the legacy ESC
 * Router identifiers use.
 *
 * The list is the full set of officially assigned codes (249), not a pattern, so that a typo such as `XX`
 * or `EN` is caught where it is typed instead of surfacing later as a scope no one matches. Two codes that
 * EU bodies use are deliberately refused: `EL` (Greece, in EU VAT and Eurostat usage) and `UK` (the United
 * Kingdom, in older EU documents and Erasmus codes). Neither is an ISO 3166-1 code (`UK` is only
 * exceptionally reserved), and accepting them would give Greece and the UK two spellings each, breaking
 * exact matching; the reason names the ISO code to use instead. `XK` (Kosovo, user-assigned) is not
 * assigned by ISO and is refused too.
 */
import { InvalidValueError } from "./errors.ts";

/** An ISO 3166-1 alpha-2 code, upper case. Only {@link parseCountryCode} makes one. */
export type CountryCode = string & { readonly __brand: "CountryCode" };

/** The 249 officially assigned ISO 3166-1 alpha-2 codes. */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(
  (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
    "BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
    "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
    "DE DJ DK DM DO DZ " +
    "EC EE EG EH ER ES ET " +
    "FI FJ FK FM FO FR " +
    "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
    "HK HM HN HR HT HU " +
    "ID IE IL IM IN IO IQ IR IS IT " +
    "JE JM JO JP " +
    "KE KG KH KI KM KN KP KR KW KY KZ " +
    "LA LB LC LI LK LR LS LT LU LV LY " +
    "MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
    "NA NC NE NF NG NI NL NO NP NR NU NZ " +
    "OM " +
    "PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
    "QA " +
    "RE RO RS RU RW " +
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
    "TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
    "UA UG UM US UY UZ " +
    "VA VC VE VG VI VN VU " +
    "WF WS " +
    "YE YT " +
    "ZA ZM ZW"
  ).split(" "),
);

/** Codes EU bodies use that are not ISO 3166-1, with the ISO code to use instead. */
const NOT_ISO: Readonly<Record<string, string>> = { EL: "GR", UK: "GB" };

const SUBDIVISION = /^([A-Za-z]{2})-[A-Za-z0-9]{1,3}$/;

/** Reads an ISO 3166-1 alpha-2 code, in any case; returns it upper-cased. Throws `COUNTRY_INVALID`. */
export function parseCountryCode(value: unknown, field = "country"): CountryCode {
  const problem = countryProblem(value);
  if (problem !== undefined) throw new InvalidValueError("COUNTRY_INVALID", field, problem);
  return (value as string).toUpperCase() as CountryCode;
}

/**
 * Whether `value` is an assigned ISO 3166-1 alpha-2 code in canonical (upper-case) form. Lower case is
 * valid input for {@link parseCountryCode}, but only the upper-case form is a {@link CountryCode}.
 */
export function isCountryCode(value: unknown): value is CountryCode {
  return typeof value === "string" && COUNTRY_CODES.has(value);
}

/**
 * Whether `value` has the form of an ISO 3166-2 subdivision code (`XX-YYY`: an assigned country code, a
 * hyphen, one to three letters or digits), in any case. Only the form and the country are checked: the
 * subdivision lists change every year and a wrong subdivision harms no matching.
 */
export function isSubdivisionCode(value: unknown): boolean {
  if (typeof value !== "string") return false;
  const match = SUBDIVISION.exec(value);
  return match !== null && COUNTRY_CODES.has(match[1]!.toUpperCase());
}

/** The reason `value` is not a country code, or undefined when it is one. */
function countryProblem(value: unknown): string | undefined {
  if (typeof value !== "string") {
    return `must be a string, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`;
  }
  if (!/^[A-Za-z]{2}$/.test(value)) return "must be an ISO 3166-1 alpha-2 code: two letters, e.g. BE";
  const upper = value.toUpperCase();
  const instead = NOT_ISO[upper];
  if (instead !== undefined) {
    return `${upper} is used by EU bodies but is not an ISO 3166-1 code; use ${instead}`;
  }
  if (!COUNTRY_CODES.has(upper)) return `${upper} is not an assigned ISO 3166-1 alpha-2 code`;
  return undefined;
}
