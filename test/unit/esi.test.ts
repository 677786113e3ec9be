import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, InvalidValueError } from "../../src/domain/errors.ts";
import { ESI_PREFIX, esiKey, parseEsi } from "../../src/domain/esi.ts";

function assertInvalid(fn: () => unknown, code: ErrorCode, field: string, reason: RegExp): InvalidValueError {
  let caught: InvalidValueError | undefined;
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidValueError, `expected InvalidValueError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.field, field);
    assert.equal(error.issues[0]?.field, field);
    assert.match(error.issues[0]?.reason ?? "", reason);
    assert.ok(error.message.startsWith(`${field}: `), error.message);
    caught = error;
    return true;
  });
  return caught!;
}

const invalid = (value: unknown, reason: RegExp) =>
  assertInvalid(() => parseEsi(value), "ESI_INVALID", "identifier", reason);

describe("parseEsi: published examples", () => {
  it("reads the ESC Router's example as national", () => {
    const esi = parseEsi("urn:schac:personalUniqueCode:int:esi:HR:xxxxxxxxxx");
    assert.deepEqual(esi, {
      value: "urn:schac:personalUniqueCode:int:esi:HR:xxxxxxxxxx",
      key: "urn:schac:personaluniquecode:int:esi:hr:xxxxxxxxxx",
      form: "national",
      scope: "HR",
      code: "xxxxxxxxxx",
    });
  });

  it("reads the GÉANT national examples", () => {
    const es = parseEsi("urn:schac:personalUniqueCode:int:esi:es:12345678X");
    assert.equal(es.form, "national");
    assert.equal(es.scope, "ES");
    assert.equal(es.code, "12345678X");
    const fr = parseEsi("urn:schac:personalUniqueCode:int:esi:fr:1234567890A");
    assert.equal(fr.form, "national");
    assert.equal(fr.scope, "FR");
    assert.equal(fr.code, "1234567890A");
  });

  it("reads the GÉANT institutional example", () => {
    const esi = parseEsi("urn:schac:personalUniqueCode:int:esi:ladok.se:abc123");
    assert.equal(esi.form, "institutional");
    assert.equal(esi.scope, "ladok.se");
    assert.equal(esi.code, "abc123");
  });

  it("reads a home organisation with an org-unit prefix", () => {
    const esi = parseEsi("urn:schac:personalUniqueCode:int:esi:fi.UW.edu.pl:S-12345");
    assert.equal(esi.form, "institutional");
    assert.equal(esi.scope, "fi.uw.edu.pl");
    assert.equal(esi.code, "S-12345");
  });

  it("reads an ISO 3166-2 subdivision scope as national", () => {
    const esi = parseEsi("urn:schac:personalUniqueCode:int:esi:be-bru:000123");
    assert.equal(esi.form, "national");
    assert.equal(esi.scope, "BE-BRU");
    assert.equal(esi.code, "000123");
  });

  it("accepts every RFC 2141 character and %XX escapes in the code", () => {
    const code = "aZ09()+,-.:=@;$_!*'%2F%c3%A9";
    assert.equal(parseEsi(`${ESI_PREFIX}es:${code}`).code, code);
  });

  it("keeps the value as given", () => {
    const value = "URN:SCHAC:personalUniqueCode:INT:ESI:Es:12345678x";
    assert.equal(parseEsi(value).value, value);
  });
});

describe("parseEsi: matching key", () => {
  it("matches case-insensitively, prefix, scope and code alike", () => {
    const upper = parseEsi("URN:SCHAC:PERSONALUNIQUECODE:INT:ESI:ES:12345678X");
    const lower = parseEsi("urn:schac:personaluniquecode:int:esi:es:12345678x");
    assert.equal(upper.key, lower.key);
    assert.equal(upper.key, "urn:schac:personaluniquecode:int:esi:es:12345678x");
    assert.notEqual(upper.value, lower.value);
  });

  it("folds %XX escapes", () => {
    assert.equal(parseEsi(`${ESI_PREFIX}ladok.se:a%2Fb`).key, parseEsi(`${ESI_PREFIX}LADOK.SE:A%2fB`).key);
  });

  it("is what esiKey gives", () => {
    assert.equal(esiKey(`${ESI_PREFIX}ES:12345678X`), parseEsi(`${ESI_PREFIX}es:12345678x`).key);
    assert.throws(() => esiKey("not an esi"), InvalidValueError);
  });
});

describe("parseEsi: legacy form CN-PIC-STUDENTCODE", () => {
  it("reads it, splits on the first two hyphens and keeps it verbatim", () => {
    const esi = parseEsi("HR-999859608-Ab-12-x");
    assert.deepEqual(esi, {
      value: "HR-999859608-Ab-12-x",
      key: "hr-999859608-ab-12-x",
      form: "legacy",
      scope: "HR-999859608",
      code: "Ab-12-x",
    });
  });

  it("matches it case-insensitively and never converts it to the URN form", () => {
    const upper = parseEsi("FR-123456789-ABC123");
    const lower = parseEsi("fr-123456789-abc123");
    assert.equal(upper.key, lower.key);
    assert.equal(lower.scope, "FR-123456789");
    assert.ok(!upper.key.startsWith("urn:"));
    assert.notEqual(upper.key, parseEsi(`${ESI_PREFIX}fr:abc123`).key);
  });

  it("refuses a PIC of 8 digits", () => {
    invalid("HR-12345678-abc", /legacy form CN-PIC-STUDENTCODE: the PIC must be 9 decimal digits/);
  });

  it("refuses a missing student code", () => {
    invalid("HR-123456789-", /legacy form.*student code is missing/);
    invalid("HR-123456789", /legacy form.*separated by '-'/);
  });

  it("refuses an unknown country", () => {
    invalid("XX-123456789-abc", /legacy form.*country XX is not an assigned ISO 3166-1/);
  });

  it("refuses characters outside RFC 2141 in the code", () => {
    invalid("HR-123456789-a/b", /legacy form.*character '\/' at position 15/);
  });
});

describe("parseEsi: near misses", () => {
  it("refuses a space", () => {
    const error = invalid(
      "urn:schac:personalUniqueCode:int:esi:es:1234 5678X",
      /must not contain whitespace/,
    );
    assert.ok(!error.message.includes("1234"), "the reason must not echo the identifier");
  });

  it("refuses '/', '?', '#' and other characters in the code, naming the character and position", () => {
    invalid(
      `${ESI_PREFIX}es:123/456`,
      /character '\/' at position 44 is not allowed in the code; allowed are/,
    );
    invalid(`${ESI_PREFIX}es:123?456`, /character '\?'/);
    invalid(`${ESI_PREFIX}es:123#456`, /character '#'/);
    invalid(`${ESI_PREFIX}es:123"456`, /character '"'/);
    invalid(`${ESI_PREFIX}es:123é456`, /character U\+00E9/);
  });

  it("refuses broken and NUL escapes", () => {
    invalid(`${ESI_PREFIX}es:12%4`, /'%' at position 43 must begin a %XX escape/);
    invalid(`${ESI_PREFIX}es:12%zz`, /%XX escape/);
    invalid(`${ESI_PREFIX}es:12%00`, /%00 .*not allowed/);
  });

  it("accepts 255 characters and refuses 256", () => {
    const pad = (length: number) => `${ESI_PREFIX}es:${"a".repeat(length - ESI_PREFIX.length - 3)}`;
    assert.equal(parseEsi(pad(255)).value.length, 255);
    invalid(pad(256), /must be at most 255 characters, got 256/);
  });

  it("refuses a wrong prefix", () => {
    invalid(
      "urn:schac:personalUniqueCode:int:xyz:es:12345678X",
      /must start with urn:schac:personalUniqueCode:int:esi:/,
    );
    invalid("urn:mace:terena.org:schac:personalUniqueCode:es:1", /must start with/);
  });

  it("refuses a missing code, scope or separator", () => {
    invalid(`${ESI_PREFIX}es:`, /code after the scope is missing/);
    invalid(`${ESI_PREFIX}:12345`, /scope .* is missing/);
    invalid(`${ESI_PREFIX}es`, /':' between scope and code is missing/);
    invalid(ESI_PREFIX, /':' between scope and code is missing/);
  });

  it("refuses a scope that is neither a country, a subdivision nor a domain", () => {
    invalid(`${ESI_PREFIX}xx:1`, /scope: XX is not an assigned ISO 3166-1 alpha-2 code/);
    invalid(`${ESI_PREFIX}uk:1`, /scope: UK .* use GB/);
    invalid(`${ESI_PREFIX}el:1`, /scope: EL .* use GR/);
    invalid(`${ESI_PREFIX}xx-bru:1`, /scope: the country part of the subdivision code/);
    invalid(`${ESI_PREFIX}ladok:1`, /scope must be an ISO 3166 country or subdivision code/);
    invalid(`${ESI_PREFIX}esp:1`, /scope must be/);
    invalid(`${ESI_PREFIX}lad_ok.se:1`, /scope must be/);
    invalid(
      `${ESI_PREFIX}-ladok.se:1`,
      /scope: home organisation domain: label '-ladok' must not start or end with a hyphen/,
    );
    invalid(
      `${ESI_PREFIX}10.0.0.1:1`,
      /scope: home organisation domain: the last label must not be all digits/,
    );
  });

  it("refuses what is neither form", () => {
    invalid(
      "12345678X",
      /must be urn:schac:personalUniqueCode:int:esi:.* or the legacy form CN-PIC-STUDENTCODE/,
    );
    invalid("", /must not be empty/);
  });

  it("refuses non-strings", () => {
    invalid(12345, /must be a string, got number/);
    invalid(null, /got null/);
    invalid(["urn"], /got an array/);
  });

  it("reports the field it is given", () => {
    assertInvalid(
      () => parseEsi("nope", "personIdentifier"),
      "ESI_INVALID",
      "personIdentifier",
      /must be urn/,
    );
  });
});
