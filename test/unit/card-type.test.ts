import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CARD_TYPE_LABELS, CARD_TYPES, isCardType, parseCardType } from "../../src/domain/card-type.ts";
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

describe("CARD_TYPES", () => {
  it("lists the seven ESC card types, each with a label", () => {
    assert.deepEqual(
      [...CARD_TYPES],
      [
        "UNKNOWN",
        "PASSIVE",
        "SMART_NO_CDZ",
        "SMART_CDZ",
        "SMART_MAY_SP",
        "SMART_PASSIVE",
        "SMART_PASSIVE_EMULATION",
      ],
    );
    assert.deepEqual(Object.keys(CARD_TYPE_LABELS).sort(), [...CARD_TYPES].sort());
    assert.equal(CARD_TYPE_LABELS.SMART_CDZ, "Physical smart card, with ESC data zone");
    assert.equal(CARD_TYPE_LABELS.SMART_NO_CDZ, "Physical smart card, without ESC data zone");
  });
});

describe("parseCardType", () => {
  it("accepts every card type", () => {
    for (const type of CARD_TYPES) assert.equal(parseCardType(type), type);
  });

  it("matches exactly, and says so for the wrong case", () => {
    assertInvalid(
      () => parseCardType("smart_cdz"),
      "CARD_TYPE_INVALID",
      "cardType",
      /\(upper case: SMART_CDZ\)/,
    );
  });

  it("lists the allowed values", () => {
    assertInvalid(
      () => parseCardType("SMART"),
      "CARD_TYPE_INVALID",
      "cardType",
      /^must be one of UNKNOWN, PASSIVE, SMART_NO_CDZ, SMART_CDZ, SMART_MAY_SP, SMART_PASSIVE, SMART_PASSIVE_EMULATION$/,
    );
    assertInvalid(() => parseCardType(" PASSIVE"), "CARD_TYPE_INVALID", "cardType", /must be one of/);
    assertInvalid(() => parseCardType(1), "CARD_TYPE_INVALID", "cardType", /must be one of/);
    assertInvalid(() => parseCardType("toString"), "CARD_TYPE_INVALID", "cardType", /must be one of/);
  });

  it("reports the field it is given", () => {
    assertInvalid(() => parseCardType(null, "type"), "CARD_TYPE_INVALID", "type", /must be one of/);
  });
});

describe("isCardType", () => {
  it("is true for the exact keys only", () => {
    assert.equal(isCardType("PASSIVE"), true);
    assert.equal(isCardType("passive"), false);
  });
});
