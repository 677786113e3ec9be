import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { erasmusCodeKey, parseErasmusCode } from "../../src/domain/erasmus-code.ts";
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
  assertInvalid(() => parseErasmusCode(value), "ERASMUS_CODE_INVALID", "erasmusCode", reason);

describe("parseErasmusCode", () => {
  it("keeps codes already in canonical form", () => {
    for (const code of [
      "PL WARSZAW01",
      "F  PARIS001",
      "B  BRUXEL04",
      "UK LONDON001",
      "SF HELSINK04",
      "D  BERLIN01",
    ]) {
      assert.equal(parseErasmusCode(code), code);
    }
  });

  it("pads the country part to three characters", () => {
    assert.equal(parseErasmusCode("F PARIS001"), "F  PARIS001");
    assert.equal(parseErasmusCode("F     PARIS001"), "F  PARIS001");
    assert.equal(parseErasmusCode("PL  WARSZAW01"), "PL WARSZAW01");
  });

  it("upper-cases", () => {
    assert.equal(parseErasmusCode("pl warszaw01"), "PL WARSZAW01");
    assert.equal(parseErasmusCode("b bruxel04"), "B  BRUXEL04");
  });

  it("handles three-letter country parts, with or without a space", () => {
    assert.equal(parseErasmusCode("IRLDUBLIN01"), "IRLDUBLIN01");
    assert.equal(parseErasmusCode("IRL DUBLIN01"), "IRLDUBLIN01");
    assert.equal(parseErasmusCode("LUXLUX-VIL01"), "LUXLUX-VIL01");
  });

  it("refuses a missing space after a shorter country part", () => {
    invalid("PLWARSZAW01", /country part of 1-3 letters, spaces, then a city part/);
    invalid("FPARIS001", /e\.g\. PL WARSZAW01/);
  });

  it("refuses a number of one or four digits", () => {
    invalid("PL WARSZAW1", /2-3 digits/);
    invalid("PL WARSZAW0001", /2-3 digits/);
  });

  it("refuses a missing city, a long country part and digits inside the city", () => {
    invalid("PL 01", /city part/);
    invalid("ABCD WARSZAW01", /1-3 letters/);
    invalid("PL WAR2SZAW01", /city part/);
    invalid("PL -WARSZAW01", /city part/);
  });

  it("refuses surrounding whitespace and tabs", () => {
    invalid(" PL WARSZAW01", /must not start or end with whitespace/);
    invalid("PL WARSZAW01 ", /must not start or end with whitespace/);
    invalid("PL\tWARSZAW01", /only spaces may separate/);
  });

  it("refuses non-strings and empty values", () => {
    invalid("", /must not be empty/);
    invalid(1, /must be a string, got number/);
  });

  it("reports the field it is given", () => {
    assertInvalid(() => parseErasmusCode("x", "code"), "ERASMUS_CODE_INVALID", "code", /country part/);
  });
});

describe("erasmusCodeKey", () => {
  it("matches codes however they are spaced or cased", () => {
    assert.equal(erasmusCodeKey("F  PARIS001"), "FPARIS001");
    assert.equal(erasmusCodeKey("f paris001"), "FPARIS001");
    assert.equal(erasmusCodeKey("IRL DUBLIN01"), erasmusCodeKey(parseErasmusCode("IRLDUBLIN01")));
    assert.equal(erasmusCodeKey("PL WARSZAW01"), "PLWARSZAW01");
  });
});
