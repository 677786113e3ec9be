import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConsentPurpose } from "../../src/domain/consent.ts";
import {
  CONSENT_WORDINGS,
  currentWording,
  findWording,
  parseWordingVersion,
} from "../../src/domain/consent-wording.ts";
import { InvalidValueError } from "../../src/domain/errors.ts";
import { CONSENT_PURPOSES, PURPOSE_NAMES, PURPOSES } from "../../src/domain/purpose.ts";

function refused(run: () => unknown, code: string, field: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InvalidValueError);
    assert.equal(error.code, code);
    assert.equal(error.field, field);
    return true;
  });
}

describe("consent wordings", () => {
  it("exist for exactly the purposes whose lawful basis is consent", () => {
    assert.deepEqual(Object.keys(CONSENT_WORDINGS).sort(), [...CONSENT_PURPOSES].sort());
  });

  it("are versioned per purpose: unique ids, publication dates in order, the last one current", () => {
    for (const purpose of CONSENT_PURPOSES) {
      const versions = CONSENT_WORDINGS[purpose as keyof typeof CONSENT_WORDINGS];
      assert.ok(versions.length > 0, purpose);
      assert.equal(new Set(versions.map((w) => w.version)).size, versions.length, purpose);
      for (const [i, wording] of versions.entries()) {
        assert.match(wording.version, /^\d{4}-\d{2}(-[a-z0-9]+)?$/, purpose);
        assert.ok(wording.text.trim().length > 50, `${purpose} ${wording.version}: no text`);
        const previous = versions[i - 1];
        if (previous) assert.ok(previous.publishedAt <= wording.publishedAt, `${purpose}: out of order`);
      }
      const purposeName = parseConsentPurpose(purpose);
      assert.equal(currentWording(purposeName), versions.at(-1));
      for (const wording of versions) assert.equal(findWording(purposeName, wording.version), wording);
    }
  });

  it("a consent names a known version of its own purpose", () => {
    assert.equal(parseWordingVersion("status-sharing", "2026-11"), "2026-11");
    refused(
      () => parseWordingVersion("status-sharing", "2026-12", "/wordingVersion"),
      "CONSENT_WORDING_UNKNOWN",
      "/wordingVersion",
    );
    refused(() => parseWordingVersion("status-sharing", 202611), "CONSENT_WORDING_UNKNOWN", "wordingVersion");
  });
});

describe("consent purposes", () => {
  it("tell an unknown purpose from one whose basis is not consent", () => {
    for (const purpose of CONSENT_PURPOSES) assert.equal(parseConsentPurpose(purpose), purpose);
    refused(() => parseConsentPurpose("marketing"), "PURPOSE_UNKNOWN", "purpose");
    refused(() => parseConsentPurpose("toString"), "PURPOSE_UNKNOWN", "purpose");
    refused(() => parseConsentPurpose(undefined), "PURPOSE_UNKNOWN", "purpose");
    for (const purpose of PURPOSE_NAMES.filter((p) => PURPOSES[p].basis !== "consent")) {
      refused(() => parseConsentPurpose(purpose), "PURPOSE_NOT_CONSENT_BASED", "purpose");
    }
  });
});
