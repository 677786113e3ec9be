import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ACADEMIC_LEVEL_LABELS,
  ACADEMIC_LEVELS,
  isAcademicLevel,
  parseAcademicLevel,
} from "../../src/domain/academic-level.ts";
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

describe("ACADEMIC_LEVELS", () => {
  it("lists the three ESC academic levels, each with a label", () => {
    assert.deepEqual([...ACADEMIC_LEVELS], ["BACHELOR", "MASTER", "DOCTORATE"]);
    assert.deepEqual(ACADEMIC_LEVEL_LABELS, {
      BACHELOR: "Bachelor's degree",
      MASTER: "Master's degree",
      DOCTORATE: "Doctorate",
    });
  });
});

describe("parseAcademicLevel", () => {
  it("accepts every level", () => {
    for (const level of ACADEMIC_LEVELS) assert.equal(parseAcademicLevel(level), level);
  });

  it("matches exactly, and says so for the wrong case", () => {
    assertInvalid(
      () => parseAcademicLevel("master"),
      "ACADEMIC_LEVEL_INVALID",
      "academicLevel",
      /\(upper case: MASTER\)/,
    );
  });

  it("lists the allowed values", () => {
    for (const value of ["PHD", "BACHELORS", "", 3, null]) {
      assertInvalid(
        () => parseAcademicLevel(value),
        "ACADEMIC_LEVEL_INVALID",
        "academicLevel",
        /^must be one of BACHELOR, MASTER, DOCTORATE$/,
      );
    }
  });

  it("reports the field it is given", () => {
    assertInvalid(
      () => parseAcademicLevel("X", "links/0/academicLevel"),
      "ACADEMIC_LEVEL_INVALID",
      "links/0/academicLevel",
      /BACHELOR/,
    );
  });
});

describe("isAcademicLevel", () => {
  it("is true for the exact keys only", () => {
    assert.equal(isAcademicLevel("DOCTORATE"), true);
    assert.equal(isAcademicLevel("Doctorate"), false);
  });
});
