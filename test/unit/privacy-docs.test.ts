import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config.ts";
import { currentWording } from "../../src/domain/consent-wording.ts";
import {
  DATA_KEYS,
  DATA_MAP,
  type DataField,
  LAWFUL_BASIS_ARTICLES,
  PURPOSE_AUDIENCE,
  RETENTION_SETTINGS,
} from "../../src/domain/data-map.ts";
import { PURPOSE_NAMES, PURPOSES, type Purpose } from "../../src/domain/purpose.ts";
import { disclosuresOf } from "../../src/http/plugins/data-map-enforcement.ts";
import { startTestHub } from "../support/test-hub.ts";

/**
 * docs/privacy.md is written by hand for a data-protection officer; this test holds it to the data map, the
 * purposes and the configuration, so that it cannot say one thing while the hub does another.
 */
const ROOT = path.resolve(import.meta.dirname, "../..");
const PRIVACY = readFileSync(path.join(ROOT, "docs/privacy.md"), "utf8");
const DPIA = readFileSync(path.join(ROOT, "docs/dpia.md"), "utf8");

/** The text of a `## ` section, up to the next `## ` heading. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `docs/privacy.md has no section "${title}"`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The body rows of every table in `text`, as trimmed cells (the header and rule rows left out). */
function rows(text: string): string[][] {
  const lines = text.split("\n");
  const found: string[][] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith("|")) return;
    const next = lines[i + 1] ?? "";
    if (/^\|[\s|-]+\|$/.test(line) || /^\|[\s|-]+\|$/.test(next)) return; // the rule, or the header above it
    found.push(
      line
        .slice(1, -1)
        .split(" | ")
        .map((cell) => cell.trim()),
    );
  });
  return found;
}

