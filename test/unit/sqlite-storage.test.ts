import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import type { Card } from "../../src/domain/card.ts";
import { type Escn, generateEscn } from "../../src/domain/escn.ts";
import type { DomainEvent } from "../../src/domain/events.ts";
import { type IsoDate, parseIsoDate } from "../../src/domain/iso-date.ts";
import { parsePic } from "../../src/domain/pic.ts";
import type { NewOrganisation, Repositories } from "../../src/ports/storage.ts";

const PIC = parsePic("999888777");
const AT = "2026-10-15T10:00:00.000Z";
const folders: string[] = [];

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "openesc-sqlite-"));
  folders.push(dir);
  return join(dir, "store", "openesc.db");
}

after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A gate a test opens by hand, to hold a transaction open at a chosen moment. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

const university: NewOrganisation = {
  id: PIC,
  kind: "institution",
  name: "Université de Saint-Valentin",
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

function event(subject: string, type: DomainEvent["type"] = "card.updated"): DomainEvent {
  return { type, subject, audience: [PIC], data: { subject }, occurredAt: AT };
}

function newCard(personId: number, esi: string, escn: Escn = generateEscn({ prefix: "001", pic: PIC })) {
  return {
    escn,
    personId,
    esi,
    issuerId: PIC,
    processorId: null,
    cardType: "SMART_PASSIVE",
    status: "ACTIVE",
    inactiveReason: null,
    issuedAt: parseIsoDate("2026-09-01"),
    expiresAt: parseIsoDate("2030-08-31") as IsoDate,
    displayName: "Jeanne E.",
    chipUid: null,
    createdAt: AT,
    updatedAt: AT,
  } satisfies Omit<Card, "version">;
}

/** An organisation and a person, committed: what every card needs. */
async function seed(storage: SqliteStorage): Promise<{ personId: number; esi: string }> {
  return storage.transaction(async (tx) => {
    await tx.organisations.insert(university);
    const esi = "urn:schac:personalUniqueCode:int:esi:fr:1234567890A";
    const person = await tx.persons.insert({ esi, esiKey: esi.toLowerCase(), createdAt: AT, updatedAt: AT });
    return { personId: person.id, esi };
  });
}

async function openStorage(file: string): Promise<SqliteStorage> {
  const storage = new SqliteStorage({ file });
  await storage.init();
  return storage;
}

async function allEvents(repositories: Repositories) {
  return repositories.outbox.readAfter(0, 10_000);
}

/**
 * What only the SQLite store does: its transaction queue, its file. Everything the port promises is in the
 * storage conformance suite (test/conformance/), run against every adapter.
 */
describe("SqliteStorage", () => {
  let file: string;
  let storage: SqliteStorage;
  let holder: { personId: number; esi: string };

  beforeEach(async () => {
    file = tempFile();
    storage = await openStorage(file);
    holder = await seed(storage);
  });
  afterEach(() => storage.close());

  describe("transaction queue", () => {
    it("gives outbox events increasing positions in commit order", async () => {
      const committed: string[] = [];
      const first = gate();
      const holdFirst = storage
        .transaction(async (tx) => {
          await tx.outbox.append([event("first")]);
          await first.wait;
        })
        .then(() => committed.push("first"));
      // queued behind the first, whatever their own timing
      const others = ["second", "third", "fourth"].map((name, i) =>
        storage
          .transaction(async (tx) => {
            for (let k = 0; k < 3 - i; k++) await tick();
            await tx.outbox.append([event(`${name}-a`), event(`${name}-b`)]);
          })
          .then(() => committed.push(name)),
      );
      const failed = storage
        .transaction(async (tx) => {
          await tx.outbox.append([event("rolled-back")]);
          throw new Error("no");
        })
        .catch(() => undefined);
      await tick();
      first.open();
      await Promise.all([holdFirst, ...others, failed]);
      const events = await allEvents(storage.read);
      const positions = events.map((e) => e.position);
      for (let i = 1; i < positions.length; i++) {
        assert.ok(positions[i]! > positions[i - 1]!, `positions ${positions.join(", ")} must increase`);
      }
      assert.deepEqual(
        events.map((e) => e.subject),
        ["first", "second-a", "second-b", "third-a", "third-b", "fourth-a", "fourth-b"],
      );
      assert.deepEqual(committed, ["first", "second", "third", "fourth"]);
      // paging by position resumes exactly after the last event seen
      const afterSecond = await storage.read.outbox.readAfter(events[2]!.position, 2);
      assert.deepEqual(
        afterSecond.map((e) => e.subject),
        ["third-a", "third-b"],
      );
    });
  });

  describe("durability", () => {
    it("keeps committed data across close and reopen", async () => {
      const card = newCard(holder.personId, holder.esi);
      await storage.transaction(async (tx) => {
        await tx.cards.insert(card);
        await tx.outbox.append([event(card.escn, "card.created")]);
      });
      await storage.close();
      storage = await openStorage(file);
      const stored = await storage.read.cards.findByEscn(card.escn);
      assert.equal(stored?.escn, card.escn);
      assert.equal(stored?.esi, holder.esi);
      assert.equal((await storage.read.organisations.findById(PIC))?.name, university.name);
      assert.deepEqual(
        (await allEvents(storage.read)).map((e) => e.subject),
        [card.escn],
      );
      // and it still takes writes
      const next = newCard(holder.personId, holder.esi);
      await storage.transaction((tx) => tx.cards.insert(next));
      assert.equal((await storage.read.cards.findByEscn(next.escn))?.escn, next.escn);
    });

    it("a second SqliteStorage on the same file sees committed data, and not uncommitted data", async () => {
      const other = await openStorage(file);
      try {
        const card = newCard(holder.personId, holder.esi);
        await storage.transaction(async (tx) => {
          await tx.cards.insert(card);
          await tx.outbox.append([event(card.escn, "card.created")]);
        });
        assert.equal((await other.read.cards.findByEscn(card.escn))?.escn, card.escn);
        assert.equal((await allEvents(other.read)).length, 1);

        // the other way round, through the second one's own transactions
        const second = newCard(holder.personId, holder.esi);
        await other.transaction((tx) => tx.cards.insert(second));
        assert.equal((await storage.read.cards.findByEscn(second.escn))?.escn, second.escn);

        // an open transaction in one is invisible to the other
        const written = gate();
        const release = gate();
        const third = newCard(holder.personId, holder.esi);
        const pending = storage.transaction(async (tx) => {
          await tx.cards.insert(third);
          written.open();
          await release.wait;
        });
        await written.wait;
        assert.equal(await other.read.cards.findByEscn(third.escn), undefined);
        release.open();
        await pending;
        assert.equal((await other.read.cards.findByEscn(third.escn))?.escn, third.escn);
      } finally {
        await other.close();
      }
    });

    it("creates the folder of the database file", async () => {
      const nested = join(mkdtempSync(join(tmpdir(), "openesc-sqlite-")), "a", "b", "hub.db");
      folders.push(join(nested, "..", "..", ".."));
      const fresh = await openStorage(nested);
      try {
        await fresh.ping();
        assert.equal((await fresh.read.organisations.list({ after: 0, limit: 10 })).items.length, 0);
      } finally {
        await fresh.close();
      }
    });
  });
});
