import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import { generateEscn } from "../../src/domain/escn.ts";
import type { Pic } from "../../src/domain/pic.ts";
import { exited } from "../support/hub-process.ts";
import { addOrganisation, esiOf, newPic } from "./sync-stores.ts";

const ROWS = 20_000;

/** `openesc import` as a child process, with its output kept. */
function startImport(dataDir: string, file: string, pic: string) {
  const child = spawn(
    process.execPath,
    ["bin/openesc.js", "import", file, "--organisation", pic, "--batch-size", "100"],
    {
      env: { ...process.env, OPENESC_DATA_DIR: dataDir, OPENESC_LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

async function importToEnd(dataDir: string, file: string, pic: string): Promise<string> {
  const { child, output } = startImport(dataDir, file, pic);
  await exited(child);
  assert.equal(child.exitCode, 0, output());
  return output();
}

/** Everything the import wrote, by ESI: what must be the same whether or not a run was killed on the way. */
function stateOf(db: Database.Database, fileEscns: ReadonlySet<string>) {
  const rows = db
    .prepare(
      `SELECT p.esi, l.full_name, l.email, l.academic_level, s.state, s.valid_from, s.valid_until,
              c.escn, c.card_type, c.status, c.issued_at, c.expires_at
       FROM persons p
       LEFT JOIN person_links l ON l.person_id = p.id
       LEFT JOIN student_statuses s ON s.person_id = p.id
       LEFT JOIN cards c ON c.person_id = p.id
       ORDER BY p.esi`,
    )
    .all() as { escn: string }[];
  const events = db.prepare("SELECT type, count(*) AS n FROM outbox GROUP BY type ORDER BY type").all();
  const audit = db
    .prepare("SELECT subject_type, action, count(*) AS n FROM audit_log GROUP BY 1, 2 ORDER BY 1, 2")
    .all();
  // A generated card number differs from run to run; one the file gives must be kept.
  return {
    rows: rows.map((r) => ({ ...r, escn: fileEscns.has(r.escn) ? r.escn : "generated" })),
    events,
    audit,
  };
}

describe("an import killed with SIGKILL", () => {
  let dir: string;
  let file: string;
  let pic: Pic;
  const fileEscns = new Set<string>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "openesc-crash-"));
    pic = newPic();
    for (const name of ["crashed", "clean"]) {
      mkdirSync(join(dir, name));
      const storage = new SqliteStorage({ file: join(dir, name, "openesc.db") });
      await storage.init();
      await addOrganisation(storage, pic);
      await storage.close();
    }
    const lines: string[] = [];
    for (let i = 1; i <= ROWS; i++) {
      // Half the cards come with their number, half get one from the hub; every 1000th row is bad.
      const escn = i % 2 === 0 ? generateEscn({ prefix: "001", pic }) : undefined;
      if (escn) fileEscns.add(escn);
      lines.push(
        JSON.stringify({
          esi: esiOf(i),
          fullName: `Student ${i}`,
          email: i % 1000 === 0 ? "broken" : `s${i}@example.org`,
          statusState: "enrolled",
          validFrom: "2026-09-01",
          cardType: "SMART_PASSIVE",
          issuedAt: "2026-09-01",
          expiresAt: "2030-08-31",
          ...(escn ? { escn } : {}),
        }),
      );
    }
    file = join(dir, "students.jsonl");
    writeFileSync(file, `${lines.join("\n")}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("leaves a consistent store that a re-run completes, equal to a clean import, with nothing twice", async () => {
    const crashedDir = join(dir, "crashed");
    const db = new Database(join(crashedDir, "openesc.db"), { readonly: true });
    try {
      const { child, output } = startImport(crashedDir, file, pic);
      const progress = db.prepare("SELECT id, state, rows_read FROM connector_runs ORDER BY id DESC LIMIT 1");
      const deadline = Date.now() + 60_000;
      for (;;) {
        const run = progress.get() as { state: string; rows_read: number } | undefined;
        if (run && run.rows_read >= 2000) break;
        assert.ok(child.exitCode === null, `the import ended before it could be killed:\n${output()}`);
        assert.ok(Date.now() < deadline, `no progress within a minute:\n${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      child.kill("SIGKILL");
      await exited(child);
      assert.equal(child.signalCode, "SIGKILL");

      const run = progress.get() as { state: string; rows_read: number };
      assert.equal(run.state, "running", "a killed run shows as running");
      assert.ok(run.rows_read < ROWS, "killed mid-run");
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      const persons = count("SELECT count(*) AS n FROM persons");
      assert.ok(persons > 0 && persons < ROWS - ROWS / 1000, `${persons} persons: part of the file`);
      // Every batch is whole: each person with its link, status and one card, each change with its event.
      assert.equal(count("SELECT count(*) AS n FROM person_links"), persons);
      assert.equal(count("SELECT count(*) AS n FROM student_statuses"), persons);
      assert.equal(count("SELECT count(*) AS n FROM cards"), persons);
      assert.equal(count("SELECT count(DISTINCT person_id) AS n FROM cards"), persons, "no second card");
      assert.equal(count("SELECT count(*) AS n FROM outbox"), 3 * persons);
      assert.equal(
        count("SELECT count(DISTINCT type || subject) AS n FROM outbox"),
        3 * persons,
        "no event twice",
      );
      assert.equal(count("SELECT count(*) AS n FROM connector_presence"), persons);

      const rerun = await importToEnd(crashedDir, file, pic);
      assert.match(
        rerun,
        new RegExp(
          `: completed, ${ROWS} rows: ${ROWS - ROWS / 1000 - persons} created, 0 updated, ${persons} unchanged`,
        ),
      );
      const runs = db.prepare("SELECT state FROM connector_runs ORDER BY id").all();
      assert.deepEqual(runs, [{ state: "running" }, { state: "completed" }]);

      await importToEnd(join(dir, "clean"), file, pic);
      const clean = new Database(join(dir, "clean", "openesc.db"), { readonly: true });
      try {
        const crashed = stateOf(db, fileEscns);
        assert.equal(crashed.rows.length, ROWS - ROWS / 1000);
        assert.deepEqual(crashed, stateOf(clean, fileEscns));
      } finally {
        clean.close();
      }
    } finally {
      db.close();
    }
  });
});
