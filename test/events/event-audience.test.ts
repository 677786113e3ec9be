/**
 * Who receives which webhook: the tenant wall (an event reaches only the organisations it concerns), the
 * public projection for a service provider following a card, and each subscription's own filters and
 * state. One hub with delivery running; each case has its own subscribers and persons.
 *
 * "Nothing arrives" is never proved by waiting: a later event is made to arrive at another subscription
 * first. The dispatcher queues deliveries in feed order, so by then every delivery of the earlier events
 * has been queued, and the subscription's delivery counts say whether one was.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import {
  CANTEEN,
  CARD_BUREAU,
  cardPayload,
  OTHER_UNIVERSITY,
  personPayload,
  UNIVERSITY,
} from "../support/fixtures.ts";
import { fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";
import { WebhookReceiver } from "../support/webhook-receiver.ts";

const FAST = {
  OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true",
  OPENESC_EVENT_POLL_MS: "50",
  OPENESC_WEBHOOK_RETRY_BASE_MS: "20",
  OPENESC_WEBHOOK_RETRY_MAX_MS: "100",
};

const esi = (tag: string) => `urn:schac:personalUniqueCode:int:esi:fr:audience-${tag}`;

type Received = ReturnType<WebhookReceiver["events"]>[number];

/** One webhook subscription with its own loopback receiver. */
interface Subscriber {
  readonly id: string;
  readonly token: string;
  readonly receiver: WebhookReceiver;
  events(): Received[];
  /** `type subject` of each event received, in arrival order, `eu.openesc.` left out. */
  seen(): string[];
}

