import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  COUNTRY_CODES,
  isCountryCode,
  isSubdivisionCode,
  parseCountryCode,
} from "../../src/domain/country-code.ts";
import { type ErrorCode, InvalidValueError } from "../../src/domain/errors.ts";

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
  assertInvalid(() => parseCountryCode(value), "COUNTRY_INVALID", "country", reason);

describe("COUNTRY_CODES", () => {
  it("holds the 249 assigned ISO 3166-1 alpha-2 codes", () => {
    assert.equal(COUNTRY_CODES.size, 249);
    for (const code of COUNTRY_CODES) assert.match(code, /^[A-Z]{2}$/);
    for (const code of ["AX", "BQ", "CW", "SS", "SX", "GR", "GB", "HR", "PL", "AQ", "UM"]) {
      assert.ok(COUNTRY_CODES.has(code), code);
    }
    for (const code of ["EL", "UK", "XK", "EU", "AN", "YU", "CS", "ZZ"])
      assert.ok(!COUNTRY_CODES.has(code), code);
  });

  it("agrees with the region names the JavaScript engine knows", () => {
    const names = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });
    for (const code of COUNTRY_CODES) assert.notEqual(names.of(code), code, `${code} has no name`);
  });
});

describe("parseCountryCode", () => {
  it("accepts any case and returns upper case", () => {
    assert.equal(parseCountryCode("BE"), "BE");
    assert.equal(parseCountryCode("be"), "BE");
    assert.equal(parseCountryCode("Pl"), "PL");
  });

  it("refuses EL and UK, naming the ISO code to use", () => {
    invalid("EL", /EL is used by EU bodies but is not an ISO 3166-1 code; use GR/);
    invalid("uk", /UK is used by EU bodies but is not an ISO 3166-1 code; use GB/);
  });

  it("refuses unassigned codes", () => {
    invalid("XX", /XX is not an assigned ISO 3166-1 alpha-2 code/);
    invalid("XK", /not an assigned/);
  });

  it("refuses other shapes", () => {
    invalid("BEL", /two letters/);
    invalid("B", /two letters/);
    invalid(" BE", /two letters/);
    invalid("", /two letters/);
    invalid(32, /must be a string, got number/);
  });

  it("reports the field it is given", () => {
    assertInvalid(
      () => parseCountryCode("XX", "address/country"),
      "COUNTRY_INVALID",
      "address/country",
      /XX/,
    );
  });
});

describe("isCountryCode", () => {
  it("is true for upper-case assigned codes only", () => {
    assert.equal(isCountryCode("BE"), true);
    assert.equal(isCountryCode("be"), false);
    assert.equal(isCountryCode("EL"), false);
    assert.equal(isCountryCode(1), false);
  });
});

describe("isSubdivisionCode", () => {
  it("accepts XX-YYY with an assigned country, in any case", () => {
    assert.equal(isSubdivisionCode("BE-BRU"), true);
    assert.equal(isSubdivisionCode("be-bru"), true);
    assert.equal(isSubdivisionCode("FR-75"), true);
    assert.equal(isSubdivisionCode("ES-M"), true);
  });

  it("refuses other shapes and unknown countries", () => {
    assert.equal(isSubdivisionCode("XX-BRU"), false);
    assert.equal(isSubdivisionCode("BE-BRUX"), false);
    assert.equal(isSubdivisionCode("BE-"), false);
    assert.equal(isSubdivisionCode("BE"), false);
    assert.equal(isSubdivisionCode(null), false);
  });
});
