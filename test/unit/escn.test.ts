import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, InvalidValueError } from "../../src/domain/errors.ts";
import {
  type Escn,
  escnPic,
  escnPrefix,
  escnTimestamp,
  generateEscn,
  generateEscns,
  isEscn,
  parseEscn,
} from "../../src/domain/escn.ts";
import { type Pic, parsePic } from "../../src/domain/pic.ts";

/** The example of the ESC escn-java-generator and of the ESC Router's OpenAPI document. */
const EXAMPLE = "3e506370-826a-103d-bf76-001000000001";
const PIC = parsePic("999859608");

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

/** The 14-bit clock sequence of an ESCN (fourth group without the variant bits). */
function clockSequence(escn: string): number {
  return Number.parseInt(escn.slice(19, 23), 16) & 0x3fff;
}

/** Hands out the given bytes in order, as a stand-in for crypto.randomBytes. */
function scripted(...chunks: number[][]): (n: number) => Buffer {
  const bytes = chunks.flat();
  let at = 0;
  return (n) => {
    const out = Buffer.from(bytes.slice(at, at + n));
    at += n;
    return out;
  };
}

describe("parseEscn", () => {
  it("accepts the published example and keeps it", () => {
    assert.equal(parseEscn(EXAMPLE), EXAMPLE);
  });

  it("accepts upper case and returns lower case", () => {
    assert.equal(parseEscn(EXAMPLE.toUpperCase()), EXAMPLE);
  });

  it("accepts every RFC 4122 variant digit", () => {
    for (const v of ["8", "9", "a", "b", "A", "B"]) {
      assert.equal(parseEscn(`${EXAMPLE.slice(0, 19)}${v}${EXAMPLE.slice(20)}`).at(19), v.toLowerCase());
    }
  });

  it("reads the prefix and the PIC from the node", () => {
    const escn = parseEscn(EXAMPLE);
    assert.equal(escnPrefix(escn), "001");
    assert.equal(escnPic(escn), "000000001");
  });

  it("refuses a version 4 UUID", () => {
    assertInvalid(
      () => parseEscn("3e506370-826a-403d-bf76-001000000001"),
      "ESCN_INVALID",
      "cardNumber",
      /version must be 1.*got 4/,
    );
  });

  it("refuses a hex letter in the node", () => {
    assertInvalid(
      () => parseEscn("3e506370-826a-103d-bf76-00100000000a"),
      "ESCN_INVALID",
      "cardNumber",
      /^node must be 12 decimal digits: a 3-digit prefix and the issuer's 9-digit PIC$/,
    );
  });

  it("refuses 35 and 37 characters", () => {
    assertInvalid(
      () => parseEscn(EXAMPLE.slice(0, 35)),
      "ESCN_INVALID",
      "cardNumber",
      /must be 36 characters.*got 35/,
    );
    assertInvalid(
      () => parseEscn(`${EXAMPLE}1`),
      "ESCN_INVALID",
      "cardNumber",
      /must be 36 characters.*got 37/,
    );
  });

  it("refuses the 32-digit form without hyphens", () => {
    assertInvalid(() => parseEscn(EXAMPLE.replace(/-/g, "")), "ESCN_INVALID", "cardNumber", /36 characters/);
  });

  it("refuses whitespace instead of trimming it", () => {
    for (const value of [
      ` ${EXAMPLE}`,
      `${EXAMPLE}\n`,
      `${EXAMPLE.slice(0, 35)} `,
      `\t${EXAMPLE.slice(1)}`,
    ]) {
      assertInvalid(() => parseEscn(value), "ESCN_INVALID", "cardNumber", /must not contain whitespace/);
    }
  });

  it("refuses misplaced hyphens", () => {
    assertInvalid(
      () => parseEscn("3e5063708-26a-103d-bf76-001000000001"),
      "ESCN_INVALID",
      "cardNumber",
      /8-4-4-4-12 layout/,
    );
  });

  it("names a character that is not hexadecimal", () => {
    assertInvalid(
      () => parseEscn("3e50637g-826a-103d-bf76-001000000001"),
      "ESCN_INVALID",
      "cardNumber",
      /character 'g' at position 8 is not a hexadecimal digit/,
    );
  });

  it("refuses a variant other than RFC 4122", () => {
    for (const v of ["7", "c", "f", "0"]) {
      assertInvalid(
        () => parseEscn(`${EXAMPLE.slice(0, 19)}${v}${EXAMPLE.slice(20)}`),
        "ESCN_INVALID",
        "cardNumber",
        /variant must be RFC 4122/,
      );
    }
  });

  it("refuses non-strings", () => {
    assertInvalid(() => parseEscn(42), "ESCN_INVALID", "cardNumber", /must be a string, got number/);
    assertInvalid(() => parseEscn(null), "ESCN_INVALID", "cardNumber", /must be a string, got null/);
    assertInvalid(() => parseEscn(undefined), "ESCN_INVALID", "cardNumber", /got undefined/);
  });

  it("reports the field it is given", () => {
    assertInvalid(() => parseEscn("nope", "escn"), "ESCN_INVALID", "escn", /36 characters/);
  });
});

