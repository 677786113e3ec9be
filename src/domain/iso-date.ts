/**
 * Calendar dates as the ESC Router writes them: `yyyy-MM-dd` (ISO 8601 calendar date, no time, no zone),
 * for `issuedAt` and `expiresAt`.
 *
 * A date is kept as its string: it names a day, not an instant, so turning it into a `Date` would attach
 * a midnight in some time zone and move it by a day elsewhere. The format is fixed width, so comparing
 * strings compares dates. Parsing checks the calendar (no 2025-02-30) and keeps years to 1900–9999:
 * anything outside is a data-entry error for a student card, and four digits keep the ordering sound.
 */
import { InvalidValueError } from "./errors.ts";

/** A real calendar date `yyyy-MM-dd`, years 1900–9999. Only this module makes one. */
export type IsoDate = string & { readonly __brand: "IsoDate" };

export const MIN_YEAR = 1900;
export const MAX_YEAR = 9999;

const FORMAT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const MS_PER_DAY = 86_400_000;

/** Reads a `yyyy-MM-dd` date; throws `DATE_INVALID` naming the part that is wrong. */
export function parseIsoDate(value: unknown, field = "date"): IsoDate {
  const problem = dateProblem(value);
  if (problem !== undefined) throw new InvalidValueError("DATE_INVALID", field, problem);
  return value as IsoDate;
}

export function isIsoDate(value: unknown): value is IsoDate {
  return dateProblem(value) === undefined;
}

/**
 * The calendar date of instant `date` in `timeZone` (an IANA name, UTC by default): the day a card
 * holder in that zone would call "today". Throws a RangeError for an unknown zone or a year out of range.
 */
export function isoDateOf(date: Date, timeZone = "UTC"): IsoDate {
  if (!Number.isFinite(date.getTime())) throw new TypeError("date must be a valid Date");
  let text: string;
  if (timeZone === "UTC") {
    text = date.toISOString().slice(0, 10);
  } else {
    const parts = formatterFor(timeZone).formatToParts(date);
    const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
    text = `${part("year").padStart(4, "0")}-${part("month")}-${part("day")}`;
  }
  if (dateProblem(text) !== undefined) {
    throw new RangeError(`the date of that instant is outside ${MIN_YEAR}-${MAX_YEAR}`);
  }
  return text as IsoDate;
}

/** Orders two dates: negative if `a` is earlier, 0 if equal, positive if later. */
export function compareIsoDates(a: IsoDate, b: IsoDate): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The date `days` days after `date` (before it, if negative). Throws a RangeError past 1900–9999. */
export function addDays(date: IsoDate, days: number): IsoDate {
  if (!Number.isSafeInteger(days)) throw new TypeError(`days must be an integer, got ${days}`);
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  const shifted = new Date(Date.UTC(year, month - 1, day) + days * MS_PER_DAY);
  const year2 = shifted.getUTCFullYear();
  if (!Number.isFinite(shifted.getTime()) || year2 < MIN_YEAR || year2 > MAX_YEAR) {
    throw new RangeError(`${date} plus ${days} days is outside ${MIN_YEAR}-${MAX_YEAR}`);
  }
  return shifted.toISOString().slice(0, 10) as IsoDate;
}

function dateProblem(value: unknown): string | undefined {
  if (typeof value !== "string") {
    return `must be a string, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`;
  }
  const match = FORMAT.exec(value);
  if (match === null) return "must be a date in the form yyyy-MM-dd, e.g. 2030-12-31";
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (year < MIN_YEAR) return `year must be from ${MIN_YEAR} to ${MAX_YEAR}, got ${match[1]}`;
  if (month < 1 || month > 12) return `month must be from 01 to 12, got ${match[2]}`;
  const last = daysInMonth(year, month);
  if (day < 1 || day > last) {
    return `day must be from 01 to ${last} in ${match[1]}-${match[2]}, got ${match[3]}`;
  }
  return undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      calendar: "gregory",
      numberingSystem: "latn",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}
