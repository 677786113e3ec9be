/**
 * SCHAC home organisation: an institution's DNS domain (e.g. `uw.edu.pl`), as released in the SAML
 * attribute `schacHomeOrganization` and used as the scope of institutional ESIs and as the key of EWP's
 * catalogue. It is compared exactly, so it is kept in one form: lower case, no trailing dot.
 *
 * The ESC Router's OpenAPI document gives the example `schacHomeOrganization=univ-saint-valentin.fr`
 * (attribute name included), and clients copy it; that leading `schacHomeOrganization=` is accepted and
 * dropped. Nothing else is trimmed: whitespace is an error. Internationalised domains must come in their
 * ASCII (`xn--`) form, which is what identity providers release.
 */
import { InvalidValueError } from "./errors.ts";

/** A home organisation domain in canonical (lower-case) form. Only {@link parseSchacHomeOrganisation} makes one. */
export type SchacHomeOrganisation = string & { readonly __brand: "SchacHomeOrganisation" };

const ATTRIBUTE_PREFIX = "schachomeorganization=";
const LABEL = /^[a-z0-9-]{1,63}$/;

/** Reads a home organisation domain; throws `SCHAC_INVALID` naming the rule that broke. */
export function parseSchacHomeOrganisation(
  value: unknown,
  field = "schacHomeOrganization",
): SchacHomeOrganisation {
  if (typeof value !== "string") {
    throw new InvalidValueError("SCHAC_INVALID", field, `must be a string, got ${typeName(value)}`);
  }
  const domain = value.toLowerCase().startsWith(ATTRIBUTE_PREFIX)
    ? value.slice(ATTRIBUTE_PREFIX.length)
    : value;
  const problem = domainProblem(domain);
  if (problem !== undefined) throw new InvalidValueError("SCHAC_INVALID", field, problem);
  return domain.toLowerCase() as SchacHomeOrganisation;
}

/** Whether `value` is a home organisation domain in canonical form (lower case, no attribute name). */
export function isSchacHomeOrganisation(value: unknown): value is SchacHomeOrganisation {
  return typeof value === "string" && domainProblem(value) === undefined && value === value.toLowerCase();
}

function domainProblem(domain: string): string | undefined {
  if (domain === "") return "must not be empty";
  if (/\s/.test(domain)) return "must not contain whitespace";
  if (!isAscii(domain)) {
    return "must be an ASCII domain name; write an internationalised domain in its xn-- (punycode) form";
  }
  if (domain.length > 253) return `must be at most 253 characters, got ${domain.length}`;
  if (domain.endsWith(".")) return "must not end with a dot";
  const labels = domain.toLowerCase().split(".");
  if (labels.length < 2) return "must be a domain name with at least two labels, e.g. uw.edu.pl";
  for (const label of labels) {
    if (label === "") return "must not have an empty label (a leading dot or two dots in a row)";
    if (label.length > 63) return `each label must be at most 63 characters, got ${label.length}`;
    if (!LABEL.test(label)) return `label '${label}' may contain only letters, digits and hyphens`;
    if (label.startsWith("-") || label.endsWith("-")) {
      return `label '${label}' must not start or end with a hyphen`;
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) {
    return "the last label must not be all digits (an IP address is not a home organisation)";
  }
  return undefined;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function typeName(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}
