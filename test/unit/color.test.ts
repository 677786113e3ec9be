import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isHexColor, parseHexColor } from "../../src/domain/color.ts";
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
  assertInvalid(() => parseHexColor(value, "mainColor"), "COLOR_INVALID", "mainColor", reason);

describe("parseHexColor", () => {
  it("accepts #RRGGBB in any case and returns lower case", () => {
    assert.equal(parseHexColor("#003399", "mainColor"), "#003399");
    assert.equal(parseHexColor("#ABCDEF", "mainColor"), "#abcdef");
  });

  it("expands #RGB", () => {
    assert.equal(parseHexColor("#abc", "qrColor"), "#aabbcc");
    assert.equal(parseHexColor("#F0A", "qrColor"), "#ff00aa");
  });

  it("refuses anything else", () => {
    for (const value of [
      "003399",
      "#0033",
      "#00339",
      "#0033990",
      "#00339g",
      "red",
      "rgb(0,0,0)",
      "#003399 ",
      "",
    ]) {
      invalid(value, /must be a hex colour #RRGGBB or #RGB, e.g. #003399$/);
    }
    invalid(0x003399, /got number$/);
    invalid(null, /got null$/);
  });

  it("has a default field name", () => {
    assertInvalid(() => parseHexColor("x"), "COLOR_INVALID", "color", /#RRGGBB/);
  });
});

describe("isHexColor", () => {
  it("is true for the canonical form only", () => {
    assert.equal(isHexColor("#003399"), true);
    assert.equal(isHexColor("#ABCDEF"), false);
    assert.equal(isHexColor("#abc"), false);
  });
});
