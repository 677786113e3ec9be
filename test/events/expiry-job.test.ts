/**
 * The expiry job: the day after a card's `expiresAt` (or a status's `validUntil`) subscribers hear that it
 * no longer holds, once, whatever the job's schedule (run twice a day, or not for a week) and however many
 * cards expire at once. Time is frozen and moved by hand.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Card } from "../../src/domain/card.ts";
import { parseCardType } from "../../src/domain/card-type.ts";
import { type Escn, generateEscns } from "../../src/domain/escn.ts";
import { parseEsi } from "../../src/domain/esi.ts";
import { parseIsoDate } from "../../src/domain/iso-date.ts";
import { parsePic } from "../../src/domain/pic.ts";
import type { Repositories } from "../../src/ports/storage.ts";
import { ExpiryJob } from "../../src/services/expiry-job.ts";
import { LeaderLock } from "../../src/services/leader-lock.ts";
import { cardPayload, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";
import { WebhookReceiver } from "../support/webhook-receiver.ts";

const esi = (tag: string) => `urn:schac:personalUniqueCode:int:esi:fr:expiry-${tag}`;

interface FeedEvent {
  id: string;
  type: string;
  subject: string;
  time: string;
  data: Record<string, unknown>;
}

/** The expiry lease, lost after `grants` more checks: a run cut short half-way, as by a crash. */
class LapsingLock extends LeaderLock {
  #grants: number;

  constructor(hub: TestHub, clock: ReturnType<typeof fixedClock>, grants: number) {
    super(hub.services.storage, clock, "expiry", { ttlMs: 3_600_000 });
    this.#grants = grants;
  }

