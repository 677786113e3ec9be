/**
 * Card colours of an organisation profile (`mainColor`, `secondaryColor`, `contrastColor`, `qrColor` in
 * the ESC Router). They end up in SVG and in rendered cards, so only plain hex colours are accepted (no
 * names, no `rgb()`, nothing that could carry markup), and they are stored in one form, `#rrggbb` lower
 * case, so that equal colours compare equal. The CSS short form `#RGB` is accepted and expanded.
 */
import { InvalidValueError } from "./errors.ts";

/** A colour `#rrggbb`, lower case. Only {@link parseHexColor} makes one. */
export type HexColor = string & { readonly __brand: "HexColor" };

const LONG = /^#[0-9a-fA-F]{6}$/;
const SHORT = /^#[0-9a-fA-F]{3}$/;

/** Reads `#RRGGBB` or `#RGB` in any case; throws `COLOR_INVALID`. Returns `#rrggbb`. */
export function parseHexColor(value: unknown, field = "color"): HexColor {
  if (typeof value === "string") {
    if (LONG.test(value)) return value.toLowerCase() as HexColor;
    if (SHORT.test(value)) {
      const [r, g, b] = value.slice(1).toLowerCase();
      return `#${r}${r}${g}${g}${b}${b}` as HexColor;
    }
  }
  const got =
    typeof value === "string"
      ? ""
      : `, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`;
  throw new InvalidValueError(
    "COLOR_INVALID",
    field,
    `must be a hex colour #RRGGBB or #RGB, e.g. #003399${got}`,
  );
}

/** Whether `value` is a colour in canonical form (`#rrggbb`, lower case). */
export function isHexColor(value: unknown): value is HexColor {
  return typeof value === "string" && /^#[0-9a-f]{6}$/.test(value);
}
