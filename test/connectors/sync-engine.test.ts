import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RecordFields } from "../../src/connectors/record-fields.ts";
import type { RecordProblem } from "../../src/connectors/source-record.ts";
import { SyncEngine, type SyncOptions } from "../../src/connectors/sync-engine.ts";
import { generateEscn } from "../../src/domain/escn.ts";
import type { Pic } from "../../src/domain/pic.ts";
import type { Storage } from "../../src/ports/storage.ts";
import {
  addOrganisation,
  esiOf,
  newPic,
  rowsSource,
  type StoreUnderTest,
  storeKinds,
  student,
  TestClock,
} from "./sync-stores.ts";

const kinds = await storeKinds();

for (const kind of kinds) {
  describe(`sync engine on ${kind.name}`, { skip: kind.skip ?? false }, () => {
    let under: StoreUnderTest | undefined;
    const store = (): Storage => {
      if (!under) throw new TypeError("the store was not opened");
      return under.storage;
    };
    before(async () => {
      under = await kind.open();
    });
    after(async () => {
      await under?.cleanup();
    });

    /** A fresh organisation, an engine on a clock the test moves, and a run helper. */
    async function setting(options: Partial<SyncOptions> = {}) {
      const pic = newPic();
      await addOrganisation(store(), pic);
      const clock = new TestClock();
      const engine = new SyncEngine({ storage: store(), clock, timeZone: "UTC" }, { escnPrefix: "001" });
      const run = async (
        rows: readonly RecordFields[],
        more: Partial<SyncOptions> & { failAfter?: number } = {},
      ) => {
        const { failAfter, ...rest } = more;
        const problems: RecordProblem[] = [];
        const result = await engine.run(pic, rowsSource(rows, failAfter === undefined ? {} : { failAfter }), {
          connector: "test",
          batchSize: 3,
          onProblem: (problem) => {
            problems.push(problem);
          },
          ...options,
          ...rest,
        });
        return { ...result, streamed: problems };
      };
      return { pic, clock, engine, run };
    }

    /** What the store holds for an organisation, read through the port: to compare before and after. */
    async function stateOf(pic: Pic, connector = "test") {
      const read = store().read;
      const page = { after: 0, limit: 10_000 };
      const persons = await read.persons.listAfter({ organisationIds: [pic] }, page);
      const links = await Promise.all(persons.items.map((p) => read.persons.findLink(p.id, pic)));
      return {
        outbox: await read.outbox.latestPosition(),
        audit: await read.audit.count(),
        runs: await read.connectorRuns.listRecent(connector, pic, 100),
        persons: persons.items,
        links,
        statuses: (await read.statuses.listAfter({ organisationIds: [pic], state: null }, page)).items,
        cards: (await read.cards.listAfter({ issuerIds: [pic], processorId: null, status: null }, page))
          .items,
        presence: await read.connectorPresence.list(connector, pic, 0, 10_000),
      };
    }

    async function eventsSince(position: number) {
      return store().read.outbox.readAfter(position, 10_000);
    }

    it("a first import creates everything with its events and audit entries; a re-run writes nothing", async () => {
      const { pic, run } = await setting();
      const rows = [1, 2, 3, 4, 5].map((i) => student(i));
      const before = await stateOf(pic);
      const first = await run(rows);
      assert.equal(first.state, "completed");
      assert.deepEqual(first.summary, {
        rows: 5,
        created: 5,
        updated: 0,
        unchanged: 0,
        missing: 0,
        ended: 0,
        rejected: 0,
      });
      const events = await eventsSince(before.outbox);
      assert.deepEqual(
        events
          .filter((e) => e.subject === esiOf(1) || e.subject.endsWith(pic))
          .slice(0, 3)
          .map((e) => e.type),
        ["person.linked", "student-status.changed", "card.created"],
      );
      assert.equal(events.length, 15, "three events per student");
      assert.ok(events.every((e) => e.audience.length === 1 && e.audience[0] === pic));
      const statusEvent = events.find((e) => e.type === "student-status.changed" && e.subject === esiOf(2));
      assert.deepEqual(statusEvent?.data, {
        esi: esiOf(2),
        organisation: pic,
        state: "enrolled",
        validFrom: "2026-09-01",
        validUntil: "2027-08-31",
      });
      const audit = await store().read.audit.readAfter(0, 1_000_000);
      const mine = audit.filter((a) => a.organisationId === pic);
      assert.equal(mine.length, 15, "three audit entries per student");
      assert.deepEqual(
        [...new Set(mine.map((a) => `${a.action} ${a.subjectType} ${a.purpose} ${a.tokenId}`))].sort(),
        [
          "create card card-management null",
          "create person card-management null",
          "create student-status status-management null",
        ],
      );
      const after = await stateOf(pic);
      assert.equal(after.persons.length, 5);
      assert.equal(after.cards.length, 5);
      assert.ok(after.cards.every((c) => c.escn.endsWith(pic) && c.issuerId === pic && c.version === 1));
      assert.deepEqual(after.links[0]?.fullName, "Student 1");
      assert.equal(after.runs[0]?.state, "completed");
      assert.equal(after.runs[0]?.id, first.runId);
      assert.equal(after.runs[0]?.created, 5);

      const second = await run(rows);
      assert.deepEqual(second.summary, {
        rows: 5,
        created: 0,
        updated: 0,
        unchanged: 5,
        missing: 0,
        ended: 0,
        rejected: 0,
      });
      const again = await stateOf(pic);
      assert.equal(again.outbox, after.outbox, "no event");
      assert.equal(again.audit, after.audit, "no audit entry");
      assert.deepEqual(again.cards, after.cards, "no second card, nothing rewritten");
      assert.deepEqual(again.statuses, after.statuses);
      assert.deepEqual(again.links, after.links);
    });

    it("a changed row updates only what changed in it, with the service's events", async () => {
      const { pic, run } = await setting();
      const rows = [1, 2, 3, 4].map((i) => student(i));
      await run(rows);
      const before = await stateOf(pic);
      const changed = [...rows];
      changed[1] = student(2, { fullName: "Student Two" });
      changed[3] = student(4, { expiresAt: "2031-08-31", cardStatus: "INACTIVE", inactiveReason: "lost" });
      const result = await run(changed);
      assert.deepEqual([result.summary.created, result.summary.updated, result.summary.unchanged], [0, 2, 2]);
      const events = await eventsSince(before.outbox);
      assert.deepEqual(
        events.map((e) => [e.type, e.subject]),
        [
          ["person.updated", esiOf(2)],
          ["card.updated", before.cards.find((c) => c.esi === esiOf(4))?.escn],
        ],
      );
      assert.deepEqual(events[1]?.data.status, "INACTIVE");
      assert.deepEqual(events[1]?.data.inactiveReason, "lost");
      assert.equal(events[1]?.data.version, 2);
      const after = await stateOf(pic);
      assert.equal(after.audit - before.audit, 2);
      const card = after.cards.find((c) => c.esi === esiOf(4));
      assert.equal(card?.expiresAt, "2031-08-31");
      assert.equal(after.cards.length, 4, "the card changed in place");
      const link = after.links.find((l) => l?.fullName === "Student Two");
      assert.ok(link, "renamed");
      assert.equal(link.createdAt, before.links.find((l) => l?.personId === link.personId)?.createdAt);
    });

    it("a student missing from the source is ended after the grace period, and only after a complete run", async () => {
      const { pic, clock, run } = await setting({ graceDays: 2 });
      await run([student(1), student(2), student(3)]);
      clock.advanceDays(1);
      const missing = await run([student(1), student(3)]);
      assert.equal(missing.summary.missing, 1);
      assert.equal(missing.summary.ended, 0, "within the grace period");
      const id2 = (await store().read.persons.findByKey(esiOf(2).toLowerCase()))?.id ?? 0;
      assert.equal((await store().read.statuses.find(id2, pic))?.state, "enrolled");

      clock.advanceDays(2);
      const crashed = await run([student(1), student(3)], { failAfter: 1 });
      assert.equal(crashed.state, "failed");
      assert.match(crashed.error ?? "", /broke off/);
      assert.equal(crashed.summary.ended, 0);
      assert.equal(
        (await store().read.statuses.find(id2, pic))?.state,
        "enrolled",
        "a failed run withdraws nothing",
      );
      assert.equal((await store().read.connectorRuns.find(crashed.runId ?? 0))?.state, "failed");

      const position = await store().read.outbox.latestPosition();
      clock.advance(1000);
      const complete = await run([student(1), student(3)]);
      assert.equal(complete.state, "completed");
      assert.equal(complete.summary.ended, 1);
      const ended = await store().read.statuses.find(id2, pic);
      assert.equal(ended?.state, "ended", "ended, never deleted");
      assert.equal(ended?.validUntil, "2026-10-17", "yesterday, the last day counted as a student");
      assert.ok(await store().read.persons.findLink(id2, pic), "the link stays until retention");
      const events = await eventsSince(position);
      assert.deepEqual(
        events.map((e) => [e.type, e.subject, e.data.state]),
        [["student-status.changed", esiOf(2), "ended"]],
      );
      assert.deepEqual(
        (await store().read.connectorPresence.list("test", pic, 0, 100)).map((p) => p.esi),
        [esiOf(1), esiOf(3)],
        "the ended student is forgotten",
      );
      clock.advanceDays(1);
      const quiet = await run([student(1), student(3)]);
      assert.deepEqual([quiet.summary.missing, quiet.summary.ended], [0, 0]);
    });

    it("a student seen again within the grace period is no longer missing", async () => {
      const { clock, run } = await setting({ graceDays: 1 });
      await run([student(1), student(2)]);
      clock.advanceDays(1);
      assert.equal((await run([student(1)])).summary.missing, 1);
      clock.advance(1000);
      assert.equal((await run([student(1), student(2)])).summary.missing, 0);
      clock.advanceDays(3);
      const later = await run([student(1), student(2)]);
      assert.deepEqual([later.summary.missing, later.summary.ended], [0, 0]);
    });

    it("a student whose row is refused for another field than the ESI is not withdrawn for it", async () => {
      const { pic, clock, run } = await setting({ graceDays: 0 });
      await run([student(1), student(2), student(3)]);
      clock.advanceDays(1);
      const typo = student(2, { email: "not an address" });
      for (const dryRun of [true, false]) {
        const result = await run([student(1), typo, student(3)], { dryRun });
        assert.equal(result.summary.rejected, 1);
        assert.equal(result.problems[0]?.field, "email");
        assert.deepEqual([result.summary.missing, result.summary.ended], [0, 0], `dry run: ${dryRun}`);
      }
      const id2 = (await store().read.persons.findByKey(esiOf(2).toLowerCase()))?.id ?? 0;
      assert.equal((await store().read.statuses.find(id2, pic))?.state, "enrolled");
      // Gone for real, it is withdrawn as any other.
      clock.advanceDays(1);
      assert.equal((await run([student(1), student(3)])).summary.ended, 1);
    });

    it("an empty source withdraws no one", async () => {
      const { clock, run } = await setting({ graceDays: 0 });
      await run([student(1), student(2)]);
      clock.advanceDays(1);
      const empty = await run([]);
      assert.equal(empty.state, "completed");
      assert.deepEqual([empty.summary.missing, empty.summary.ended], [0, 0]);
    });

    it("a dry run writes nothing, yet reports what the real run then does", async () => {
      const { pic, clock, run } = await setting({ graceDays: 0 });
      await run([student(1), student(2), student(3), student(4)]);
      clock.advanceDays(1);
      const next = [
        student(1, { fullName: "Renamed" }),
        student(3),
        student(4, { email: "not an address" }),
        student(5),
        student(6, { escn: generateEscn({ prefix: "001", pic: "111222333" as Pic }) }),
      ];
      const before = await stateOf(pic);
      const dry = await run(next, { dryRun: true });
      assert.equal(dry.dryRun, true);
      assert.equal(dry.runId, null);
      assert.deepEqual(await stateOf(pic), before, "the store is as it was");
      clock.advance(1000);
      const real = await run(next);
      assert.deepEqual(dry.summary, real.summary);
      assert.deepEqual(dry.problems, real.problems);
      assert.deepEqual(dry.summary, {
        rows: 5,
        created: 1,
        updated: 1,
        unchanged: 1,
        // Student 2 is gone; student 4 is still in the source, only its e-mail is wrong.
        missing: 1,
        ended: 1,
        rejected: 2,
      });
    });

    it("a duplicate ESI in one source is reported with both rows; the first is kept", async () => {
      const { pic, run } = await setting();
      const result = await run([
        student(1),
        student(2),
        student(3),
        student(1, { fullName: "Twin" }),
        student(4),
      ]);
      assert.deepEqual(result.problems, [{ origin: { row: 4 }, field: "esi", reason: "duplicate of row 1" }]);
      assert.deepEqual(result.streamed, result.problems);
      assert.equal(result.summary.created, 4);
      const after = await stateOf(pic);
      assert.ok(after.links.some((l) => l?.fullName === "Student 1"));
      assert.ok(!after.links.some((l) => l?.fullName === "Twin"));
    });

    it("a bad row among good rows is reported; the good rows are kept", async () => {
      const { pic, run } = await setting();
      const result = await run([
        student(1),
        student(2, { validFrom: "2026-13-40" }),
        student(3, { fullName: "=cmd|' /C calc'!A0" }),
        student(4, { email: "nope" }),
        student(5),
      ]);
      assert.equal(result.state, "completed");
      assert.equal(result.summary.rejected, 2);
      assert.deepEqual(
        result.problems.map((p) => [p.origin.row, p.field]),
        [
          [2, "validFrom"],
          [4, "email"],
        ],
      );
      assert.equal((await stateOf(pic)).persons.length, 3);
    });

    it("a card number of another issuer, or of another person's card, is refused per row; its batch still commits", async () => {
      const { pic, run } = await setting();
      const foreign = generateEscn({ prefix: "001", pic: "111222333" as Pic });
      const own = generateEscn({ prefix: "001", pic });
      await run([student(1, { escn: own })]);
      const result = await run([
        student(1, { escn: own }),
        student(2, { escn: foreign }),
        student(3, { escn: own }),
        student(4),
      ]);
      assert.deepEqual(
        result.problems.map((p) => [p.origin.row, p.field, p.reason]),
        [
          [2, "escn", `is a card number of the issuer 111222333, not of ${pic}`],
          [3, "escn", "duplicate of row 1"],
        ],
      );
      const again = await run([student(3, { escn: own })]);
      assert.deepEqual(
        again.problems.map((p) => [p.field, p.reason]),
        [["escn", "is the number of another person's card"]],
      );
      const after = await stateOf(pic);
      assert.equal(after.persons.length, 2, "students 1 and 4: student 3 was refused both times");
      assert.equal(after.cards.find((c) => c.escn === own)?.esi, esiOf(1));
    });

    it("a refused row does not make its student missing", async () => {
      const { clock, run } = await setting({ graceDays: 0 });
      await run([student(1), student(2)]);
      clock.advanceDays(1);
      const foreign = generateEscn({ prefix: "001", pic: "111222333" as Pic });
      const result = await run([student(1), student(2, { escn: foreign })]);
      assert.equal(result.summary.rejected, 1);
      assert.deepEqual([result.summary.missing, result.summary.ended], [0, 0]);
    });

    it("a card named without an ESCN is the holder's card of that type: a re-run makes no second one", async () => {
      const { pic, run } = await setting();
      await run([student(1)]);
      await run([student(1, { expiresAt: "2031-01-31" })]);
      await run([student(1, { cardType: "PASSIVE" })]);
      const cards = (await stateOf(pic)).cards;
      assert.deepEqual(cards.map((c) => [c.cardType, c.expiresAt]).sort(), [
        ["PASSIVE", "2030-08-31"],
        ["SMART_PASSIVE", "2031-01-31"],
      ]);
    });

    it("keeps what the API recorded that a source does not carry (phone, fax), and records no person twice", async () => {
      const { pic, run } = await setting();
      await run([student(1)]);
      const person = await store().read.persons.findByKey(esiOf(1).toLowerCase());
      assert.ok(person);
      const link = await store().read.persons.findLink(person.id, pic);
      assert.ok(link);
      await store().transaction((tx) => tx.persons.upsertLink({ ...link, phone: "+33 1 23 45 67 89" }));
      const other = newPic();
      await addOrganisation(store(), other);
      const engine = new SyncEngine(
        { storage: store(), clock: new TestClock(), timeZone: "UTC" },
        { escnPrefix: "001" },
      );
      await engine.run(other, rowsSource([student(1)]), { connector: "test" });
      await run([student(1, { fullName: "New Name" })]);
      assert.equal((await store().read.persons.findLink(person.id, pic))?.phone, "+33 1 23 45 67 89");
      assert.equal((await store().read.persons.findLink(person.id, other))?.fullName, "Student 1");
      assert.equal((await store().read.persons.findByKey(esiOf(1).toLowerCase()))?.id, person.id);
    });

    it("a row the store refuses is reported alone: the rest of its batch is kept, and no one is withdrawn", async () => {
      const pic = newPic();
      await addOrganisation(store(), pic);
      // A store that refuses one student's link, as a constraint of a real store would.
      const storage: Storage = {
        ...store(),
        read: store().read,
        transaction: (work) =>
          store().transaction((tx) =>
            work({
              ...tx,
              syncState: {
                ...tx.syncState,
                snapshot: (...args) => tx.syncState.snapshot(...args),
                insertPersons: (persons) => tx.syncState.insertPersons(persons),
                touchPersons: (ids, at) => tx.syncState.touchPersons(ids, at),
                insertStatuses: (statuses) => tx.syncState.insertStatuses(statuses),
                upsertLinks: async (links) => {
                  if (links.some((l) => l.fullName === "Poison")) throw new Error("refused by the store");
                  await tx.syncState.upsertLinks(links);
                },
              },
            }),
          ),
      };
      const clock = new TestClock();
      const engine = new SyncEngine({ storage, clock, timeZone: "UTC" }, { escnPrefix: "001" });
      const options = { connector: "test", batchSize: 10, graceDays: 0 };
      await engine.run(pic, rowsSource([1, 2, 3, 4].map((i) => student(i))), options);
      clock.advanceDays(1);
      const result = await engine.run(
        pic,
        rowsSource([student(1), student(5, { fullName: "Poison" }), student(6)]),
        options,
      );
      assert.equal(result.state, "completed");
      assert.deepEqual(result.problems, [
        { origin: { row: 2 }, field: "", reason: "could not be stored: refused by the store" },
      ]);
      assert.deepEqual(
        [result.summary.created, result.summary.unchanged, result.summary.rejected],
        [1, 1, 1],
      );
      assert.deepEqual(
        [result.summary.missing, result.summary.ended],
        [0, 0],
        "the run did not take in every row",
      );
      const linked = async (i: number) => {
        const person = await store().read.persons.findByKey(esiOf(i).toLowerCase());
        return person !== undefined && (await store().read.persons.findLink(person.id, pic)) !== undefined;
      };
      assert.equal(await linked(6), true);
      assert.equal(await linked(5), false);
    });

    it("two runs of one source at once end with each student and card once", async () => {
      const { pic, run } = await setting({ batchSize: 4 });
      const rows = Array.from({ length: 24 }, (_, i) => student(1000 + i));
      const [a, b] = await Promise.all([run(rows), run(rows)]);
      assert.deepEqual([a.state, b.state], ["completed", "completed"]);
      assert.equal(a.summary.created + b.summary.created, 24);
      assert.equal(a.summary.unchanged + b.summary.unchanged, 24);
      const after = await stateOf(pic);
      assert.equal(after.persons.length, 24);
      assert.equal(after.cards.length, 24);
      assert.equal(new Set(after.cards.map((c) => c.personId)).size, 24);
    });

    it("refuses an organisation that is unknown or holds no students, before anything is written", async () => {
      const engine = new SyncEngine(
        { storage: store(), clock: new TestClock(), timeZone: "UTC" },
        { escnPrefix: "001" },
      );
      await assert.rejects(engine.run(newPic(), rowsSource([student(1)]), { connector: "test" }), {
        code: "ORGANISATION_NOT_FOUND",
      });
      const provider = `SP-${newPic()}`;
      await addOrganisation(store(), provider, "service-provider");
      await assert.rejects(engine.run(provider, rowsSource([student(1)]), { connector: "test" }), {
        code: "VALIDATION_FAILED",
      });
    });
  });
}
