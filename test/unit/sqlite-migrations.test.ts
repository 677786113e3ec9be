import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { SqliteConnection } from "../../src/adapters/storage/sqlite/sqlite-connection.ts";
import { SQLITE_MIGRATIONS } from "../../src/adapters/storage/sqlite/sqlite-migrations.ts";
import { migrate, SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import type { Escn } from "../../src/domain/escn.ts";

const root = mkdtempSync(join(tmpdir(), "openesc-migrations-"));
after(() => rmSync(root, { recursive: true, force: true }));

let files = 0;
const newFile = () => join(root, `db-${++files}.sqlite`);

const PIC = "999888777";
const ESI = "urn:schac:personalUniqueCode:int:esi:fr:1234567890A";
const ESCN = "3e506370-826a-103d-bf76-001999888777" as Escn;
const AT = "2026-10-15T10:00:00.000Z";

function open(file: string): SqliteConnection {
  const db = new Database(file);
  db.pragma("foreign_keys = ON");
  return new SqliteConnection(db);
}

function versions(db: SqliteConnection): number[] {
  return db
    .all<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version")
    .map((r) => r.version);
}

/**
 * Rows written with the columns of the first schema only, as a hub of the first version would have
 * written them. Later migrations may add columns and tables but must keep these rows readable.
 */
function insertFirstVersionRows(db: SqliteConnection): void {
  db.run(
    `INSERT INTO organisations (id, kind, name, country, show_display_name, created_at, updated_at, version)
     VALUES (?, 'institution', 'Université de Saint-Valentin', 'FR', 1, ?, ?, 3)`,
    PIC,
    AT,
    AT,
  );
  db.run(
    "INSERT INTO persons (esi, esi_key, created_at, updated_at) VALUES (?, ?, ?, ?)",
    ESI,
    ESI.toLowerCase(),
    AT,
    AT,
  );
  const personId = db.get<{ id: number }>("SELECT id FROM persons")?.id;
  db.run(
    `INSERT INTO person_links (person_id, organisation_id, full_name, academic_level, created_at, updated_at)
     VALUES (?, ?, 'Jeanne Exemple', 'MASTER', ?, ?)`,
    personId,
    PIC,
    AT,
    AT,
  );
  db.run(
    `INSERT INTO student_statuses (person_id, organisation_id, state, valid_from, valid_until, created_at, updated_at, version)
     VALUES (?, ?, 'enrolled', '2026-09-01', '2027-08-31', ?, ?, 1)`,
    personId,
    PIC,
    AT,
    AT,
  );
  db.run(
    `INSERT INTO cards (escn, person_id, issuer_id, card_type, status, inactive_reason, issued_at, expires_at,
       display_name, created_at, updated_at, version)
     VALUES (?, ?, ?, 'SMART_PASSIVE', 'INACTIVE', 'lost', '2026-09-01', '2030-08-31', 'Jeanne E.', ?, ?, 2)`,
    ESCN,
    personId,
    PIC,
    AT,
    AT,
  );
  db.run(
    `INSERT INTO outbox (id, type, subject, audience, data, occurred_at)
     VALUES ('00000000-0000-4000-8000-000000000001', 'card.created', ?, ?, ?, ?)`,
    ESCN,
    JSON.stringify([PIC]),
    JSON.stringify({ escn: ESCN }),
    AT,
  );
}

/** Reads the rows back through the storage port, as the upgraded hub would. */
async function assertFirstVersionRowsReadable(storage: SqliteStorage): Promise<void> {
  const org = await storage.read.organisations.findById(PIC);
  assert.equal(org?.name, "Université de Saint-Valentin");
  assert.equal(org?.showDisplayName, true);
  assert.equal(org?.version, 3);
  const person = await storage.read.persons.findByKey(ESI.toLowerCase());
  assert.equal(person?.esi, ESI);
  assert.ok(person);
  assert.equal((await storage.read.persons.findLink(person.id, PIC))?.fullName, "Jeanne Exemple");
  const status = await storage.read.statuses.find(person.id, PIC);
  assert.equal(status?.state, "enrolled");
  assert.equal(status?.validUntil, "2027-08-31");
  const card = await storage.read.cards.findByEscn(ESCN);
  assert.equal(card?.status, "INACTIVE");
  assert.equal(card?.inactiveReason, "lost");
  assert.equal(card?.esi, ESI);
  assert.equal(card?.version, 2);
  const pub = await storage.read.cards.findPublic(ESCN);
  assert.equal(pub?.issuerName, "Université de Saint-Valentin");
  const events = await storage.read.outbox.readAfter(0, 10);
  assert.deepEqual(
    events.map((e) => [e.type, e.subject]),
    [["card.created", ESCN]],
  );
}

describe("SQLite migrations", () => {
  it("there is at least one, and each is a non-empty script", () => {
    assert.ok(SQLITE_MIGRATIONS.length >= 1);
    for (const sql of SQLITE_MIGRATIONS) assert.ok(sql.trim().length > 0);
  });

  it("a fresh database ends at the latest version with one record per migration", () => {
    const db = open(newFile());
    try {
      assert.equal(migrate(db), SQLITE_MIGRATIONS.length);
      assert.deepEqual(
        versions(db),
        SQLITE_MIGRATIONS.map((_, i) => i + 1),
      );
      for (const row of db.all<{ applied_at: string }>("SELECT applied_at FROM schema_migrations")) {
        assert.ok(!Number.isNaN(Date.parse(row.applied_at)), `applied_at ${row.applied_at} is a timestamp`);
      }
    } finally {
      db.raw.close();
    }
  });

  it("applying twice is a no-op", () => {
    const db = open(newFile());
    try {
      migrate(db);
      const schema = () =>
        db.all<{ sql: string | null }>("SELECT sql FROM sqlite_master ORDER BY type, name").map((r) => r.sql);
      const before = { schema: schema(), versions: versions(db) };
      assert.equal(migrate(db), 0);
      assert.deepEqual({ schema: schema(), versions: versions(db) }, before);
    } finally {
      db.raw.close();
    }
  });

  it("an older database is never downgraded by a shorter list", () => {
    const db = open(newFile());
    try {
      migrate(db);
      assert.equal(migrate(db, SQLITE_MIGRATIONS.slice(0, 1)), 0);
      assert.equal(versions(db).length, SQLITE_MIGRATIONS.length);
    } finally {
      db.raw.close();
    }
  });

  // Every prefix of the list stands for a database made by an older hub; today there is only one.
  for (let applied = 1; applied <= SQLITE_MIGRATIONS.length; applied++) {
    it(`a database made with the first ${applied} migration(s) keeps its rows when the hub opens it`, async () => {
      const file = newFile();
      const db = open(file);
      try {
        assert.equal(migrate(db, SQLITE_MIGRATIONS.slice(0, applied)), applied);
        assert.deepEqual(
          versions(db),
          Array.from({ length: applied }, (_, i) => i + 1),
        );
        // rows use the first version's columns; later migrations must keep them
        insertFirstVersionRows(db);
      } finally {
        db.raw.close();
      }

      const storage = new SqliteStorage({ file });
      await storage.init();
      try {
        await assertFirstVersionRowsReadable(storage);
      } finally {
        await storage.close();
      }

      const check = open(file);
      try {
        assert.deepEqual(
          versions(check),
          SQLITE_MIGRATIONS.map((_, i) => i + 1),
        );
        assert.equal(migrate(check), 0, "nothing left to apply");
      } finally {
        check.raw.close();
      }
    });
  }

  it("a failing migration leaves the database at the previous version, without its half-done changes", () => {
    const db = open(newFile());
    try {
      const broken = [
        ...SQLITE_MIGRATIONS,
        "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);",
      ];
      assert.throws(() => migrate(db, broken), /no_such_table/);
      assert.deepEqual(
        versions(db),
        SQLITE_MIGRATIONS.map((_, i) => i + 1),
      );
      assert.equal(
        db.get<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half_done'")?.n,
        0,
      );
    } finally {
      db.raw.close();
    }
  });
});