describe("webhook audience: tenant walls, projections and filters", () => {
  let hub: TestHub;
  let university: string;
  let otherUniversity: string;
  let bureau: string;
  let canteen: string;
  let made: Subscriber[] = [];

  before(async () => {
    hub = await startTestHub({ delivery: true, env: FAST });
    university = await hub.onboard(UNIVERSITY);
    otherUniversity = await hub.onboard(OTHER_UNIVERSITY);
    bureau = await hub.onboard(CARD_BUREAU);
    canteen = await hub.onboard(CANTEEN);
  });
  after(() => hub.close());
  // Each case's subscriptions go with it, so that nothing of one case reaches another's receivers.
  afterEach(async () => {
    for (const s of made) {
      await hub.request({ method: "DELETE", url: `/v1/subscriptions/${s.id}`, token: s.token });
      await s.receiver.close();
    }
    made = [];
  });

  async function subscribe(token: string, body: Record<string, unknown> = {}): Promise<Subscriber> {
    const receiver = new WebhookReceiver();
    const url = await receiver.start();
    const created = await hub.request({
      method: "POST",
      url: "/v1/subscriptions",
      token,
      payload: { url, ...body },
    });
    assert.equal(created.statusCode, 201, created.body);
    const subscriber: Subscriber = {
      id: created.json().id,
      token,
      receiver,
      events: () => receiver.events(),
      seen: () => receiver.events().map((e) => `${e.type.replace("eu.openesc.", "")} ${e.subject}`),
    };
    made.push(subscriber);
    return subscriber;
  }

  /** How many deliveries the hub has queued for the subscription, whatever their state. */
  async function queued(s: Subscriber): Promise<number> {
    const res = await hub.request({ method: "GET", url: `/v1/subscriptions/${s.id}`, token: s.token });
    assert.equal(res.statusCode, 200, res.body);
    const { pending, delivered, dead } = res.json().deliveries;
    return pending + delivered + dead;
  }

  /** Waits until `s` has received an event matching `type subject`. */
  function arrives(s: Subscriber, expected: string): Promise<void> {
    return eventually(() => assert.ok(s.seen().includes(expected), `${expected} not in ${s.seen()}`));
  }

  /**
   * Once a later event has arrived elsewhere: `s` received exactly `expected` (in any order across
   * subjects), and nothing more is queued for it.
   */
  async function receivedExactly(s: Subscriber, expected: string[]): Promise<void> {
    await eventually(async () => {
      assert.deepEqual([...s.seen()].sort(), [...expected].sort());
      assert.equal(await queued(s), expected.length, "deliveries queued");
    });
  }

  async function addPerson(token: string, person: string, organisation: string): Promise<void> {
    const res = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/persons",
      token,
      payload: personPayload(person, organisation),
    });
    assert.equal(res.statusCode, 201, res.body);
  }

  async function addCard(
    token: string,
    person: string,
    issuer: string,
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const res = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/cards",
      token,
      payload: cardPayload(person, issuer, extra),
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().cardNumber;
  }

  async function setCard(token: string, escn: string, status: "ACTIVE" | "INACTIVE"): Promise<void> {
    const res = await hub.request({
      method: "PATCH",
      url: `/v1/cards/${escn}`,
      token,
      payload: status === "ACTIVE" ? { status, inactiveReason: null } : { status, inactiveReason: "lost" },
    });
    assert.equal(res.statusCode, 200, res.body);
  }

  async function putStatus(token: string, organisation: string, person: string): Promise<void> {
    const res = await hub.request({
      method: "PUT",
      url: `/v1/student-statuses/${organisation}/${encodeURIComponent(person)}`,
      token,
      payload: { state: "enrolled", validFrom: "2026-09-01", validUntil: "2027-08-31" },
    });
    assert.ok(res.statusCode === 201 || res.statusCode === 200, res.body);
  }

  it("sends person and status events only to the organisation linked to the person", async () => {
    const ours = await subscribe(university);
    const theirs = await subscribe(otherUniversity);
    const student = esi("walled");
    await addPerson(university, student, UNIVERSITY.id);
    await putStatus(university, UNIVERSITY.id, student);
    // The other university's own student: it arrives there, after ours in the feed.
    const theirStudent = esi("theirs");
    await addPerson(otherUniversity, theirStudent, OTHER_UNIVERSITY.id);
    await arrives(theirs, `person.linked ${theirStudent}`);

    await receivedExactly(theirs, [`person.linked ${theirStudent}`]);
    await receivedExactly(ours, [`person.linked ${student}`, `student-status.changed ${student}`]);
    for (const request of theirs.receiver.received) assert.ok(!request.body.includes(student));
    const status = ours.events().find((e) => e.type === "eu.openesc.student-status.changed");
    assert.deepEqual(status?.data, {
      esi: student,
      organisation: UNIVERSITY.id,
      state: "enrolled",
      validFrom: "2026-09-01",
      validUntil: "2027-08-31",
    });
  });

  it("gives each organisation linked to the same student its own link's events, and both the consents", async () => {
    const ours = await subscribe(university);
    const theirs = await subscribe(otherUniversity);
    const printer = await subscribe(bureau);
    const exchange = esi("exchange");
    await addPerson(university, exchange, UNIVERSITY.id);
    await addPerson(otherUniversity, exchange, OTHER_UNIVERSITY.id);
    await putStatus(university, UNIVERSITY.id, exchange);
    await putStatus(otherUniversity, OTHER_UNIVERSITY.id, exchange);
    const consent = await hub.request({
      method: "PUT",
      url: `/v1/persons/${encodeURIComponent(exchange)}/consents/status-sharing`,
      token: university,
      payload: { wordingVersion: "2026-11" },
    });
    assert.equal(consent.statusCode, 201, consent.body);
    await arrives(ours, `consent.given ${exchange}`);
    await arrives(theirs, `consent.given ${exchange}`);

    const expected = [
      `person.linked ${exchange}`,
      `student-status.changed ${exchange}`,
      `consent.given ${exchange}`,
    ];
    await receivedExactly(ours, expected);
    await receivedExactly(theirs, expected);
    for (const [subscriber, organisation] of [
      [ours, UNIVERSITY.id],
      [theirs, OTHER_UNIVERSITY.id],
    ] as const) {
      for (const event of subscriber.events().filter((e) => !e.type.endsWith("consent.given"))) {
        assert.equal(event.data["organisation"], organisation, `${event.type} of its own link`);
      }
    }
    // A card bureau prints cards; it hears nothing of a person.
    await receivedExactly(printer, []);
  });

  it("sends card events in full to the issuer and to the card bureau named as processor", async () => {
    const ours = await subscribe(university, { types: ["card.created", "card.updated"] });
    const printer = await subscribe(bureau);
    const theirs = await subscribe(otherUniversity);
    const holder = esi("printed");
    await addPerson(university, holder, UNIVERSITY.id);
    const escn = await addCard(university, holder, UNIVERSITY.id, { processorIdentifier: CARD_BUREAU.id });
    await setCard(university, escn, "INACTIVE");
    await arrives(printer, `card.updated ${escn}`);
    await arrives(ours, `card.updated ${escn}`);
    // The other university's own change reaches it after ours.
    const theirHolder = esi("printed-theirs");
    await addPerson(otherUniversity, theirHolder, OTHER_UNIVERSITY.id);
    await arrives(theirs, `person.linked ${theirHolder}`);

    const expected = [`card.created ${escn}`, `card.updated ${escn}`];
    await receivedExactly(ours, expected);
    await receivedExactly(printer, expected);
    await receivedExactly(theirs, [`person.linked ${theirHolder}`]);
    const update = printer.events().find((e) => e.type === "eu.openesc.card.updated");
    assert.deepEqual(update?.data, {
      escn,
      issuer: UNIVERSITY.id,
      status: "INACTIVE",
      inactiveReason: "lost",
      expiresAt: "2030-08-31",
      version: 2,
    });
  });

  it("sends a service provider only the public status of the cards it follows, and nothing of persons", async () => {
    const holder = esi("canteen");
    await addPerson(university, holder, UNIVERSITY.id);
    const followed = await addCard(university, holder, UNIVERSITY.id, {
      processorIdentifier: CARD_BUREAU.id,
    });
    const unfollowed = await addCard(university, holder, UNIVERSITY.id);
    const diner = await subscribe(canteen, { cards: [followed] });
    const ours = await subscribe(university);

    await setCard(university, followed, "INACTIVE");
    await setCard(university, unfollowed, "INACTIVE");
    await putStatus(university, UNIVERSITY.id, holder);
    const renamed = await hub.request({
      method: "PUT",
      url: `/esc-rest/api/v2/persons/${encodeURIComponent(holder)}`,
      token: university,
      payload: personPayload(holder, UNIVERSITY.id, { fullName: "Jeanne Autre" }),
    });
    assert.equal(renamed.statusCode, 200, renamed.body);
    await setCard(university, followed, "ACTIVE");
    await arrives(diner, `card.updated ${followed}`);
    await eventually(() => assert.equal(diner.events().length, 2));
    await arrives(ours, `card.updated ${unfollowed}`);

    await receivedExactly(diner, [`card.updated ${followed}`, `card.updated ${followed}`]);
    assert.deepEqual(
      diner.events().map((e) => e.data),
      [
        { escn: followed, status: "INACTIVE", expiresAt: "2030-08-31" },
        { escn: followed, status: "ACTIVE", expiresAt: "2030-08-31" },
      ],
    );
    for (const request of diner.receiver.received) {
      assert.doesNotMatch(
        request.body,
        /"issuer"|"inactiveReason"|"lost"|"version"|personalUniqueCode|Jeanne/,
      );
      assert.ok(!request.body.includes(holder));
      assert.ok(!request.body.includes(unfollowed));
    }
    // The issuer got all of it, in full.
    assert.ok(ours.seen().includes(`student-status.changed ${holder}`));
    assert.ok(ours.seen().includes(`person.updated ${holder}`));
    const full = ours.events().find((e) => e.subject === followed);
    assert.equal(full?.data["inactiveReason"], "lost");
    assert.equal(full?.data["issuer"], UNIVERSITY.id);
  });

  it("applies a grown or shrunk card set to the events that follow", async () => {
    const holder = esi("card-set");
    await addPerson(university, holder, UNIVERSITY.id);
    const first = await addCard(university, holder, UNIVERSITY.id);
    const second = await addCard(university, holder, UNIVERSITY.id);
    const diner = await subscribe(canteen, { cards: [first] });
    // The issuer may narrow its own subscription to a card set too.
    const ours = await subscribe(university, { cards: [second], types: ["card.updated"] });

    await setCard(university, second, "INACTIVE");
    await setCard(university, first, "INACTIVE");
    await arrives(diner, `card.updated ${first}`);
    await receivedExactly(diner, [`card.updated ${first}`]);
    await receivedExactly(ours, [`card.updated ${second}`]);

    const changed = await hub.request({
      method: "POST",
      url: `/v1/subscriptions/${diner.id}/cards`,
      token: canteen,
      payload: { add: [second], remove: [first] },
    });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.deepEqual(changed.json(), { added: 1, removed: 1, cards: 1 });

    await setCard(university, first, "ACTIVE");
    await setCard(university, second, "ACTIVE");
    await arrives(diner, `card.updated ${second}`);
    await receivedExactly(diner, [`card.updated ${first}`, `card.updated ${second}`]);
    await receivedExactly(ours, [`card.updated ${second}`, `card.updated ${second}`]);
    assert.equal(ours.events()[1]?.data["inactiveReason"], null, "in full: the issuer's own card");
    assert.deepEqual(
      diner.events().map((e) => [e.subject, e.data["status"]]),
      [
        [first, "INACTIVE"],
        [second, "ACTIVE"],
      ],
    );
  });

  it("filters by type, in the short and the CloudEvents form, and by issuer", async () => {
    const short = await subscribe(university, { types: ["card.updated"] });
    const long = await subscribe(university, { types: ["eu.openesc.card.updated"] });
    const everything = await subscribe(university);
    const printerOfOurs = await subscribe(bureau, { issuer: UNIVERSITY.id });
    const printer = await subscribe(bureau);

    const theirHolder = esi("filters-theirs");
    await addPerson(otherUniversity, theirHolder, OTHER_UNIVERSITY.id);
    const theirCard = await addCard(otherUniversity, theirHolder, OTHER_UNIVERSITY.id, {
      processorIdentifier: CARD_BUREAU.id,
    });
    await setCard(otherUniversity, theirCard, "INACTIVE");
    const holder = esi("filters");
    await addPerson(university, holder, UNIVERSITY.id);
    const ourCard = await addCard(university, holder, UNIVERSITY.id, { processorIdentifier: CARD_BUREAU.id });
    await setCard(university, ourCard, "INACTIVE");
    await arrives(everything, `card.updated ${ourCard}`);
    await arrives(printer, `card.updated ${ourCard}`);

    await receivedExactly(short, [`card.updated ${ourCard}`]);
    await receivedExactly(long, [`card.updated ${ourCard}`]);
    await receivedExactly(everything, [
      `person.linked ${holder}`,
      `card.created ${ourCard}`,
      `card.updated ${ourCard}`,
    ]);
    await receivedExactly(printer, [
      `card.created ${theirCard}`,
      `card.updated ${theirCard}`,
      `card.created ${ourCard}`,
      `card.updated ${ourCard}`,
    ]);
    await receivedExactly(printerOfOurs, [`card.created ${ourCard}`, `card.updated ${ourCard}`]);
  });

  it("sends a paused subscription nothing, and resumes with the events after it is active again", async () => {
    const holder = esi("paused");
    await addPerson(university, holder, UNIVERSITY.id);
    const escn = await addCard(university, holder, UNIVERSITY.id);
    const sleeper = await subscribe(university, { types: ["card.updated"] });
    const witness = await subscribe(university, { types: ["card.updated"] });
    const pause = await hub.request({
      method: "PATCH",
      url: `/v1/subscriptions/${sleeper.id}`,
      token: university,
      payload: { state: "paused" },
    });
    assert.equal(pause.statusCode, 200, pause.body);
    assert.equal(pause.json().state, "paused");

    await setCard(university, escn, "INACTIVE");
    await eventually(() => assert.equal(witness.events().length, 1));
    await receivedExactly(sleeper, []);

    const resume = await hub.request({
      method: "PATCH",
      url: `/v1/subscriptions/${sleeper.id}`,
      token: university,
      payload: { state: "active" },
    });
    assert.equal(resume.json().state, "active");
    await setCard(university, escn, "ACTIVE");
    await arrives(sleeper, `card.updated ${escn}`);
    await eventually(() => assert.equal(witness.events().length, 2));
    await receivedExactly(sleeper, [`card.updated ${escn}`]);
    assert.equal(sleeper.events()[0]?.data["status"], "ACTIVE", "the change made while paused never comes");
  });

  it("does not send a new subscription the events committed before it was made", async () => {
    const holder = esi("late");
    const witness = await subscribe(university);
    await addPerson(university, holder, UNIVERSITY.id);
    const escn = await addCard(university, holder, UNIVERSITY.id);
    await setCard(university, escn, "INACTIVE");
    await arrives(witness, `card.updated ${escn}`);

    const late = await subscribe(university);
    await setCard(university, escn, "ACTIVE");
    await arrives(late, `card.updated ${escn}`);
    await eventually(() => assert.equal(witness.events().length, 4));
    await receivedExactly(late, [`card.updated ${escn}`]);
    assert.equal(late.events()[0]?.data["version"], 3);
  });

  it("stops sending to a deleted subscription", async () => {
    const holder = esi("deleted");
    await addPerson(university, holder, UNIVERSITY.id);
    const escn = await addCard(university, holder, UNIVERSITY.id);
    const leaving = await subscribe(university, { types: ["card.updated"] });
    const witness = await subscribe(university, { types: ["card.updated"] });
    await setCard(university, escn, "INACTIVE");
    await arrives(leaving, `card.updated ${escn}`);
    await eventually(() => assert.equal(witness.events().length, 1));

    const gone = await hub.request({
      method: "DELETE",
      url: `/v1/subscriptions/${leaving.id}`,
      token: university,
    });
    assert.equal(gone.statusCode, 204, gone.body);
    made = made.filter((s) => s !== leaving);
    await setCard(university, escn, "ACTIVE");
    await eventually(() => assert.equal(witness.events().length, 2));
    // One more round trip: whatever was claimed with the witness's delivery has been sent by now.
    await setCard(university, escn, "INACTIVE");
    await eventually(() => assert.equal(witness.events().length, 3));
    assert.equal(leaving.receiver.received.length, 1);
    await leaving.receiver.close();
  });
});

