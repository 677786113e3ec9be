/**
 * The retention job on a real SQLite file with a fixed clock: what is past its documented period goes,
 * what is not stays, every removal writes its events, the audit chain still verifies after a purge, and
 * only the holder of the lease "retention" runs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { promisify } from "node:util";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import { firstBrokenLink, type NewAuditEntry } from "../../src/domain/audit-entry.ts";
import { type Escn, generateEscn } from "../../src/domain/escn.ts";
import { esiKey } from "../../src/domain/esi.ts";
import { addDays, type IsoDate } from "../../src/domain/iso-date.ts";
import type { Person } from "../../src/domain/person.ts";
import { parsePic } from "../../src/domain/pic.ts";
import type { Purpose } from "../../src/domain/purpose.ts";
import type { StudentStatusState } from "../../src/domain/student-status.ts";
import type { NewOrganisation } from "../../src/ports/storage.ts";
import { LeaderLock } from "../../src/services/leader-lock.ts";
import { erasedPseudonym } from "../../src/services/person-removal.ts";
import { endedOn, RetentionJob } from "../../src/services/retention-job.ts";
import { fixedClock } from "../support/test-hub.ts";

const A = "999888777";
const B = "111222333";
const NOW = "2030-06-15T12:00:00.000Z";
const TODAY = "2030-06-15" as IsoDate;
const DAY = 86_400_000;
const PERIODS = {
  retentionDays: 730,
  consentProofDays: 1095,
  auditRetentionDays: 1095,
  deliveryRetentionDays: 7,
};
const HOUR = 3_600_000;

const daysAgo = (days: number): IsoDate => addDays(TODAY, -days);
const instantDaysAgo = (days: number): string => new Date(Date.parse(NOW) - days * DAY).toISOString();

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
    createdAt: NOW,
    updatedAt: NOW,
  };
}

describe("the retention job", () => {
  let dir: string;
  let storage: SqliteStorage;
  const clock = fixedClock(NOW);
  const jobs: RetentionJob[] = [];
  let forgotten: Escn[];

  function job(holder = "holder-1", ttlMs = HOUR): RetentionJob {
    const made = new RetentionJob(
      { storage, clock, timeZone: "UTC" },
      {
        periods: PERIODS,
        lock: new LeaderLock(storage, clock, "retention", { ttlMs, holder }),
        onCardsDeleted: (escns) => forgotten.push(...escns),
        batchSize: 2,
      },
    );
    jobs.push(made);
    return made;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "openesc-retention-"));
    storage = new SqliteStorage({ file: join(dir, "openesc.db") });
    await storage.init();
    clock.set(NOW);
    forgotten = [];
    await storage.transaction(async (tx) => {
      await tx.organisations.insert(organisation(A));
      await tx.organisations.insert(organisation(B));
    });
  });

  afterEach(async () => {
    for (const made of jobs.splice(0)) await made.stop();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A person linked to `organisations`, with the `person.linked` events the API would have written. */
  async function person(code: string, organisations: readonly string[] = [A]): Promise<Person> {
    const esi = `urn:schac:personalUniqueCode:int:esi:fr:${code}`;
    const at = instantDaysAgo(2000);
    return storage.transaction(async (tx) => {
      const made = await tx.persons.insert({ esi, esiKey: esiKey(esi), createdAt: at, updatedAt: at });
      for (const organisationId of organisations) {
        await tx.persons.upsertLink({
          personId: made.id,
          organisationId,
          fullName: `Student ${code}`,
          academicLevel: null,
          email: `${code.toLowerCase()}@example.org`,
          phone: null,
          fax: null,
          createdAt: at,
          updatedAt: at,
        });
        await tx.outbox.append([
          {
            type: "person.linked",
            subject: esi,
            audience: [organisationId],
            data: { esi, organisation: organisationId },
            occurredAt: at,
          },
        ]);
      }
      return made;
    });
  }

  async function card(holder: Person, expiresAt: IsoDate, issuer = A): Promise<Escn> {
    const escn = generateEscn({ prefix: "001", pic: parsePic(issuer) });
    await storage.transaction((tx) =>
      tx.cards.insert({
        escn,
        personId: holder.id,
        esi: holder.esi,
        issuerId: issuer,
        processorId: null,
        cardType: "SMART_PASSIVE",
        status: "ACTIVE",
        inactiveReason: null,
        issuedAt: addDays(expiresAt, -365),
        expiresAt,
        displayName: null,
        chipUid: null,
        createdAt: instantDaysAgo(2000),
        updatedAt: instantDaysAgo(2000),
      }),
    );
    return escn;
  }

  async function status(
    holder: Person,
    state: StudentStatusState,
    validUntil: IsoDate | null,
    recordedDaysAgo: number,
    organisationId = A,
  ): Promise<void> {
    const at = instantDaysAgo(recordedDaysAgo);
    await storage.transaction((tx) =>
      tx.statuses.save(
        {
          personId: holder.id,
          esi: holder.esi,
          organisationId,
          state,
          validFrom: daysAgo(3000),
          validUntil,
          createdAt: at,
          updatedAt: at,
        },
        null,
      ),
    );
  }

  async function consent(
    holder: Person,
    withdrawnDaysAgo: number | null,
    purpose: Purpose = "status-sharing",
  ) {
    await storage.transaction((tx) =>
      tx.consents.save({
        personId: holder.id,
        purpose,
        state: withdrawnDaysAgo === null ? "given" : "withdrawn",
        wordingVersion: "2026-11",
        recordedBy: A,
        givenAt: instantDaysAgo(3000),
        withdrawnAt: withdrawnDaysAgo === null ? null : instantDaysAgo(withdrawnDaysAgo),
        updatedAt: instantDaysAgo(withdrawnDaysAgo ?? 3000),
      }),
    );
  }

  const events = () => storage.read.outbox.readAfter(0, 100_000);

  it("deletes a card 731 days after its expiry and keeps one that expired 729 days ago", async () => {
    const holder = await person("CARDS-1");
    await status(holder, "enrolled", null, 3000);
    const old = await card(holder, daysAgo(731));
    const recent = await card(holder, daysAgo(729));
    const boundary = await card(holder, daysAgo(730));
    const valid = await card(holder, daysAgo(-100));

    const report = await job().runOnce();

    assert.equal(report.ran, true);
    assert.equal(report.cardsDeleted, 1);
    assert.equal(await storage.read.cards.findByEscn(old), undefined);
    for (const kept of [recent, boundary, valid]) assert.ok(await storage.read.cards.findByEscn(kept), kept);
    assert.deepEqual(forgotten, [old]);
    const deleted = (await events()).filter((e) => e.type === "card.deleted");
    assert.deepEqual(
      deleted.map((e) => [e.subject, e.audience, e.occurredAt]),
      [[old, [A], NOW]],
    );
    // The holder's link and status are untouched: the status holds.
    assert.equal((await storage.read.persons.links(holder.id)).length, 1);
  });

  it("deletes cards in batches until none is due", async () => {
    const holder = await person("CARDS-2");
    await status(holder, "enrolled", null, 3000);
    for (let i = 0; i < 5; i++) await card(holder, daysAgo(800 + i));
    const report = await job().runOnce();
    assert.equal(report.cardsDeleted, 5);
    assert.equal((await storage.read.cards.listForPerson(holder.id)).length, 0);
  });

  it("removes a status and its link the period after the status ended, then the person left without links", async () => {
    const ended = await person("ENDED-1");
    await status(ended, "ended", null, 731);
    await consent(ended, null);
    const lapsed = await person("LAPSED-1");
    await status(lapsed, "enrolled", daysAgo(731), 3000);
    const recent = await person("RECENT-1");
    await status(recent, "ended", null, 729);
    const withCard = await person("CARDED-1");
    await status(withCard, "ended", null, 2000);
    await card(withCard, daysAgo(-10));

    const report = await job().runOnce();

    assert.equal(report.statusesDeleted, 2);
    assert.equal(report.linksDeleted, 2);
    assert.equal(report.personsDeleted, 2);
    for (const gone of [ended, lapsed]) {
      assert.equal(await storage.read.persons.findByKey(gone.esiKey), undefined, gone.esi);
      assert.deepEqual(await storage.read.consents.listForPerson(gone.id), []);
    }
    for (const kept of [recent, withCard]) {
      assert.equal((await storage.read.persons.links(kept.id)).length, 1, kept.esi);
      assert.equal((await storage.read.statuses.listForPerson(kept.id)).length, 1, kept.esi);
    }
    // Each removal wrote its event, and the ESIs of the persons gone are left only as pseudonyms.
    const all = await events();
    const unlinked = all.filter((e) => e.type === "person.unlinked");
    assert.deepEqual(
      unlinked.map((e) => e.subject).sort(),
      [ended, lapsed].map((p) => erasedPseudonym(p.esiKey)).sort(),
    );
    const text = JSON.stringify(all);
    assert.ok(!text.includes("ENDED-1") && !text.includes("LAPSED-1"), text);
    assert.ok(text.includes("RECENT-1") && text.includes("CARDED-1"));
  });

  it("removes one organisation's link and keeps the person another organisation still holds", async () => {
    const shared = await person("SHARED-1", [A, B]);
    await status(shared, "ended", daysAgo(900), 900, A);
    await status(shared, "enrolled", null, 100, B);
    await consent(shared, null);

    const report = await job().runOnce();

    assert.deepEqual(
      { statuses: report.statusesDeleted, links: report.linksDeleted, persons: report.personsDeleted },
      { statuses: 1, links: 1, persons: 0 },
    );
    assert.deepEqual(
      (await storage.read.persons.links(shared.id)).map((l) => l.organisationId),
      [B],
    );
    assert.equal((await storage.read.consents.listForPerson(shared.id)).length, 1);
    // A's events carry the pseudonym; B's still carry the ESI B holds.
    const linked = (await events()).filter((e) => e.type === "person.linked");
    assert.deepEqual(
      linked.map((e) => [e.audience[0], e.subject]),
      [
        [A, erasedPseudonym(shared.esiKey)],
        [B, shared.esi],
      ],
    );
  });

  it("dates an ended status by when it was recorded, unless its validUntil is earlier", () => {
    const updatedAt = "2030-01-10T23:30:00.000Z";
    assert.equal(endedOn({ state: "ended", validUntil: null, updatedAt }, "UTC"), "2030-01-10");
    assert.equal(endedOn({ state: "ended", validUntil: null, updatedAt }, "Europe/Brussels"), "2030-01-11");
    assert.equal(
      endedOn({ state: "ended", validUntil: "2029-12-31" as IsoDate, updatedAt }, "UTC"),
      "2029-12-31",
    );
    assert.equal(
      endedOn({ state: "ended", validUntil: "2031-06-30" as IsoDate, updatedAt }, "UTC"),
      "2030-01-10",
    );
    assert.equal(
      endedOn({ state: "enrolled", validUntil: "2029-12-31" as IsoDate, updatedAt }, "UTC"),
      "2029-12-31",
    );
    assert.equal(endedOn({ state: "suspended", validUntil: null, updatedAt }, "UTC"), null);
  });

  it("purges a withdrawn consent after the proof period and keeps given ones", async () => {
    const holder = await person("CONSENT-1");
    await status(holder, "enrolled", null, 3000);
    await consent(holder, 1096, "status-sharing");
    await consent(holder, 1094, "display-name-publication");
    await consent(holder, null, "credential-issuance");

    const report = await job().runOnce();

    assert.equal(report.consentsPurged, 1);
    assert.deepEqual(
      (await storage.read.consents.listForPerson(holder.id)).map((c) => [c.purpose, c.state]),
      [
        ["credential-issuance", "given"],
        ["display-name-publication", "withdrawn"],
      ],
    );
  });

  it("purges audit entries past the period and moves the anchor, so the rest of the chain still verifies", async () => {
    const entry = (daysOld: number, subject: string): NewAuditEntry => ({
      at: instantDaysAgo(daysOld),
      organisationId: A,
      tokenId: null,
      action: "read",
      purpose: "card-management",
      subjectType: "person",
      subject,
      personId: 1,
    });
    await storage.transaction((tx) =>
      tx.audit.append([
        entry(1200, "1"),
        entry(1100, "2"),
        entry(1096, "3"),
        entry(1094, "4"),
        entry(10, "5"),
      ]),
    );

    const report = await job().runOnce();

    assert.equal(report.auditEntriesPurged, 3);
    const anchor = await storage.read.audit.anchor();
    assert.equal(anchor.seq, 3);
    const kept = await storage.read.audit.readAfter(0, 100);
    assert.deepEqual(
      kept.map((e) => e.subject),
      ["4", "5"],
    );
    assert.equal(firstBrokenLink(kept, anchor), undefined);
    // A later entry links on as ever.
    await storage.transaction((tx) => tx.audit.append([entry(0, "6")]));
    assert.equal(firstBrokenLink(await storage.read.audit.readAfter(0, 100), anchor), undefined);
    // The next run has nothing more to purge.
    assert.equal((await job().runOnce()).auditEntriesPurged, 0);
  });

  it("purges delivered webhook deliveries after their period, keeping pending and dead ones", async () => {
    await storage.transaction(async (tx) => {
      await tx.organisations.insert(organisation("999000111"));
      await tx.outbox.append([
        {
          type: "organisation.created",
          subject: "999000111",
          audience: ["999000111"],
          data: {},
          occurredAt: NOW,
        },
      ]);
    });
    const [event] = await storage.read.outbox.readAfter(0, 1);
    assert.ok(event);
    const subscription = await storage.transaction((tx) =>
      tx.subscriptions.insert({
        id: "00000000-0000-4000-8000-000000000001",
        organisationId: "999000111",
        url: "https://hooks.example.org/x",
        secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
        description: null,
        types: null,
        issuer: null,
        cardSet: false,
        state: "active",
        startAfter: 0,
        createdAt: NOW,
        updatedAt: NOW,
      }),
    );
    const queue = async (eventId: string, createdAt: string) => {
      await storage.transaction((tx) =>
        tx.deliveries.enqueue([
          {
            subscriptionId: subscription.id,
            eventId,
            position: event.position,
            subjectKey: "k",
            projection: "full",
            createdAt,
          },
        ]),
      );
      const page = await storage.read.deliveries.list(subscription.id, "pending", { after: 0, limit: 10 });
      const found = page.items.find((d) => d.eventId === eventId);
      assert.ok(found);
      return found.id;
    };
    const old = await queue("old-delivered", instantDaysAgo(9));
    const recent = await queue("recent-delivered", instantDaysAgo(2));
    const dead = await queue("old-dead", instantDaysAgo(30));
    await queue("old-pending", instantDaysAgo(30));
    await storage.transaction(async (tx) => {
      await tx.deliveries.markDelivered(old, instantDaysAgo(8), 200);
      await tx.deliveries.markDelivered(recent, instantDaysAgo(1), 200);
      await tx.deliveries.markFailed(dead, {
        at: instantDaysAgo(29),
        status: 400,
        error: "answered 400",
        nextAttemptAt: null,
      });
    });

    const report = await job().runOnce();

    assert.equal(report.deliveriesPurged, 1);
    const left = await storage.read.deliveries.list(subscription.id, null, { after: 0, limit: 10 });
    assert.deepEqual(left.items.map((d) => d.eventId).sort(), [
      "old-dead",
      "old-pending",
      "recent-delivered",
    ]);
  });

  it("purges mirror jobs that removed their subject or were refused, after the delivery period, and those no mirror needs", async () => {
    const mirrored = (mirroredOrganisations: readonly string[]) => {
      const made = new RetentionJob(
        { storage, clock, timeZone: "UTC" },
        {
          periods: PERIODS,
          lock: new LeaderLock(storage, clock, "retention", { ttlMs: HOUR, holder: "holder-1" }),
          mirroredOrganisations,
        },
      );
      jobs.push(made);
      return made;
    };
    /** A job of `organisation` about `subject`, settled as `outcome` says `days` ago. */
    const settled = async (
      organisation: string,
      subject: string,
      days: number,
      outcome: { state: "done"; operation: "PUT" | "DELETE" } | { state: "refused" } | { state: "pending" },
    ) => {
      const at = instantDaysAgo(days);
      await storage.transaction(async (tx) => {
        await tx.mirrorJobs.enqueue([
          {
            organisationId: organisation,
            kind: "card",
            subject,
            subjectKey: subject,
            position: 1,
            queuedAt: at,
          },
        ]);
        if (outcome.state === "pending") return;
        const claimed = await tx.mirrorJobs.claimDue({
          now: at,
          holder: "h",
          until: at,
          limit: 10,
          organisationIds: [organisation],
        });
        const job = claimed.find((j) => j.subject === subject);
        assert.ok(job);
        await tx.mirrorJobs.settle(
          job.id,
          1,
          outcome.state === "done"
            ? { state: "done", at, status: 200, operation: outcome.operation, subject: null }
            : { state: "refused", at, status: 400, operation: "POST", code: null, message: "no" },
        );
      });
    };
    await settled(A, "old-removal", 8, { state: "done", operation: "DELETE" });
    await settled(A, "old-refusal", 8, { state: "refused" });
    await settled(A, "recent-refusal", 2, { state: "refused" });
    // The router still holds this card: its job is what can remove it later.
    await settled(A, "old-upsert", 30, { state: "done", operation: "PUT" });
    await settled(A, "old-pending", 30, { state: "pending" });
    await settled(B, "unmirrored", 1, { state: "pending" });

    const report = await mirrored([A]).runOnce();

    assert.equal(report.mirrorJobsPurged, 3);
    const left = await Promise.all(
      ["old-removal", "old-refusal", "recent-refusal", "old-upsert", "old-pending"].map(async (subject) =>
        (await storage.read.mirrorJobs.find(A, "card", subject)) ? subject : null,
      ),
    );
    assert.deepEqual(left.filter(Boolean), ["recent-refusal", "old-upsert", "old-pending"]);
    assert.equal(await storage.read.mirrorJobs.find(B, "card", "unmirrored"), undefined);
  });

  it("forgets issued credentials once expired, and offers and nonces once dead, keeping live ones", async () => {
    const list = await storage.transaction((tx) =>
      tx.statusLists.insert({ organisationId: A, size: 100_000, bits: 2, createdAt: NOW }),
    );
    const credential = (id: string, index: number, expiresAt: string) => ({
      id,
      organisationId: A,
      escn: null,
      personId: null,
      keyId: "kid",
      statusListId: list.id,
      statusIndex: index,
      holderKeyThumbprint: "thumb",
      offerId: null,
      issuedAt: instantDaysAgo(400),
      expiresAt,
    });
    const offer = (id: string, expiresAt: string) => ({
      id,
      organisationId: A,
      escn: "escn",
      personId: 1,
      preAuthorizedCodeHash: `code-${id}`,
      txCodeHash: null,
      txCodeLength: null,
      failedTxCodeAttempts: 0,
      state: "offered" as const,
      accessTokenHash: null,
      accessTokenExpiresAt: null,
      createdAt: instantDaysAgo(2),
      expiresAt,
      redeemedAt: null,
    });
    await storage.transaction(async (tx) => {
      await tx.credentials.insert(credential("expired", 1, instantDaysAgo(1)));
      await tx.credentials.insert(credential("live", 2, instantDaysAgo(-1)));
      await tx.credentialOffers.insert(offer("dead", instantDaysAgo(1)));
      await tx.credentialOffers.insert(offer("open", instantDaysAgo(-1)));
      await tx.nonces.insert("old-nonce", instantDaysAgo(1));
    });
    const report = await job().runOnce();
    assert.equal(report.credentialsPurged, 1);
    assert.equal(report.credentialOffersPurged, 1);
    assert.equal(await storage.read.credentials.find("expired"), undefined);
    assert.ok(await storage.read.credentials.find("live"));
    assert.equal(await storage.read.credentialOffers.find("dead"), undefined);
    assert.ok(await storage.read.credentialOffers.find("open"));
    assert.equal(await storage.transaction((tx) => tx.nonces.consume("old-nonce", instantDaysAgo(2))), false);
  });

  it("runs in only one of two processes sharing the store: the lease holder", async () => {
    const holder = await person("LEASE-1");
    await status(holder, "enrolled", null, 3000);
    const first = job("process-1");
    const second = job("process-2");

    assert.equal((await first.runOnce()).ran, true);
    const due = await card(holder, daysAgo(800));
    const refused = await second.runOnce();
    assert.deepEqual(refused, {
      ran: false,
      cardsDeleted: 0,
      statusesDeleted: 0,
      linksDeleted: 0,
      personsDeleted: 0,
      consentsPurged: 0,
      deliveriesPurged: 0,
      auditEntriesPurged: 0,
      credentialsPurged: 0,
      credentialOffersPurged: 0,
      mirrorJobsPurged: 0,
    });
    assert.ok(
      await storage.read.cards.findByEscn(due),
      "the second process purged while the first held the lease",
    );

    // The holder renews its lease on every run…
    clock.set(new Date(Date.parse(NOW) + 50 * 60_000).toISOString());
    assert.equal((await first.runOnce()).cardsDeleted, 1);
    clock.set(new Date(Date.parse(NOW) + 100 * 60_000).toISOString());
    assert.equal((await second.runOnce()).ran, false);
    // …and once it stops, the other takes over.
    await first.stop();
    assert.equal((await second.runOnce()).ran, true);
    assert.equal((await first.runOnce()).ran, false);
  });

  it("lets another process take over a lease its holder stopped renewing", async () => {
    const first = job("process-1");
    const second = job("process-2");
    assert.equal((await first.runOnce()).ran, true);
    clock.set(new Date(Date.parse(NOW) + HOUR - 1).toISOString());
    assert.equal((await second.runOnce()).ran, false);
    clock.set(new Date(Date.parse(NOW) + HOUR).toISOString());
    assert.equal((await second.runOnce()).ran, true);
    assert.equal((await first.runOnce()).ran, false);
  });

  it("on a schedule, runs at once, logs what it purged, and gives the lease up when stopped", async () => {
    const holder = await person("SCHEDULE-1");
    await status(holder, "enrolled", null, 3000);
    await card(holder, daysAgo(800));
    const logged: object[] = [];
    const scheduled = job("process-1");
    scheduled.start(60 * 60_000, {
      info: (details) => logged.push(details),
      error: (details) => assert.fail(`logged an error: ${JSON.stringify(details)}`),
    });
    for (let i = 0; i < 100 && logged.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(logged, [
      {
        retention: {
          cardsDeleted: 1,
          statusesDeleted: 0,
          linksDeleted: 0,
          personsDeleted: 0,
          consentsPurged: 0,
          deliveriesPurged: 0,
          auditEntriesPurged: 0,
          credentialsPurged: 0,
          credentialOffersPurged: 0,
          mirrorJobsPurged: 0,
        },
      },
    ]);
    assert.equal((await job("process-2").runOnce()).ran, false);
    await scheduled.stop();
    assert.equal((await job("process-2").runOnce()).ran, true);
  });

  it("removes persons left without any link", async () => {
    const orphan = await storage.transaction((tx) =>
      tx.persons.insert({
        esi: "urn:schac:personalUniqueCode:int:esi:fr:ORPHAN-1",
        esiKey: esiKey("urn:schac:personalUniqueCode:int:esi:fr:ORPHAN-1"),
        createdAt: NOW,
        updatedAt: NOW,
      }),
    );
    await consent(orphan, null);
    const report = await job().runOnce();
    assert.equal(report.personsDeleted, 1);
    assert.equal(await storage.read.persons.findByKey(orphan.esiKey), undefined);
    assert.deepEqual(await storage.read.consents.listForPerson(orphan.id), []);
  });

  it("runs once from the command line, printing what it purged, and leaves the lease free", async () => {
    const holder = await person("CLI-1");
    await status(holder, "enrolled", null, 3000);
    const today = new Date().toISOString().slice(0, 10) as IsoDate;
    await card(holder, addDays(today, -800));
    await card(holder, addDays(today, 100));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["bin/openesc.js", "retention", "run", "--data-dir", dir],
      { encoding: "utf8" },
    );
    assert.deepEqual(JSON.parse(stdout), {
      cardsDeleted: 1,
      statusesDeleted: 0,
      linksDeleted: 0,
      personsDeleted: 0,
      consentsPurged: 0,
      deliveriesPurged: 0,
      auditEntriesPurged: 0,
      credentialsPurged: 0,
      credentialOffersPurged: 0,
      mirrorJobsPurged: 0,
    });
    assert.equal((await storage.read.cards.listForPerson(holder.id)).length, 1);
    // The command gave the lease up: a job of this process takes it at once.
    clock.set(new Date().toISOString());
    assert.equal((await job("process-after-cli").runOnce()).ran, true);
  });
});
