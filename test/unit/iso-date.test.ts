import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, InvalidValueError } from "../../src/domain/errors.ts";
import {
  addDays,
  compareIsoDates,
  type IsoDate,
  isIsoDate,
  isoDateOf,
  parseIsoDate,
} from "../../src/domain/iso-date.ts";

function assertInvalid(fn: () => unknown, code: ErrorCode, field: string, reason: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidValueError, `expected InvalidValueError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.field, field);
    assert.equal(error.issues[0]?.field, field);
    assert.match(error.issues[0]?.reason ?? "", reason);
    assert.ok(error.message.startsWith(`${field}: `), error.message);
    return true;
  });
}

const invalid = (value: unknown, reason: RegExp) =>
  assertInvalid(() => parseIsoDate(value, "expiresAt"), "DATE_INVALID", "expiresAt", reason);
const d = (text: string): IsoDate => parseIsoDate(text, "test");

describe("parseIsoDate", () => {
  it("accepts the ESC Router's examples and real dates", () => {
    assert.equal(parseIsoDate("2030-12-31", "expiresAt"), "2030-12-31");
    assert.equal(parseIsoDate("2040-12-31", "expiresAt"), "2040-12-31");
    assert.equal(parseIsoDate("2024-02-29", "issuedAt"), "2024-02-29");
    assert.equal(parseIsoDate("2000-02-29", "issuedAt"), "2000-02-29");
    assert.equal(parseIsoDate("1900-01-01", "issuedAt"), "1900-01-01");
    assert.equal(parseIsoDate("9999-12-31", "issuedAt"), "9999-12-31");
  });

  it("refuses days the calendar does not have", () => {
    invalid("2025-02-30", /day must be from 01 to 28 in 2025-02, got 30/);
    invalid("2025-02-29", /day must be from 01 to 28/);
    invalid("1900-02-29", /day must be from 01 to 28/);
    invalid("2025-04-31", /day must be from 01 to 30/);
    invalid("2025-01-00", /day must be from 01 to 31/);
  });

  it("refuses months out of range", () => {
    invalid("2025-13-01", /month must be from 01 to 12, got 13/);
    invalid("2025-00-10", /month must be from 01 to 12, got 00/);
  });

  it("refuses years out of range", () => {
    invalid("1899-12-31", /year must be from 1900 to 9999, got 1899/);
    invalid("0000-01-01", /year must be from 1900/);
    invalid("10000-01-01", /yyyy-MM-dd/);
  });

  it("refuses other formats", () => {
    for (const text of [
      "2025-1-01",
      "2025-01-1",
      "20250101",
      "2025/01/01",
      "01-01-2025",
      "2025-01-01T00:00:00Z",
      " 2025-01-01",
      "",
    ]) {
      invalid(text, /must be a date in the form yyyy-MM-dd, e.g. 2030-12-31/);
    }
    invalid("２０２５-01-01", /yyyy-MM-dd/);
  });

  it("refuses non-strings, Date objects included", () => {
    invalid(new Date(), /must be a string, got object/);
    invalid(20250101, /got number/);
  });

  it("has a default field name", () => {
    assertInvalid(() => parseIsoDate("x"), "DATE_INVALID", "date", /yyyy-MM-dd/);
  });
});

describe("isIsoDate", () => {
  it("tells real dates from the rest", () => {
    assert.equal(isIsoDate("2025-01-31"), true);
    assert.equal(isIsoDate("2025-02-31"), false);
    assert.equal(isIsoDate(null), false);
  });
});

describe("isoDateOf", () => {
  const instant = new Date("2025-03-01T23:30:00Z");

  it("gives the UTC date by default", () => {
    assert.equal(isoDateOf(instant), "2025-03-01");
  });

  it("gives the date in a time zone", () => {
    assert.equal(isoDateOf(instant, "Europe/Brussels"), "2025-03-02");
    assert.equal(isoDateOf(instant, "America/New_York"), "2025-03-01");
    assert.equal(isoDateOf(new Date("2025-01-01T02:00:00Z"), "America/Los_Angeles"), "2024-12-31");
  });

  it("refuses an invalid Date, an unknown zone and years out of range", () => {
    assert.throws(() => isoDateOf(new Date(Number.NaN)), TypeError);
    assert.throws(() => isoDateOf(instant, "Mars/Olympus"), RangeError);
    assert.throws(() => isoDateOf(new Date("1800-01-01T00:00:00Z")), RangeError);
  });
});

describe("compareIsoDates", () => {
  it("orders dates", () => {
    assert.equal(compareIsoDates(d("2025-01-01"), d("2025-01-02")), -1);
    assert.equal(compareIsoDates(d("2025-01-02"), d("2025-01-01")), 1);
    assert.equal(compareIsoDates(d("2025-01-01"), d("2025-01-01")), 0);
    assert.equal(compareIsoDates(d("2024-12-31"), d("2025-01-01")), -1);
    const sorted = [d("2030-01-01"), d("1999-12-31"), d("2025-06-15")].sort(compareIsoDates);
    assert.deepEqual(sorted, ["1999-12-31", "2025-06-15", "2030-01-01"]);
  });
});

describe("addDays", () => {
  it("crosses months, years and leap days", () => {
    assert.equal(addDays(d("2024-02-28"), 1), "2024-02-29");
    assert.equal(addDays(d("2025-02-28"), 1), "2025-03-01");
    assert.equal(addDays(d("2024-12-31"), 1), "2025-01-01");
    assert.equal(addDays(d("2025-03-01"), -1), "2025-02-28");
    assert.equal(addDays(d("2025-01-01"), 365), "2026-01-01");
    assert.equal(addDays(d("2025-03-30"), 0), "2025-03-30");
    assert.equal(addDays(d("2025-03-29"), 2), "2025-03-31");
  });

  it("refuses fractions and results out of range", () => {
    assert.throws(() => addDays(d("2025-01-01"), 1.5), TypeError);
    assert.throws(() => addDays(d("9999-12-31"), 1), RangeError);
    assert.throws(() => addDays(d("1900-01-01"), -1), RangeError);
  });
});
