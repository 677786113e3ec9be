import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, InvalidValueError } from "../../src/domain/errors.ts";
import {
  isSchacHomeOrganisation,
  parseSchacHomeOrganisation,
} from "../../src/domain/schac-home-organisation.ts";

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
  assertInvalid(() => parseSchacHomeOrganisation(value), "SCHAC_INVALID", "schacHomeOrganization", reason);

describe("parseSchacHomeOrganisation", () => {
  it("accepts domains and lower-cases them", () => {
    assert.equal(parseSchacHomeOrganisation("uw.edu.pl"), "uw.edu.pl");
    assert.equal(parseSchacHomeOrganisation("UW.Edu.PL"), "uw.edu.pl");
    assert.equal(parseSchacHomeOrganisation("fi.uw.edu.pl"), "fi.uw.edu.pl");
    assert.equal(parseSchacHomeOrganisation("ladok.se"), "ladok.se");
    assert.equal(parseSchacHomeOrganisation("xn--bcher-kva.example"), "xn--bcher-kva.example");
    assert.equal(parseSchacHomeOrganisation("3com.com"), "3com.com");
  });

  it("drops the attribute name of the ESC Router's example", () => {
    assert.equal(
      parseSchacHomeOrganisation("schacHomeOrganization=univ-saint-valentin.fr"),
      "univ-saint-valentin.fr",
    );
    assert.equal(parseSchacHomeOrganisation("SCHACHOMEORGANIZATION=Uw.edu.pl"), "uw.edu.pl");
    invalid("schacHomeOrganization=", /must not be empty/);
  });

  it("refuses a single label", () => {
    invalid("localhost", /at least two labels/);
  });

  it("refuses empty labels and a trailing dot", () => {
    invalid("uw..edu.pl", /empty label/);
    invalid(".uw.edu.pl", /empty label/);
    invalid("uw.edu.pl.", /must not end with a dot/);
  });

  it("refuses labels that start or end with a hyphen, or hold other characters", () => {
    invalid("-uw.edu.pl", /label '-uw' must not start or end with a hyphen/);
    invalid("uw-.edu.pl", /must not start or end with a hyphen/);
    invalid("u_w.edu.pl", /label 'u_w' may contain only letters, digits and hyphens/);
    invalid("https://uw.edu.pl", /may contain only letters/);
  });

  it("refuses an IP address", () => {
    invalid("192.168.0.1", /all digits/);
  });

  it("refuses a label of 64 characters and a name of 254", () => {
    assert.equal(parseSchacHomeOrganisation(`${"a".repeat(63)}.eu`), `${"a".repeat(63)}.eu`);
    invalid(`${"a".repeat(64)}.eu`, /at most 63 characters, got 64/);
    const label = "a".repeat(60);
    const long = [label, label, label, label, "abcdefghij"].join("."); // 254
    assert.equal(long.length, 254);
    invalid(long, /at most 253 characters, got 254/);
    assert.equal(parseSchacHomeOrganisation(long.slice(1)).length, 253);
  });

  it("refuses whitespace and non-ASCII", () => {
    invalid(" uw.edu.pl", /whitespace/);
    invalid("uw.edu.pl\n", /whitespace/);
    invalid("uniwersytet.wrocław.pl", /xn-- \(punycode\)/);
  });

  it("refuses non-strings and empty values", () => {
    invalid("", /must not be empty/);
    invalid(42, /must be a string, got number/);
  });

  it("reports the field it is given", () => {
    assertInvalid(() => parseSchacHomeOrganisation("x", "sho"), "SCHAC_INVALID", "sho", /two labels/);
  });
});

describe("isSchacHomeOrganisation", () => {
  it("is true for the canonical form only", () => {
    assert.equal(isSchacHomeOrganisation("uw.edu.pl"), true);
    assert.equal(isSchacHomeOrganisation("UW.edu.pl"), false);
    assert.equal(isSchacHomeOrganisation("schacHomeOrganization=uw.edu.pl"), false);
  });
});
