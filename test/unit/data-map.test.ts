import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { loadConfig } from "../../src/config.ts";
import { CONSENT_WORDINGS } from "../../src/domain/consent-wording.ts";
import {
  DATA_CATEGORIES,
  DATA_KEYS,
  DATA_MAP,
  type DataField,
  mayDisclose,
  NON_DATA_COLUMNS,
  PURPOSE_AUDIENCE,
  RETENTION_SETTINGS,
} from "../../src/domain/data-map.ts";
import { ORGANISATION_KINDS } from "../../src/domain/organisation.ts";
import { CONSENT_PURPOSES, PURPOSE_NAMES, PURPOSES, type Purpose } from "../../src/domain/purpose.ts";
import { createStorage } from "../../src/hub.ts";

const entries = DATA_KEYS.map((key) => [key, DATA_MAP[key] as DataField] as const);

/** Every `table.column` of a database made by the hub's own start-up, read back from SQLite itself. */
async function columnsOfAFreshStore(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "openesc-data-map-"));
  try {
    const config = loadConfig({ OPENESC_DATA_DIR: dir, OPENESC_LOG_LEVEL: "silent" });
    const storage = createStorage(config);
    await storage.init();
    await storage.close();
    const db = new Database(join(dir, "openesc.db"), { readonly: true });
    try {
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .all() as { name: string }[];
      assert.ok(tables.length >= 10, `the store has only ${tables.length} tables: did it migrate?`);
      return tables.flatMap(({ name }) =>
        (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as { name: string }[]).map(
          (c) => `${name}.${c.name}`,
        ),
      );
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Columns of the migration bookkeeping, which the data map need not list: the store's own, not data. */
const STORE_BOOKKEEPING = new Set(["schema_migrations.version", "schema_migrations.applied_at"]);

describe("the data map", () => {
  let columns: string[];
  before(async () => {
    columns = await columnsOfAFreshStore();
  });

  it("lists every column of every table of the store, as a field or as a column that is no data", () => {
    const mapped = new Set(entries.flatMap(([, field]) => field.stored));
    const missing = columns.filter(
      (c) => !mapped.has(c) && !Object.hasOwn(NON_DATA_COLUMNS, c) && !STORE_BOOKKEEPING.has(c),
    );
    assert.deepEqual(missing, [], "columns the data map does not account for");
  });

  it("names only columns that exist, so that it cannot describe a store we no longer have", () => {
    const existing = new Set(columns);
    const named = [...entries.flatMap(([, field]) => field.stored), ...Object.keys(NON_DATA_COLUMNS)];
    assert.deepEqual(
      named.filter((c) => !existing.has(c)),
      [],
    );
    for (const c of Object.keys(NON_DATA_COLUMNS)) {
      assert.ok(!entries.some(([, f]) => f.stored.includes(c)), `${c} is both data and no data`);
    }
  });

  it("gives every field a description, a known category, at least one purpose and a retention", () => {
    for (const [key, field] of entries) {
      assert.match(key, /^[a-z][A-Za-z]*\.[a-z][A-Za-z]*$/, `${key}: keys are entity.field`);
      assert.ok(field.description.length > 0, key);
      assert.ok((DATA_CATEGORIES as readonly string[]).includes(field.category), `${key}: ${field.category}`);
      assert.ok(field.purposes.length > 0, `${key} serves no purpose: why is it held?`);
      assert.ok(field.retention.text.length > 0, key);
    }
  });

  it("names only purposes that exist, and shows a field only for purposes it serves, to known viewers", () => {
    const viewers = new Set<string>([...ORGANISATION_KINDS, "student", "anyone"]);
    for (const [key, field] of entries) {
      for (const purpose of field.purposes) assert.ok(Object.hasOwn(PURPOSES, purpose), `${key}: ${purpose}`);
      assert.equal(new Set(field.purposes).size, field.purposes.length, `${key}: a purpose listed twice`);
      for (const [purpose, who] of Object.entries(field.visibleTo)) {
        assert.ok(
          field.purposes.includes(purpose as Purpose),
          `${key} is shown for ${purpose}, not its purpose`,
        );
        assert.ok(who.length > 0, `${key}: ${purpose} shows it to nobody; leave the purpose out instead`);
        for (const viewer of who) assert.ok(viewers.has(viewer), `${key}: unknown viewer ${viewer}`);
      }
    }
    for (const purpose of PURPOSE_NAMES) assert.ok(PURPOSE_AUDIENCE[purpose].length > 0, purpose);
  });

  it("names, for every field held on consent, a consent purpose the student can be asked for", () => {
    let consentBased = 0;
    for (const [key, field] of entries) {
      for (const purpose of field.purposes.filter((p) => PURPOSES[p].basis === "consent")) {
        consentBased++;
        assert.ok(CONSENT_PURPOSES.includes(purpose), `${key}: ${purpose}`);
        // Consent is lawful only if the student was told what they agree to: a published wording.
        const wordings = CONSENT_WORDINGS[purpose as keyof typeof CONSENT_WORDINGS];
        assert.ok(wordings && wordings.length > 0, `${key}: no wording asks consent for ${purpose}`);
      }
    }
    assert.ok(consentBased > 0, "no field is held on consent: the test would prove nothing");
    assert.ok(DATA_MAP["card.displayName"].purposes.includes("display-name-publication"));
  });

  it("shows a personal field to anyone only on the student's consent", () => {
    for (const [key, field] of entries) {
      for (const [purpose, who] of Object.entries(field.visibleTo) as [Purpose, readonly string[]][]) {
        if (field.personal && who.includes("anyone")) {
          assert.equal(PURPOSES[purpose].basis, "consent", `${key} is shown to anyone for ${purpose}`);
        }
      }
    }
  });

  it("lets the public verification see no personal field, and the display name only with consent", () => {
    const publicFields = DATA_KEYS.filter((k) => mayDisclose(k, "public-verification"));
    assert.deepEqual(
      publicFields.filter((k) => DATA_MAP[k].personal),
      [],
    );
    assert.ok(publicFields.includes("card.escn") && publicFields.includes("card.publicStatus"));
    assert.equal(mayDisclose("card.displayName", "public-verification"), false);
    assert.equal(mayDisclose("card.displayName", "public-verification", ["display-name-publication"]), true);
    // Declaring a purpose that is not consent-based does not widen what a route may answer.
    assert.equal(mayDisclose("personLink.fullName", "public-verification", ["card-management"]), false);
  });

  it("names the setting of every configurable retention, with the default src/config.ts applies", () => {
    const config = loadConfig({ OPENESC_DATA_DIR: tmpdir() });
    const configured: Record<keyof typeof RETENTION_SETTINGS, number> = {
      OPENESC_RETENTION_DAYS: config.retentionDays,
      OPENESC_CONSENT_PROOF_DAYS: config.consentProofDays,
      OPENESC_AUDIT_RETENTION_DAYS: config.auditRetentionDays,
      OPENESC_DELIVERY_RETENTION_DAYS: config.deliveryRetentionDays,
    };
    for (const [name, setting] of Object.entries(RETENTION_SETTINGS)) {
      assert.equal(configured[name as keyof typeof configured], setting.defaultDays, name);
    }
    for (const [key, field] of entries) {
      const named = Object.keys(RETENTION_SETTINGS).filter((s) => field.retention.text.includes(`\`${s}\``));
      assert.deepEqual(named, field.retention.setting ? [field.retention.setting] : [], key);
    }
    // Each setting bounds something.
    for (const name of Object.keys(RETENTION_SETTINGS)) {
      assert.ok(
        entries.some(([, f]) => f.retention.setting === name),
        `${name} bounds no field`,
      );
    }
  });

  it("keeps a field that is computed when read out of the store", () => {
    for (const [key, field] of entries) {
      if (field.stored.length === 0) assert.match(field.retention.text, /^(not|never) stored/, key);
      else assert.doesNotMatch(field.retention.text, /^(not|never) stored/, key);
    }
  });
});
