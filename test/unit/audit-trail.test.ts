import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import Database from "better-sqlite3";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import { firstBrokenLink, GENESIS_HASH } from "../../src/domain/audit-entry.ts";
import type { Organisation } from "../../src/domain/organisation.ts";
import type { NewOrganisation, Repositories } from "../../src/ports/storage.ts";
import { type AuditSubject, AuditTrail } from "../../src/services/audit-trail.ts";
import { verifyAuditTrail } from "../../src/services/audit-verifier.ts";
import type { Principal } from "../../src/services/principal.ts";
import { fixedClock } from "../support/test-hub.ts";

const AT = "2026-10-15T10:00:00.000Z";
const folders: string[] = [];

after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** The real SQLite store, counting the transactions it is asked to run. */
class CountingStorage extends SqliteStorage {
  transactions = 0;

  override transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    this.transactions++;
    return super.transaction(work);
  }
}

function organisation(id: string): NewOrganisation {
  return {
    id,
    kind: "institution",
    name: `University ${id}`,
    country: null,
    schacHomeOrganisation: null,
    erasmusCode: null,
    website: null,
    colours: { main: null, secondary: null, contrast: null, qr: null },
    showDisplayName: false,
    serves: [],
    processors: [],
    createdAt: AT,
    updatedAt: AT,
  };
}

function principalOf(org: Organisation): Principal {
  return {
    tokenId: "6f1c7a57-2a64-4c43-9b47-1f0a0c7d2e11",
    organisation: org,
    scopes: new Set(["persons:read", "persons:write"]),
    actingFor: [org.id],
    purpose: "card-management",
  };
}