describe("isEscn", () => {
  it("is true only for the canonical lower-case form", () => {
    assert.equal(isEscn(EXAMPLE), true);
    assert.equal(isEscn(EXAMPLE.toUpperCase()), false);
    assert.equal(isEscn("3e506370-826a-403d-bf76-001000000001"), false);
    assert.equal(isEscn(123), false);
    assert.equal(isEscn(undefined), false);
  });
});

describe("escnTimestamp", () => {
  it("decodes the RFC 4122 timestamp (the reference generator's example decodes to 1637)", () => {
    assert.equal(escnTimestamp(parseEscn(EXAMPLE)).toISOString(), "1637-08-25T14:50:40.295Z");
  });
});

describe("generateEscn", () => {
  it("makes a version 1, RFC 4122 variant UUID with node = prefix + PIC", () => {
    const escn = generateEscn({ prefix: "066", pic: PIC });
    assert.match(escn, /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-066999859608$/);
    assert.equal(escnPrefix(escn), "066");
    assert.equal(escnPic(escn), PIC);
  });

  it("round-trips through parseEscn", () => {
    const escn = generateEscn({ prefix: "001", pic: PIC });
    assert.equal(parseEscn(escn), escn);
    assert.equal(isEscn(escn), true);
  });

  it("stamps the current time", () => {
    const before = Date.now();
    const escn = generateEscn({ prefix: "001", pic: PIC });
    const stamped = escnTimestamp(escn).getTime();
    assert.ok(Math.abs(stamped - before) < 1000, `timestamp ${stamped} is not within 1 s of ${before}`);
  });

  it("stamps the given time, to the millisecond", () => {
    const now = new Date("2031-05-17T08:09:10.123Z");
    for (const escn of generateEscns(50, { prefix: "001", pic: PIC, now })) {
      assert.equal(escnTimestamp(escn).toISOString(), now.toISOString());
    }
  });

  it("lays out the fields exactly (known answers, computed with Python's uuid module)", () => {
    const now = new Date("2025-01-01T00:00:00.000Z");
    const zeros = (n: number) => Buffer.alloc(n);
    assert.equal(
      generateEscn({ prefix: "001", pic: PIC, now, random: zeros }),
      "57fd0000-c7d3-11ef-8000-001999859608",
    );
    // clock sequence 0x2abc, 100-ns offset 1234 (0x000004d2)
    const random = scripted([0x2a, 0xbc, 0x00, 0x00, 0x04, 0xd2]);
    assert.equal(
      generateEscn({ prefix: "001", pic: PIC, now, random }),
      "57fd04d2-c7d3-11ef-aabc-001999859608",
    );
  });

  it("draws a fresh random clock sequence for every call", () => {
    const escns = Array.from({ length: 1000 }, () => generateEscn({ prefix: "001", pic: PIC }));
    const sequences = escns.map(clockSequence);
    let successors = 0;
    for (let i = 1; i < sequences.length; i++)
      if (sequences[i] === (sequences[i - 1]! + 1) % 0x4000) successors++;
    assert.ok(successors < 50, `${successors} of 1000 clock sequences follow their predecessor`);
    assert.ok(new Set(sequences).size > 900, "clock sequences repeat far more than chance allows");
  });

  it("refuses a prefix that is not exactly 3 digits", () => {
    for (const prefix of ["01", "0001", "abc", "", " 01", "1e2"]) {
      assertInvalid(
        () => generateEscn({ prefix, pic: PIC }),
        "ESCN_INVALID",
        "prefix",
        /exactly 3 decimal digits/,
      );
    }
  });

  it("refuses a PIC that is not 9 digits", () => {
    assertInvalid(() => generateEscn({ prefix: "001", pic: "12345678" as Pic }), "PIC_INVALID", "pic", /9/);
  });

  it("refuses a time a version 1 UUID cannot hold", () => {
    assert.throws(() => generateEscn({ prefix: "001", pic: PIC, now: new Date(Number.NaN) }), TypeError);
    assert.throws(
      () => generateEscn({ prefix: "001", pic: PIC, now: new Date("1500-01-01T00:00:00Z") }),
      RangeError,
    );
  });

  it("refuses a random source that gives too few bytes", () => {
    assert.throws(() => generateEscn({ prefix: "001", pic: PIC, random: () => Buffer.alloc(1) }), TypeError);
  });
});

