import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, InvalidValueError } from "../../src/domain/errors.ts";
import { isPic, parsePic } from "../../src/domain/pic.ts";

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
  assertInvalid(() => parsePic(value), "PIC_INVALID", "pic", reason);

describe("parsePic", () => {
  it("accepts nine digits, leading zeros included", () => {
    assert.equal(parsePic("999859608"), "999859608");
    assert.equal(parsePic("000000001"), "000000001");
  });

  it("accepts a number, as the ESC Router's document shows PICs (123456789)", () => {
    assert.equal(parsePic(123456789), "123456789");
  });

  it("refuses a PIC of 8 or 10 digits", () => {
    invalid("12345678", /exactly 9 decimal digits, got 8/);
    invalid("1234567890", /exactly 9 decimal digits, got 10/);
  });

  it("refuses a number that lost its leading zeros instead of padding it", () => {
    invalid(12345678, /got 8; send a PIC with leading zeros as a string/);
    invalid(1, /as a string/);
  });

  it("refuses fractions, negatives and huge numbers", () => {
    invalid(123456789.5, /not a fraction or negative/);
    invalid(-12345678, /not a fraction or negative/);
    invalid(Number.NaN, /9 decimal digits/);
    invalid(1e20, /9 decimal digits/);
  });

  it("refuses letters, separators and whitespace", () => {
    invalid("12345678a", /no spaces, letters or separators/);
    invalid(" 123456789", /no spaces/);
    invalid("123 456 789", /no spaces/);
    invalid("123-456-789", /separators/);
    invalid("１２３４５６７８９", /9 decimal digits/);
  });

  it("refuses other types", () => {
    invalid(null, /must be a string of 9 decimal digits, got null/);
    invalid({}, /got object/);
  });

  it("reports the field it is given", () => {
    assertInvalid(
      () => parsePic("1", "issuerIdentifier"),
      "PIC_INVALID",
      "issuerIdentifier",
      /9 decimal digits/,
    );
  });
});

describe("isPic", () => {
  it("is true for nine-digit strings only", () => {
    assert.equal(isPic("999859608"), true);
    assert.equal(isPic(999859608), false);
    assert.equal(isPic("99985960"), false);
  });
});
