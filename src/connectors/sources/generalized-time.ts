/**
 * LDAP GeneralizedTime (RFC 4517 §3.3.13), as directories write `schacExpiryDate`, `createTimestamp` and
 * other instants: `YYYYMMDDhh[mm[ss]][(.|,)fraction](Z|±hh[mm])`.
 *
 * SCHAC asks for UTC with seconds (`20260930235959Z`), but directories also hold the shorter forms and
 * offsets the syntax allows, and those name an instant just as clearly: all of them are read. A date is then
 * the calendar day of that instant in a time zone the institution chooses (UTC unless told otherwise).
 */
import { type IsoDate, isoDateOf } from "../../domain/iso-date.ts";

const FORMAT =
  /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})(?:([0-9]{2})([0-9]{2})?)?(?:[.,]([0-9]+))?(Z|[+-][0-9]{2}(?:[0-9]{2})?)$/;
const MS_PER = { hour: 3_600_000, minute: 60_000, second: 1_000 } as const;

/** The instant a GeneralizedTime names, or null when the text is not one (or names no real time). */
export function parseGeneralizedTime(text: string): Date | null {
  const match = FORMAT.exec(text);
  if (match === null) return null;
  const [, year, month, day, hour, minute, second, fraction, zone] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
    string | undefined,
    string | undefined,
    string,
  ];
  const [y, mo, d, h] = [Number(year), Number(month), Number(day), Number(hour)];
  const mi = minute === undefined ? 0 : Number(minute);
  // 60 is a leap second; Date counts it as the first second of the next minute, which is close enough.
  const s = second === undefined ? 0 : Number(second);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 60) return null;
  // A fraction belongs to the last unit given: "2026063012.5Z" is half past twelve.
  const unit = second !== undefined ? MS_PER.second : minute !== undefined ? MS_PER.minute : MS_PER.hour;
  const fractionMs = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * unit);
  let offsetMs = 0;
  if (zone !== "Z") {
    const offsetHours = Number(zone.slice(1, 3));
    const offsetMinutes = zone.length > 3 ? Number(zone.slice(3, 5)) : 0;
    if (offsetHours > 23 || offsetMinutes > 59) return null;
    offsetMs = (zone.startsWith("-") ? -1 : 1) * (offsetHours * MS_PER.hour + offsetMinutes * MS_PER.minute);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(y, mo - 1, d); // setUTCFullYear, unlike Date.UTC, keeps years 0000–0099 as written
  utc.setUTCHours(h, mi, s, 0);
  return new Date(utc.getTime() + fractionMs - offsetMs);
}

/**
 * The calendar day of `instant` in `timeZone`, or null when it falls outside the years a record accepts
 * (1900–9999).
 */
export function dayOf(instant: Date, timeZone: string): IsoDate | null {
  try {
    return isoDateOf(instant, timeZone);
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
}

/**
 * The last day before `instant` in `timeZone`, for instants that end something: `schacExpiryDate` is the
 * first moment an entry is no longer valid, so `20260701000000Z` leaves 30 June as the last day, while
 * `20260630235959Z` (or `20260630120000Z`) keeps 30 June, valid for at least part of it.
 */
export function lastDayBefore(instant: Date, timeZone: string): IsoDate | null {
  return dayOf(new Date(instant.getTime() - 1), timeZone);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