describe("generateEscns", () => {
  it("makes 10,000 distinct valid ESCNs in one call", () => {
    const escns = generateEscns(10_000, { prefix: "001", pic: PIC });
    assert.equal(escns.length, 10_000);
    assert.equal(new Set(escns).size, 10_000);
    for (const escn of escns) assert.equal(isEscn(escn), true);
  });

  it("does not give ESCNs of the same millisecond sequential clock sequences", () => {
    const now = new Date();
    const sequences = generateEscns(1000, { prefix: "001", pic: PIC, now }).map(clockSequence);
    let successors = 0;
    for (let i = 1; i < sequences.length; i++)
      if (sequences[i] === (sequences[i - 1]! + 1) % 0x4000) successors++;
    assert.ok(successors < 50, `${successors} of 1000 clock sequences follow their predecessor`);
    assert.ok(new Set(sequences).size > 900);
  });

  it("spreads ESCNs of one millisecond over its 100-ns intervals", () => {
    const escns = generateEscns(1000, { prefix: "001", pic: PIC, now: new Date() });
    assert.ok(new Set(escns.map((e) => e.slice(0, 8))).size > 900);
  });

  it("stays distinct when the random source repeats itself", () => {
    const zeros = (n: number) => Buffer.alloc(n);
    const escns = generateEscns(300, { prefix: "001", pic: PIC, random: zeros });
    assert.equal(new Set(escns).size, 300);
    for (const escn of escns) assert.equal(isEscn(escn), true);
  });

  it("redraws on a collision", () => {
    const same = [0x12, 0x34, 0, 0, 0, 7];
    const other = [0x00, 0x01, 0, 0, 0, 9];
    const now = new Date("2025-01-01T00:00:00.000Z");
    const [first, second] = generateEscns(2, {
      prefix: "001",
      pic: PIC,
      now,
      random: scripted(same, same, other),
    });
    assert.ok(first !== undefined && second !== undefined);
    assert.notEqual(first, second);
    assert.equal(clockSequence(first), 0x1234);
    assert.equal(clockSequence(second), 0x0001);
  });

  it("returns nothing for 0 and refuses a count that is not a natural number", () => {
    assert.deepEqual(generateEscns(0, { prefix: "001", pic: PIC }), []);
    assert.throws(() => generateEscns(-1, { prefix: "001", pic: PIC }), TypeError);
    assert.throws(() => generateEscns(1.5, { prefix: "001", pic: PIC }), TypeError);
  });

  it("returns branded ESCNs", () => {
    const escns: Escn[] = generateEscns(2, { prefix: "001", pic: PIC });
    assert.equal(escns.length, 2);
  });
});