describe("webhook audience: a subscription made while earlier events wait to be dispatched", () => {
  // The background loops are off: the dispatcher runs when the test says, so the subscription is surely
  // made before the dispatcher reaches the earlier event (with them on, that is a race).
  const clock = fixedClock("2027-01-11T09:00:00.000Z");
  let hub: TestHub;
  let university: string;

  before(async () => {
    hub = await startTestHub({ clock, env: FAST });
    university = await hub.onboard(UNIVERSITY);
  });
  after(() => hub.close());

  const tick = () => clock.set(new Date(clock.now().getTime() + 1000).toISOString());

  it("queues for it only the events committed after it was made", async () => {
    const holder = esi("queued-late");
    const person = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/persons",
      token: university,
      payload: personPayload(holder, UNIVERSITY.id),
    });
    assert.equal(person.statusCode, 201, person.body);
    tick();
    const created = await hub.request({
      method: "POST",
      url: "/v1/subscriptions",
      token: university,
      payload: { url: "http://127.0.0.1:9/hook" },
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    tick();
    const card = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/cards",
      token: university,
      payload: cardPayload(holder, UNIVERSITY.id),
    });
    assert.equal(card.statusCode, 201, card.body);

    const events = await hub.services.storage.read.outbox.readAfter(0, 1000);
    await hub.services.delivery.dispatcher.handle(events);
    const queued = await hub.request({
      method: "GET",
      url: `/v1/subscriptions/${id}/deliveries`,
      token: university,
    });
    assert.equal(queued.statusCode, 200, queued.body);
    const cardCreated = events.find((e) => e.type === "card.created");
    assert.deepEqual(
      queued.json().items.map((d: { sequence: string }) => d.sequence),
      [String(cardCreated?.position)],
      "the card.created, not the person.linked before it",
    );
  });
});