  override holdsIn(tx: Repositories): Promise<boolean> {
    if (this.#grants <= 0) return Promise.resolve(false);
    this.#grants -= 1;
    return super.holdsIn(tx);
  }
}

/** What a hub offers these tests: an institution, its persons and cards, and its feed. */
function helpers(hubOf: () => TestHub, tokenOf: () => string) {
  const request = (options: Parameters<TestHub["request"]>[0]) => hubOf().request(options);

  async function person(tag: string): Promise<string> {
    const value = esi(tag);
    const res = await request({
      method: "POST",
      url: "/esc-rest/api/v2/persons",
      token: tokenOf(),
      payload: personPayload(value, UNIVERSITY.id),
    });
    assert.equal(res.statusCode, 201, res.body);
    return value;
  }

  async function card(holder: string, expiresAt: string): Promise<string> {
    const res = await request({
      method: "POST",
      url: "/esc-rest/api/v2/cards",
      token: tokenOf(),
      payload: cardPayload(holder, UNIVERSITY.id, { expiresAt }),
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().cardNumber;
  }

  async function status(holder: string, state: string, validUntil: string): Promise<void> {
    const res = await request({
      method: "PUT",
      url: `/v1/student-statuses/${UNIVERSITY.id}/${encodeURIComponent(holder)}`,
      token: tokenOf(),
      payload: { state, validFrom: "2026-09-01", validUntil },
    });
    assert.ok(res.statusCode === 201 || res.statusCode === 200, res.body);
  }

  /** Every event of `type` in the institution's pull feed. */
  async function announced(type: "card.expired" | "student-status.expired"): Promise<FeedEvent[]> {
    const items: FeedEvent[] = [];
    let after = "0";
    for (;;) {
      const res = await request({
        method: "GET",
        url: `/v1/events?after=${after}&limit=1000`,
        token: tokenOf(),
      });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json<{ items: FeedEvent[]; next: string }>();
      items.push(...page.items);
      if (page.next === after) break;
      after = page.next;
    }
    return items.filter((e) => e.type === `eu.openesc.${type}`);
  }

  /** Subjects announced of `type`, each with how many times. */
  async function counts(type: "card.expired" | "student-status.expired"): Promise<Map<string, number>> {
    const tally = new Map<string, number>();
    for (const e of await announced(type)) tally.set(e.subject, (tally.get(e.subject) ?? 0) + 1);
    return tally;
  }

  return { person, card, status, announced, counts };
}

describe("the expiry job", () => {
  const clock = fixedClock("2027-03-01T10:00:00.000Z");
  let hub: TestHub;
  let university: string;
  const { person, card, status, announced, counts } = helpers(
    () => hub,
    () => university,
  );

  before(async () => {
    hub = await startTestHub({
      clock,
      delivery: true,
      env: {
        OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true",
        OPENESC_EVENT_POLL_MS: "20",
        OPENESC_MAX_PAGE_SIZE: "1000",
      },
    });
    university = await hub.onboard(UNIVERSITY);
    // The job's first run on this store (also made by the hub when it started): from today on.
    assert.equal((await hub.services.expiry.runOnce()).ran, true);
  });
  after(() => hub.close());

  it("announces an expired card once, the day after its expiresAt, by feed and by webhook", async () => {
    const receiver = new WebhookReceiver();
    const url = await receiver.start();
    try {
      const subscribed = await hub.request({
        method: "POST",
        url: "/v1/subscriptions",
        token: university,
        payload: { url, types: ["card.expired"] },
      });
      assert.equal(subscribed.statusCode, 201, subscribed.body);
      const holder = await person("once");
      const escn = await card(holder, "2027-03-02");

      // The last valid day, to its last second: nothing yet.
      clock.set("2027-03-02T23:59:59.000Z");
      assert.deepEqual(await hub.services.expiry.runOnce(), {
        ran: true,
        cardsExpired: 0,
        statusesExpired: 0,
      });
      assert.equal((await counts("card.expired")).get(escn), undefined);

      clock.set("2027-03-03T00:00:01.000Z");
      const report = await hub.services.expiry.runOnce();
      assert.equal(report.cardsExpired, 1);
      const [event, ...more] = (await announced("card.expired")).filter((e) => e.subject === escn);
      assert.equal(more.length, 0);
      assert.ok(event);
      assert.equal(event.time, "2027-03-03T00:00:01.000Z", "when the job ran");
      assert.deepEqual(event.data, {
        escn,
        issuer: UNIVERSITY.id,
        status: "ACTIVE", // the stored status is unchanged: expiry follows from the date
        inactiveReason: null,
        expiresAt: "2027-03-02",
        version: 1,
      });
      await receiver.waitFor(1);
      const [delivered] = receiver.events();
      assert.equal(delivered?.type, "eu.openesc.card.expired");
      assert.equal(delivered?.subject, escn);
      assert.equal(delivered?.id, event.id, "the same event as in the feed");

      // Again the same day, and the next day: nothing more.
      assert.equal((await hub.services.expiry.runOnce()).cardsExpired, 0);
      clock.set("2027-03-03T18:00:00.000Z");
      assert.equal((await hub.services.expiry.runOnce()).cardsExpired, 0);
      clock.set("2027-03-04T06:00:00.000Z");
      assert.equal((await hub.services.expiry.runOnce()).cardsExpired, 0);
      assert.equal((await counts("card.expired")).get(escn), 1);
      const detail = await hub.request({
        method: "GET",
        url: `/v1/subscriptions/${subscribed.json().id}`,
        token: university,
      });
      const { pending, delivered: sent, dead } = detail.json().deliveries;
      assert.equal(pending + sent + dead, 1, "one delivery for the one event");
      assert.equal(receiver.received.length, 1);
      await hub.request({
        method: "DELETE",
        url: `/v1/subscriptions/${subscribed.json().id}`,
        token: university,
      });
    } finally {
      await receiver.close();
    }
  });

  it("announces a student status once after its validUntil, and never one already ended", async () => {
    const enrolled = await person("enrolled");
    const suspended = await person("suspended");
    const ended = await person("ended");
    await status(enrolled, "enrolled", "2027-03-05");
    await status(suspended, "suspended", "2027-03-05");
    await status(ended, "ended", "2027-03-05");

    clock.set("2027-03-05T12:00:00.000Z");
    assert.equal((await hub.services.expiry.runOnce()).statusesExpired, 0);
    clock.set("2027-03-06T00:00:00.000Z");
    assert.equal((await hub.services.expiry.runOnce()).statusesExpired, 2);
    assert.equal((await hub.services.expiry.runOnce()).statusesExpired, 0);

    const events = await announced("student-status.expired");
    assert.deepEqual(events.map((e) => e.subject).sort(), [enrolled, suspended].sort());
    assert.deepEqual(events.find((e) => e.subject === enrolled)?.data, {
      esi: enrolled,
      organisation: UNIVERSITY.id,
      state: "enrolled",
      validFrom: "2026-09-01",
      validUntil: "2027-03-05",
    });
    // The status's stored state is unchanged.
    const stored = await hub.request({
      method: "GET",
      url: `/v1/student-statuses/${UNIVERSITY.id}/${encodeURIComponent(enrolled)}`,
      token: university,
    });
    assert.equal(stored.json().state, "enrolled");
  });

  it("announces every card that expired during a week without runs, each once", async () => {
    const holder = await person("week");
    const days = ["07", "08", "09", "10", "11", "12", "13"].map((d) => `2027-03-${d}`);
    const expiring = new Map<string, string>();
    for (const day of days) expiring.set(await card(holder, day), day);
    const stillValid = await card(holder, "2027-03-14");

    clock.set("2027-03-14T07:30:00.000Z");
    assert.equal((await hub.services.expiry.runOnce()).cardsExpired, 7);
    assert.equal((await hub.services.expiry.runOnce()).cardsExpired, 0);
    const tally = await counts("card.expired");
    for (const [escn, day] of expiring) assert.equal(tally.get(escn), 1, `the card that expired on ${day}`);
    assert.equal(tally.get(stillValid), undefined, "valid through today");

    clock.set("2027-03-15T00:00:00.000Z");
    assert.equal((await hub.services.expiry.runOnce()).cardsExpired, 1);
    assert.equal((await counts("card.expired")).get(stillValid), 1);
  });

  it("announces 1,200 cards that expire the same day, in batches, each once", async () => {
    const holder = await person("many");
    const found = await hub.services.storage.read.persons.findByKey(parseEsi(holder).key);
    assert.ok(found);
    const escns = generateEscns(1200, { prefix: "001", pic: parsePic(UNIVERSITY.id) });
    const at = clock.now().toISOString();
    const rows: Omit<Card, "version">[] = escns.map((escn: Escn) => ({
      escn,
      personId: found.id,
      esi: found.esi,
      issuerId: UNIVERSITY.id,
      processorId: null,
      cardType: parseCardType("SMART_PASSIVE"),
      status: "ACTIVE",
      inactiveReason: null,
      issuedAt: parseIsoDate("2026-09-01"),
      expiresAt: parseIsoDate("2027-03-16"),
      displayName: null,
      chipUid: null,
      createdAt: at,
      updatedAt: at,
    }));
    await hub.services.storage.transaction((tx) => tx.cards.insertMany(rows));

    let batches = 0;
    const job = new ExpiryJob(
      { storage: hub.services.storage, clock, timeZone: hub.config.timeZone },
      {
        lock: new LeaderLock(hub.services.storage, clock, "expiry", { ttlMs: 3_600_000 }),
        batchSize: 100,
        onEvents: () => {
          batches += 1;
        },
      },
    );
    clock.set("2027-03-17T02:00:00.000Z");
    assert.equal((await job.runOnce()).cardsExpired, 1200);
    assert.ok(batches >= 12, `in batches of 100: ${batches}`);
    assert.equal((await job.runOnce()).cardsExpired, 0);
    assert.equal((await hub.services.expiry.runOnce()).cardsExpired, 0);
    const tally = await counts("card.expired");
    assert.equal(escns.filter((escn) => tally.get(escn) === 1).length, 1200);
  });

  it("resumes a run cut short without skipping what expired meanwhile", async () => {
    const holder = await person("cut-short");
    // Made first (lower keyset positions), expiring a day after the others.
    const later = [await card(holder, "2027-03-19"), await card(holder, "2027-03-19")];
    const first = [];
    for (let i = 0; i < 5; i++) first.push(await card(holder, "2027-03-18"));
    const statusHolders = [await person("cut-short-1"), await person("cut-short-2")];
    for (const h of statusHolders) await status(h, "enrolled", "2027-03-19");

    // The run for the 18th loses its lease after two batches of two cards.
    clock.set("2027-03-19T01:00:00.000Z");
    const cut = new ExpiryJob(
      { storage: hub.services.storage, clock, timeZone: hub.config.timeZone },
      { lock: new LapsingLock(hub, clock, 3), batchSize: 2 },
    );
    await assert.rejects(cut.runOnce());
    const partial = await counts("card.expired");
    assert.equal(first.filter((escn) => partial.get(escn) === 1).length, 4, "two batches committed");

    // The next run comes two days later.
    clock.set("2027-03-21T01:00:00.000Z");
    const report = await hub.services.expiry.runOnce();
    assert.equal(report.cardsExpired, 1 + later.length);
    assert.equal(report.statusesExpired, statusHolders.length);
    const tally = await counts("card.expired");
    for (const escn of [...first, ...later]) assert.equal(tally.get(escn), 1, escn);
    const statuses = (await announced("student-status.expired")).map((e) => e.subject);
    for (const h of statusHolders) assert.equal(statuses.filter((s) => s === h).length, 1, h);
  });

  it("resumes a run cut short among the statuses without skipping the cards of the days after", async () => {
    const holder = await person("cut-statuses");
    const statusHolders = [];
    for (let i = 0; i < 3; i++) {
      const h = await person(`cut-statuses-${i}`);
      await status(h, "enrolled", "2027-03-21");
      statusHolders.push(h);
    }
    const nextDay = await card(holder, "2027-03-22");

    // acquire, the cards (none), one batch of statuses; then the lease is gone.
    clock.set("2027-03-22T01:00:00.000Z");
    const cut = new ExpiryJob(
      { storage: hub.services.storage, clock, timeZone: hub.config.timeZone },
      { lock: new LapsingLock(hub, clock, 3), batchSize: 2 },
    );
    await assert.rejects(cut.runOnce());

    clock.set("2027-03-24T01:00:00.000Z");
    await hub.services.expiry.runOnce();
    assert.equal((await counts("card.expired")).get(nextDay), 1, "the card of the 22nd");
    const statuses = (await announced("student-status.expired")).map((e) => e.subject);
    for (const h of statusHolders) assert.equal(statuses.filter((s) => s === h).length, 1, h);
  });
});

describe("the expiry job's first run on a store", () => {
  const clock = fixedClock("2027-05-10T09:00:00.000Z");
  let hub: TestHub;
  let university: string;
  const { person, card, status, announced } = helpers(
    () => hub,
    () => university,
  );

  // No delivery: nothing runs the job before the test does.
  before(async () => {
    hub = await startTestHub({ clock, env: { OPENESC_MAX_PAGE_SIZE: "1000" } });
    university = await hub.onboard(UNIVERSITY);
  });
  after(() => hub.close());

  it("announces nothing that expired before it, and what expires after it as usual", async () => {
    const holder = await person("first-run");
    await card(holder, "2027-05-09");
    await card(holder, "2027-05-01");
    const today = await card(holder, "2027-05-10");
    await status(holder, "enrolled", "2027-05-05");

    assert.deepEqual(await hub.services.expiry.runOnce(), {
      ran: true,
      cardsExpired: 0,
      statusesExpired: 0,
    });
    assert.deepEqual(await announced("card.expired"), []);
    assert.deepEqual(await announced("student-status.expired"), []);

    clock.set("2027-05-11T09:00:00.000Z");
    assert.deepEqual(await hub.services.expiry.runOnce(), {
      ran: true,
      cardsExpired: 1,
      statusesExpired: 0,
    });
    assert.deepEqual(
      (await announced("card.expired")).map((e) => e.subject),
      [today],
    );
    assert.deepEqual(await announced("student-status.expired"), []);
  });
});