const personSubject = (id: number): AuditSubject => ({ type: "person", subject: String(id), personId: id });
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the audit trail", () => {
  let file: string;
  let storage: CountingStorage;
  let principal: Principal;
  const clock = fixedClock(AT);

  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), "openesc-audit-"));
    folders.push(dir);
    file = join(dir, "openesc.db");
    storage = new CountingStorage({ file });
    await storage.init();
    const org = await storage.transaction((tx) => tx.organisations.insert(organisation("999888777")));
    principal = principalOf(org);
    storage.transactions = 0;
  });
  afterEach(() => storage.close());

  it("group-commits reads: a thousand reads take a few transactions, and none is lost after flush", async () => {
    const audit = new AuditTrail(storage, clock, { flushAfterMs: 1000, flushAtEntries: 400 });
    for (let i = 1; i <= 1000; i++) audit.recordRead(principal, "read", [personSubject(i)]);
    await audit.flush();
    // 400 + 400 at the threshold, the last 200 on flush.
    assert.equal(storage.transactions, 3);
    assert.equal(await storage.read.audit.count(), 1000);
    const entries = await storage.read.audit.readAfter(0, 2000);
    assert.deepEqual(
      entries.map((e) => e.subject),
      Array.from({ length: 1000 }, (_, i) => String(i + 1)),
    );
    const first = entries[0];
    assert.equal(first?.organisationId, "999888777");
    assert.equal(first?.tokenId, principal.tokenId);
    assert.equal(first?.purpose, "card-management");
    assert.equal(first?.action, "read");
    assert.equal(firstBrokenLink(entries, { seq: 0, hash: GENESIS_HASH }), undefined);
  });

  it("writes a batch of reads on its own within flushAfterMs", async () => {
    const audit = new AuditTrail(storage, clock, { flushAfterMs: 5 });
    for (let i = 1; i <= 50; i++) audit.recordRead(principal, "read", [personSubject(i)]);
    assert.equal(await storage.read.audit.count(), 0, "nothing is written on the request's path");
    for (let i = 0; i < 100 && (await storage.read.audit.count()) < 50; i++) await wait(5);
    assert.equal(await storage.read.audit.count(), 50);
    assert.equal(storage.transactions, 1);
  });

  it("records an anonymous read with the purpose it names", async () => {
    const audit = new AuditTrail(storage, clock);
    const escn = "3e506370-826a-11ef-bf76-001999888777";
    audit.recordRead(
      null,
      "read",
      [{ type: "card", subject: escn, personId: 7 }],
      "display-name-publication",
    );
    await audit.flush();
    const [entry] = await storage.read.audit.readAfter(0, 10);
    assert.deepEqual(
      entry && [entry.organisationId, entry.tokenId, entry.purpose, entry.subjectType, entry.subject],
      [null, null, "display-name-publication", "card", escn],
    );
  });

  it("commits a write's entries with the change, and rolls them back with it", async () => {
    const audit = new AuditTrail(storage, clock);
    await assert.rejects(
      storage.transaction(async (tx) => {
        await tx.organisations.insert(organisation("111222333"));
        await audit.recordIn(tx, principal, "update", [personSubject(1)]);
        throw new Error("the change fails after its entry was appended");
      }),
      /the change fails/,
    );
    assert.equal(await storage.read.organisations.findById("111222333"), undefined);
    assert.equal(await storage.read.audit.count(), 0);

    await storage.transaction(async (tx) => {
      await tx.organisations.insert(organisation("111222333"));
      await audit.recordIn(tx, principal, "update", [personSubject(1), personSubject(2)]);
    });
    assert.ok(await storage.read.organisations.findById("111222333"));
    const entries = await storage.read.audit.readAfter(0, 10);
    assert.deepEqual(
      entries.map((e) => [e.seq, e.action, e.subject]),
      [
        [1, "update", "1"],
        [2, "update", "2"],
      ],
    );
  });

  it("keeps the chain through reads and writes mixed, checked across batch boundaries", async () => {
    const audit = new AuditTrail(storage, clock, { flushAfterMs: 1 });
    for (let i = 1; i <= 40; i++) {
      if (i % 5 === 0) {
        await storage.transaction((tx) => audit.recordIn(tx, principal, "update", [personSubject(i)]));
      } else {
        audit.recordRead(principal, "read", [personSubject(i)]);
      }
    }
    await audit.flush();
    for (const batchSize of [1, 3, 7, 40, 1000]) {
      assert.deepEqual(await verifyAuditTrail(storage, { batchSize }), {
        entries: 40,
        firstSeq: 1,
        lastSeq: 40,
      });
    }
  });

  it("finds a changed entry even when it opens a batch", async () => {
    const audit = new AuditTrail(storage, clock);
    audit.recordRead(
      principal,
      "read",
      Array.from({ length: 12 }, (_, i) => personSubject(i + 1)),
    );
    await audit.flush();
    const db = new Database(file);
    db.prepare("UPDATE audit_log SET subject = '99' WHERE seq = 9").run();
    db.close();
    for (const batchSize of [4, 8, 100]) {
      const result = await verifyAuditTrail(storage, { batchSize });
      assert.deepEqual(result.broken, { seq: 9, reason: "its content was changed" }, `batch ${batchSize}`);
      assert.equal(result.entries, 8);
      assert.equal(result.lastSeq, 8);
    }
  });

  it("purgeThrough moves the anchor, and the rest of the chain still verifies and grows", async () => {
    const audit = new AuditTrail(storage, clock);
    audit.recordRead(
      principal,
      "read",
      Array.from({ length: 30 }, (_, i) => personSubject(i + 1)),
    );
    await audit.flush();
    const tenth = (await storage.read.audit.readAfter(9, 1))[0];
    assert.equal(await storage.transaction((tx) => tx.audit.purgeThrough(10)), 10);
    assert.deepEqual(await storage.read.audit.anchor(), { seq: 10, hash: tenth?.hash });
    assert.deepEqual(await verifyAuditTrail(storage, { batchSize: 7 }), {
      entries: 20,
      firstSeq: 11,
      lastSeq: 30,
    });
    audit.recordRead(principal, "read", [personSubject(31)]);
    await audit.flush();
    assert.deepEqual(await verifyAuditTrail(storage), { entries: 21, firstSeq: 11, lastSeq: 31 });

    // Everything purged: the anchor alone carries the chain on.
    await storage.transaction((tx) => tx.audit.purgeThrough(31));
    assert.deepEqual(await verifyAuditTrail(storage), { entries: 0, firstSeq: null, lastSeq: null });
    audit.recordRead(principal, "read", [personSubject(32)]);
    await audit.flush();
    assert.deepEqual(await verifyAuditTrail(storage), { entries: 1, firstSeq: 32, lastSeq: 32 });
  });

  it("keeps reads it could not write, and writes them and later ones once the store is back", async () => {
    const audit = new AuditTrail(storage, clock, { flushAfterMs: 1000 });
    audit.recordRead(principal, "read", [personSubject(1), personSubject(2)]);
    await storage.close();
    await audit.flush(); // fails quietly: the store is closed
    await storage.init();
    audit.recordRead(principal, "read", [personSubject(3)]);
    await audit.flush();
    await audit.flush();
    const entries = await storage.read.audit.readAfter(0, 10);
    assert.deepEqual(entries.map((e) => e.subject).sort(), ["1", "2", "3"]);
    assert.equal((await verifyAuditTrail(storage)).broken, undefined);
  });
});