const code = (cell: string) => /^`([^`]+)`$/.exec(cell)?.[1];
const codes = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? "");
const basisLabel = (purpose: Purpose) => PURPOSES[purpose].basis.replace("-", " ");

describe("docs/privacy.md", () => {
  it('"What we store" lists exactly the data map: fields, purposes, lawful bases and retention', () => {
    const table = rows(section(PRIVACY, "What we store")).filter((r) => r.length === 6);
    assert.deepEqual(
      table.map((r) => code(r[0] ?? "")),
      DATA_KEYS,
      "the fields, in the data map's order",
    );
    for (const [field, description, category, personal, purposes, kept] of table) {
      const key = code(field ?? "") as keyof typeof DATA_MAP;
      const entry = DATA_MAP[key] as DataField;
      assert.equal(description, entry.description, `${key}: what it is`);
      assert.equal(category, entry.category, `${key}: category`);
      assert.equal(personal, entry.personal ? "yes" : "no", `${key}: personal`);
      assert.equal(
        purposes,
        entry.purposes.map((p) => `\`${p}\` (${basisLabel(p)})`).join(", "),
        `${key}: purposes and lawful bases`,
      );
      assert.equal(kept, entry.retention.text, `${key}: retention`);
    }
  });

  it('"Purposes and lawful bases" lists every purpose with its basis, article, description and audience', () => {
    const table = rows(section(PRIVACY, "Purposes and lawful bases"));
    assert.deepEqual(
      table.map((r) => code(r[0] ?? "")),
      PURPOSE_NAMES,
    );
    for (const [purpose, basis, article, description, audience] of table) {
      const p = code(purpose ?? "") as Purpose;
      assert.equal(basis, basisLabel(p), p);
      assert.equal(article, `art. ${LAWFUL_BASIS_ARTICLES[PURPOSES[p].basis]}`, p);
      assert.equal(description, PURPOSES[p].description, p);
      assert.equal(audience, PURPOSE_AUDIENCE[p].join(", "), p);
    }
  });

  it('"Who sees what" says, per purpose, exactly who may see which fields, and which are never shown', () => {
    const text = section(PRIVACY, "Who sees what");
    const expected: string[][] = [];
    for (const purpose of PURPOSE_NAMES) {
      const byViewers = new Map<string, string[]>();
      for (const key of DATA_KEYS) {
        const viewers = (DATA_MAP[key] as DataField).visibleTo[purpose];
        if (viewers) byViewers.set(viewers.join(", "), [...(byViewers.get(viewers.join(", ")) ?? []), key]);
      }
      for (const [viewers, keys] of byViewers) expected.push([purpose, viewers, keys.join(",")]);
    }
    assert.deepEqual(
      rows(text).map(([purpose, who, fields]) => [code(purpose ?? ""), who, codes(fields ?? "").join(",")]),
      expected,
    );
    const never = /^- \*\*Never shown\*\* by any route, to anyone: (.*)\.$/m.exec(text)?.[1];
    assert.ok(never, 'the "Never shown" line is missing');
    assert.deepEqual(
      codes(never),
      DATA_KEYS.filter((k) => Object.keys((DATA_MAP[k] as DataField).visibleTo).length === 0),
    );
  });

  it('"Retention periods" gives each setting with the default the hub applies', () => {
    const config = loadConfig({ OPENESC_DATA_DIR: ROOT });
    const applied: Record<string, number> = {
      OPENESC_RETENTION_DAYS: config.retentionDays,
      OPENESC_CONSENT_PROOF_DAYS: config.consentProofDays,
      OPENESC_AUDIT_RETENTION_DAYS: config.auditRetentionDays,
      OPENESC_DELIVERY_RETENTION_DAYS: config.deliveryRetentionDays,
    };
    const table = rows(section(PRIVACY, "Retention periods"));
    assert.deepEqual(
      table.map((r) => code(r[0] ?? "")),
      Object.keys(RETENTION_SETTINGS),
    );
    for (const [name, days, meaning] of table) {
      const setting = RETENTION_SETTINGS[code(name ?? "") as keyof typeof RETENTION_SETTINGS];
      assert.equal(days, `${applied[code(name ?? "") ?? ""]} days`, name);
      assert.equal(days, `${setting.defaultDays} days`, name);
      assert.equal(meaning, setting.meaning, name);
    }
  });

  it("names as not in use yet exactly the purposes no route of the hub declares", async () => {
    const hub = await startTestHub();
    try {
      const used = new Set(disclosuresOf(hub.app).flatMap((r) => [r.purpose, ...r.consentPurposes]));
      const bullet = /^- \*\*Not in use yet:\*\* (.*)$/m.exec(section(PRIVACY, "Purposes and lawful bases"));
      assert.ok(bullet?.[1], 'the "Not in use yet" line is missing');
      const named = codes(bullet[1]).filter((c) => (PURPOSE_NAMES as string[]).includes(c));
      assert.deepEqual(named.sort(), PURPOSE_NAMES.filter((p) => !used.has(p)).sort());
    } finally {
      await hub.close();
    }
  });

  it("links only to headings that exist, and names only test files that exist", () => {
    for (const [name, markdown] of [
      ["docs/privacy.md", PRIVACY],
      ["docs/dpia.md", DPIA],
    ] as const) {
      const anchors = new Set(
        [...markdown.matchAll(/^#+ (.+)$/gm)].map((m) =>
          (m[1] ?? "")
            .toLowerCase()
            .replace(/[^\w\s-]/g, "")
            .replace(/\s/g, "-"),
        ),
      );
      for (const [, anchor] of markdown.matchAll(/\]\(#([^)]+)\)/g)) {
        assert.ok(anchors.has(anchor ?? ""), `${name} links to #${anchor}, which is no heading there`);
      }
      const tests = [...markdown.matchAll(/`(test\/[\w/.-]+\.test\.ts)`/g)].map((m) => m[1] ?? "");
      assert.ok(tests.length > 0, `${name} names no test`);
      for (const file of tests) assert.ok(existsSync(path.join(ROOT, file)), `${name} names ${file}`);
    }
  });
});

describe("docs/dpia.md", () => {
  it("names, for every measure, the test that proves it", () => {
    const measures = rows(section(DPIA, "Risks and measures"));
    assert.ok(measures.length >= 5, "the DPIA weighs too few risks");
    for (const [risk, , measure, proof] of measures) {
      assert.ok(measure && measure.length > 0, `${risk}: no measure`);
      assert.match(proof ?? "", /`test\/[\w/.-]+\.test\.ts`/, `${risk}: no test proves the measure`);
    }
    for (const risk of ["enumeration", "re-identification", "over-collection", "cross-border", "breach"]) {
      assert.ok(
        measures.some(([name]) => name?.toLowerCase().includes(risk)),
        `the DPIA does not weigh ${risk}`,
      );
    }
  });

  it("says of the consent wordings what they say: anyone may see the name, service providers abroad the status", () => {
    assert.match(currentWording("display-name-publication").text, /shown to anyone/);
    assert.match(currentWording("status-sharing").text, /service providers in other countries/);
  });
});
