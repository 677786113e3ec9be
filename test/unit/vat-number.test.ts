import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, InvalidValueError } from "../../src/domain/errors.ts";
import { isVatNumber, parseVatNumber } from "../../src/domain/vat-number.ts";

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
  assertInvalid(() => parseVatNumber(value), "VAT_NUMBER_INVALID", "processorIdentifier", reason);

describe("parseVatNumber", () => {
  it("accepts the ESC Router's example, which has no country prefix", () => {
    assert.equal(parseVatNumber("B12345678"), "B12345678");
  });

  it("accepts numbers with an EU country prefix, EL and XI included", () => {
    assert.equal(parseVatNumber("BE0123456789"), "BE0123456789");
    assert.equal(parseVatNumber("EL123456789"), "EL123456789");
    assert.equal(parseVatNumber("XI123456789"), "XI123456789");
    assert.equal(parseVatNumber("NL123456789B01"), "NL123456789B01");
    assert.equal(parseVatNumber("ESX1234567X"), "ESX1234567X");
    assert.equal(parseVatNumber("IE1+23456X"), "IE1+23456X");
  });

  it("removes spaces, dots and hyphens and upper-cases", () => {
    assert.equal(parseVatNumber("be 0123.456.789"), "BE0123456789");
    assert.equal(parseVatNumber("fr-12 345678901"), "FR12345678901");
  });

  it("allows 13 characters after an EU prefix, but not 14", () => {
    assert.equal(parseVatNumber("BE1234567890123"), "BE1234567890123");
    invalid("BE12345678901234", /2 to 13/);
  });

  it("allows 13 characters without a prefix, but not 14", () => {
    assert.equal(parseVatNumber("1234567890123"), "1234567890123");
    invalid("12345678901234", /2 to 13/);
  });

  it("refuses a number without digits", () => {
    invalid("ABCDEFGH", /at least one digit/);
  });

  it("refuses a single character and an empty value", () => {
    invalid("1", /2 to 13/);
    invalid("", /must not be empty/);
    invalid(" - . ", /must not be empty/);
  });

  it("refuses other characters", () => {
    invalid("B1234_5678", /only letters, digits, \+ and \*/);
    invalid("B1234/5678", /only letters/);
    invalid("B12345678\t", /only letters/);
  });

  it("refuses non-strings", () => {
    invalid(12345678, /must be a string, got number/);
  });

  it("reports the field it is given", () => {
    assertInvalid(
      () => parseVatNumber("x", "identifier"),
      "VAT_NUMBER_INVALID",
      "identifier",
      /at least one digit/,
    );
  });
});

describe("isVatNumber", () => {
  it("is true for the canonical form only", () => {
    assert.equal(isVatNumber("BE0123456789"), true);
    assert.equal(isVatNumber("be0123456789"), false);
    assert.equal(isVatNumber("BE 0123456789"), false);
  });
});
