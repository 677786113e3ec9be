import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, it } from "node:test";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import { auditHash, type NewAuditEntry } from "../../src/domain/audit-entry.ts";
import { systemClock } from "../../src/ports/clock.ts";
import { AuditTrail } from "../../src/services/audit-trail.ts";

const run = promisify(execFile);
const folders: string[] = [];

after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** `openesc audit verify --data-dir <dir>`: its exit code and output, whatever the code. */
async function verify(dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["bin/openesc.js", "audit", "verify", "--data-dir", dataDir],
      { encoding: "utf8" },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A store with `n` audit entries, written as the hub writes them. */
async function storeWithEntries(n: number): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "openesc-verify-"));
  folders.push(dataDir);
  const storage = new SqliteStorage({ file: join(dataDir, "openesc.db") });
  await storage.init();
  const audit = new AuditTrail(storage, systemClock);
  audit.recordRead(
    null,
    "read",
    Array.from({ length: n }, (_, i) => ({
      type: "person" as const,
      subject: String(i + 1),
      personId: i + 1,
    })),
  );
  await audit.flush();
  await storage.close();
  return dataDir;
}

function tamper(dataDir: string, sql: string): void {
  const db = new Database(join(dataDir, "openesc.db"));
  try {
    assert.equal(db.prepare(sql).run().changes, 1);
  } finally {
    db.close();
  }
}

describe("openesc audit verify", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await storeWithEntries(25);
  });

  it("reports an intact trail with its count and range, and exits with 0", async () => {
    const { code, stdout } = await verify(dataDir);
    assert.equal(code, 0, stdout);
    assert.match(stdout, /^audit trail intact: 25 entries from #1 to #25 \(\d+ entries\/s\)\n$/);
  });

  it("names the entry whose content was changed, and exits with 1", async () => {
    tamper(dataDir, "UPDATE audit_log SET subject = '999' WHERE seq = 3");
    const { code, stdout } = await verify(dataDir);
    assert.equal(code, 1);
    assert.equal(stdout, "audit trail broken at entry #3: its content was changed\n");
  });

  it("names a removed entry, and exits with 1", async () => {
    tamper(dataDir, "DELETE FROM audit_log WHERE seq = 2");
    const { code, stdout } = await verify(dataDir);
    assert.equal(code, 1);
    assert.equal(stdout, "audit trail broken at entry #2: it is missing\n");
  });

  it("sees through a changed entry whose hash was recomputed: the next one no longer links", async () => {
    const db = new Database(join(dataDir, "openesc.db"));
    const row = db
      .prepare(
        `SELECT prev_hash AS prevHash, at, organisation_id AS organisationId, token_id AS tokenId, action,
           purpose, subject_type AS subjectType, person_id AS personId FROM audit_log WHERE seq = 7`,
      )
      .get() as NewAuditEntry & { prevHash: string };
    const { prevHash, ...entry } = row;
    const forged = auditHash(prevHash, 7, { ...entry, subject: "999" });
    db.prepare("UPDATE audit_log SET subject = '999', hash = ? WHERE seq = 7").run(forged);
    db.close();
    const { code, stdout } = await verify(dataDir);
    assert.equal(code, 1);
    assert.equal(stdout, "audit trail broken at entry #8: does not link to the entry before it\n");
  });

  it("refuses a folder without a store instead of creating an empty one, and exits with 2", async () => {
    const empty = mkdtempSync(join(tmpdir(), "openesc-verify-empty-"));
    folders.push(empty);
    const { code, stderr } = await verify(empty);
    assert.equal(code, 2);
    assert.match(stderr, /^openesc: configuration: OPENESC_DATA_DIR holds no store/);
  });
});
