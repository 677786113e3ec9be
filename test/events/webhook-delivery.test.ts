import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { eventually } from "../support/eventually.ts";
import { CANTEEN, cardPayload, ESI, ESI_2, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";
import { WebhookReceiver } from "../support/webhook-receiver.ts";

const FAST = {
  OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true",
  OPENESC_EVENT_POLL_MS: "50",
  OPENESC_WEBHOOK_RETRY_BASE_MS: "20",
  OPENESC_WEBHOOK_RETRY_MAX_MS: "100",
};

async function subscribe(hub: TestHub, token: string, body: Record<string, unknown>) {
  const created = await hub.request({ method: "POST", url: "/v1/subscriptions", token, payload: body });
  assert.equal(created.statusCode, 201, created.body);
  return created.json<{ id: string; secret: string }>();
}

async function newCard(hub: TestHub, token: string, esi = ESI): Promise<string> {
  const person = await hub.request({
    method: "POST",
    url: "/esc-rest/api/v2/persons",
    token,
    payload: personPayload(esi, UNIVERSITY.id),
  });
  assert.ok(person.statusCode === 201 || person.statusCode === 409, person.body);
  const card = await hub.request({
    method: "POST",
    url: "/esc-rest/api/v2/cards",
    token,
    payload: cardPayload(esi, UNIVERSITY.id),
  });
  assert.equal(card.statusCode, 201, card.body);
  return card.json().cardNumber;
}

async function setCardStatus(hub: TestHub, token: string, escn: string, status: "ACTIVE" | "INACTIVE") {
  const answer = await hub.request({
    method: "PATCH",
    url: `/v1/cards/${escn}`,
    token,
    payload: status === "ACTIVE" ? { status, inactiveReason: null } : { status, inactiveReason: "lost" },
  });
  assert.equal(answer.statusCode, 200, answer.body);
}

async function subscriptionOf(hub: TestHub, token: string, id: string) {
  const answer = await hub.request({ method: "GET", url: `/v1/subscriptions/${id}`, token });
  assert.equal(answer.statusCode, 200, answer.body);
  return answer.json();
}

describe("webhooks: signed CloudEvents, at least once", () => {
  let hub: TestHub;
  let university: string;
  let canteen: string;
  const receiver = new WebhookReceiver();
  let url: string;

  before(async () => {
    hub = await startTestHub({ delivery: true, env: FAST });
    university = await hub.onboard(UNIVERSITY);
    canteen = await hub.onboard(CANTEEN);
    url = await receiver.start();
  });
  after(async () => {
    await hub.close();
    await receiver.close();
  });

  it("delivers a card change as a CloudEvent signed per Standard Webhooks, with no personal data", async () => {
    const { secret, id } = await subscribe(hub, university, {
      url,
      types: ["card.created", "eu.openesc.card.updated"],
    });
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const escn = await newCard(hub, university);
    await receiver.waitFor(1);
    const [first] = receiver.received;
    assert.ok(first);
    assert.equal(first.headers["content-type"], "application/cloudevents+json");
    const headers = {
      "webhook-id": String(first.headers["webhook-id"]),
      "webhook-timestamp": String(first.headers["webhook-timestamp"]),
      "webhook-signature": String(first.headers["webhook-signature"]),
    };
    const event = new Webhook(secret).verify(first.body, headers) as Record<string, unknown>;
    assert.equal(event["specversion"], "1.0");
    assert.equal(event["type"], "eu.openesc.card.created");
    assert.equal(event["subject"], escn);
    assert.equal(event["id"], headers["webhook-id"]);
    assert.equal(event["source"], "https://hub.example.org/v1/events");
    assert.deepEqual(Object.keys(event["data"] as object).sort(), [
      "escn",
      "expiresAt",
      "inactiveReason",
      "issuer",
      "status",
      "version",
    ]);
    // The signature scheme, checked without the library: HMAC-SHA256 of "id.timestamp.body".
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const mac = createHmac("sha256", key)
      .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${first.body}`)
      .digest("base64");
    assert.ok(headers["webhook-signature"].split(" ").includes(`v1,${mac}`));
    assert.doesNotMatch(first.body, /Exemple|jeanne@example\.org|personalUniqueCode/);

    const detail = await eventually(async () => {
      const found = await subscriptionOf(hub, university, id);
      assert.equal(found.lastStatus, 200);
      return found;
    });
    assert.equal(detail.secret, undefined, "the secret is shown once");
    assert.equal(detail.lastError, null);
    assert.equal(detail.deliveries.delivered, 1);
    // The filter held: person.linked was not delivered.
    assert.deepEqual(
      receiver.events().map((e) => e.type),
      ["eu.openesc.card.created"],
    );
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("another organisation cannot see, change or delete the subscription", async () => {
    const { id } = await subscribe(hub, university, { url });
    for (const [method, path, payload] of [
      ["GET", `/v1/subscriptions/${id}`, undefined],
      ["PATCH", `/v1/subscriptions/${id}`, { state: "paused" }],
      ["DELETE", `/v1/subscriptions/${id}`, undefined],
      ["POST", `/v1/subscriptions/${id}/cards`, { add: [] }],
      ["GET", `/v1/subscriptions/${id}/deliveries`, undefined],
      ["POST", `/v1/subscriptions/${id}/redeliver`, undefined],
    ] as const) {
      const answer = await hub.request({
        method,
        url: path,
        token: canteen,
        ...(payload ? { payload } : {}),
      });
      assert.equal(answer.statusCode, 404, `${method} ${path}: ${answer.body}`);
      assert.equal(answer.json().code, "SUBSCRIPTION_NOT_FOUND");
    }
    const list = await hub.request({ method: "GET", url: "/v1/subscriptions", token: canteen });
    assert.deepEqual(list.json().items, []);
    assert.equal((await subscriptionOf(hub, university, id)).state, "active");
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("keeps each subject's events in order while retrying failures", async () => {
    const ordered = new WebhookReceiver();
    const orderedUrl = await ordered.start();
    try {
      // Every third request fails: the failed event is retried before any later event of its card.
      let n = 0;
      ordered.fallback = (response) => response.writeHead(++n % 3 === 0 ? 503 : 200).end();
      await subscribe(hub, university, { url: orderedUrl, types: ["card.updated"] });
      const escn = await newCard(hub, university, ESI_2);
      for (let i = 0; i < 10; i++)
        await setCardStatus(hub, university, escn, i % 2 === 0 ? "INACTIVE" : "ACTIVE");
      await eventually(() => {
        const accepted = ordered.received.filter((_, i) => (i + 1) % 3 !== 0);
        assert.equal(accepted.length, 10);
      });
      const accepted = ordered.received.filter((_, i) => (i + 1) % 3 !== 0).map((r) => JSON.parse(r.body));
      const versions = accepted.map((e) => e.data.version);
      assert.deepEqual(
        versions,
        [...versions].sort((a, b) => a - b),
        "per-subject order held",
      );
      assert.equal(new Set(accepted.map((e) => e.id)).size, 10, "each event accepted once");
    } finally {
      await ordered.close();
    }
  });

  it("does not let a hanging subscriber hold up the others", async () => {
    const hanging = new WebhookReceiver();
    hanging.fallback = () => undefined; // accepts the request, never answers
    const prompt = new WebhookReceiver();
    const [hangingUrl, promptUrl] = await Promise.all([hanging.start(), prompt.start()]);
    try {
      await subscribe(hub, university, { url: hangingUrl, types: ["card.updated"] });
      await subscribe(hub, university, { url: promptUrl, types: ["card.updated"] });
      const escns: string[] = [];
      for (let i = 0; i < 3; i++) {
        const esi = `urn:schac:personalUniqueCode:int:esi:fr:hang${i}`;
        escns.push(await newCard(hub, university, esi));
      }
      for (const escn of escns) await setCardStatus(hub, university, escn, "INACTIVE");
      // The webhook timeout is 10 s: the prompt subscriber must have everything long before.
      await prompt.waitFor(3, 5000);
    } finally {
      await hanging.close();
      await prompt.close();
    }
  });
});

describe("webhooks: retries, the dead-letter list and redelivery", () => {
  const clock = fixedClock("2026-11-02T09:00:00.000Z");
  let hub: TestHub;
  let university: string;
  let receiver: WebhookReceiver;
  let url: string;

  before(async () => {
    hub = await startTestHub({
      clock,
      delivery: true,
      env: {
        OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true",
        OPENESC_EVENT_POLL_MS: "20",
        OPENESC_WEBHOOK_RETRY_BASE_MS: "60000",
        OPENESC_WEBHOOK_RETRY_HORIZON_MS: "1800000",
        OPENESC_WEBHOOK_TIMEOUT_MS: "300",
      },
    });
    university = await hub.onboard(UNIVERSITY);
  });
  after(() => hub.close());
  // Each case has its own subscriber, so that one case's leftovers never reach another's.
  beforeEach(async () => {
    receiver = new WebhookReceiver();
    url = await receiver.start();
  });
  afterEach(() => receiver.close());
  const advance = (ms: number) => clock.set(new Date(clock.now().getTime() + ms).toISOString());
  /** Waits until the subscription's only delivery has `attempts` recorded attempts (the outcome is stored). */
  const recorded = (id: string, attempts: number) =>
    eventually(async () => {
      const page = await hub.request({
        method: "GET",
        url: `/v1/subscriptions/${id}/deliveries`,
        token: university,
      });
      const [delivery] = page.json().items;
      assert.equal(delivery?.attempts, attempts, page.body);
      return delivery;
    });

  it("retries a failed delivery with the same webhook-id and a fresh timestamp", async () => {
    receiver.script(500, 429, 408);
    const { id, secret } = await subscribe(hub, university, { url, types: ["card.created"] });
    await newCard(hub, university, "urn:schac:personalUniqueCode:int:esi:fr:retry1");
    await receiver.waitFor(1);
    await recorded(id, 1);
    // Not yet due: no second attempt while the clock stands still.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(receiver.received.length, 1);
    const first = await subscriptionOf(hub, university, id);
    assert.equal(first.lastStatus, 500);
    assert.equal(first.lastError, "answered 500");
    for (let attempt = 2; attempt <= 4; attempt++) {
      advance(2 ** (attempt - 1) * 60_000);
      await receiver.waitFor(attempt);
      await recorded(id, attempt);
    }
    const ids = new Set(receiver.received.map((r) => r.headers["webhook-id"]));
    assert.equal(ids.size, 1, "one webhook-id for every attempt");
    const stamps = receiver.received.map((r) => Number(r.headers["webhook-timestamp"]));
    assert.ok(
      stamps.every((s, i) => i === 0 || s > (stamps[i - 1] ?? 0)),
      `fresh timestamps: ${stamps}`,
    );
    // Each attempt's signature covers its own timestamp (checked by hand: the hub's clock is not today's,
    // so the library's five-minute tolerance would refuse these).
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    for (const request of receiver.received) {
      const mac = createHmac("sha256", key)
        .update(`${request.headers["webhook-id"]}.${request.headers["webhook-timestamp"]}.${request.body}`)
        .digest("base64");
      assert.equal(request.headers["webhook-signature"], `v1,${mac}`);
    }
    await eventually(async () =>
      assert.equal((await subscriptionOf(hub, university, id)).deliveries.delivered, 1),
    );
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("sends a 4xx refusal straight to the dead-letter list, and redelivers it on request", async () => {
    receiver.script(400);
    const { id } = await subscribe(hub, university, { url, types: ["card.created"] });
    await newCard(hub, university, "urn:schac:personalUniqueCode:int:esi:fr:dead1");
    await receiver.waitFor(1);
    const dead = await eventually(async () => {
      const page = await hub.request({
        method: "GET",
        url: `/v1/subscriptions/${id}/deliveries?state=dead`,
        token: university,
      });
      assert.equal(page.json().items.length, 1, page.body);
      return page.json().items[0];
    });
    assert.equal(dead.lastStatus, 400);
    assert.equal(dead.attempts, 1);
    advance(3_600_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(receiver.received.length, 1, "not retried");

    const again = await hub.request({
      method: "POST",
      url: `/v1/subscriptions/${id}/deliveries/${dead.id}/redeliver`,
      token: university,
    });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().redelivered, 1);
    await receiver.waitFor(2);
    assert.equal(receiver.received[1]?.headers["webhook-id"], receiver.received[0]?.headers["webhook-id"]);
    await eventually(async () =>
      assert.equal((await subscriptionOf(hub, university, id)).deliveries.delivered, 1),
    );
    const missing = await hub.request({
      method: "POST",
      url: `/v1/subscriptions/${id}/deliveries/999999/redeliver`,
      token: university,
    });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, "DELIVERY_NOT_FOUND");
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("gives up after the retry horizon, then redelivers every dead delivery at once", async () => {
    receiver.fallback = 503;
    const { id } = await subscribe(hub, university, { url, types: ["card.created"] });
    await newCard(hub, university, "urn:schac:personalUniqueCode:int:esi:fr:horizon1");
    await receiver.waitFor(1);
    await recorded(id, 1);
    for (let i = 0; i < 20; i++) {
      const before = receiver.received.length;
      advance(120_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (receiver.received.length > before) await recorded(id, receiver.received.length);
    }
    const found = await eventually(async () => {
      const detail = await subscriptionOf(hub, university, id);
      assert.equal(detail.deliveries.dead, 1, JSON.stringify(detail));
      return detail;
    });
    assert.match(found.lastError, /answered 503; retry horizon reached/);
    const attempts = receiver.received.length;
    // Backoff doubles from 1 minute (with jitter): a handful of attempts fit in the 30-minute horizon.
    assert.ok(attempts >= 4 && attempts <= 10, `attempts within the horizon: ${attempts}`);
    receiver.fallback = 200;
    const again = await hub.request({
      method: "POST",
      url: `/v1/subscriptions/${id}/redeliver`,
      token: university,
    });
    assert.equal(again.json().redelivered, 1);
    await receiver.waitFor(attempts + 1);
    await eventually(async () =>
      assert.equal((await subscriptionOf(hub, university, id)).deliveries.delivered, 1),
    );
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("cuts off a subscriber that accepts and never answers, and says so", async () => {
    receiver.fallback = () => undefined; // reads the request, never answers
    const { id } = await subscribe(hub, university, { url, types: ["card.created"] });
    await newCard(hub, university, "urn:schac:personalUniqueCode:int:esi:fr:hang-visible");
    await receiver.waitFor(1);
    const attempt = await recorded(id, 1);
    assert.equal(attempt.lastStatus, null);
    assert.match(attempt.lastError, /no complete answer within 300 ms/);
    assert.equal(attempt.state, "pending", "tried again later");
    const detail = await subscriptionOf(hub, university, id);
    assert.match(detail.lastError, /no complete answer within 300 ms/);
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("reports a redirect it did not follow, and an answer that is not HTTP", async () => {
    receiver.fallback = 200;
    receiver.script(
      (response) => response.writeHead(302, { location: "http://elsewhere.example/hook" }).end(),
      (response) => response.socket?.end("garbage\r\n\r\n"),
    );
    const { id } = await subscribe(hub, university, { url, types: ["card.created"] });
    await newCard(hub, university, "urn:schac:personalUniqueCode:int:esi:fr:redirect1");
    await receiver.waitFor(1);
    await recorded(id, 1);
    const redirected = await eventually(async () => {
      const detail = await subscriptionOf(hub, university, id);
      assert.equal(detail.lastStatus, 302);
      return detail;
    });
    assert.match(redirected.lastError, /redirects are not followed \(to http:\/\/elsewhere\.example\/hook\)/);
    advance(180_000);
    await receiver.waitFor(2);
    await recorded(id, 2);
    const garbled = await eventually(async () => {
      const detail = await subscriptionOf(hub, university, id);
      assert.equal(detail.lastStatus, null);
      assert.notEqual(detail.lastError, null);
      return detail;
    });
    assert.ok(garbled.lastError.length > 0);
    advance(180_000);
    await receiver.waitFor(3);
    await eventually(async () =>
      assert.equal((await subscriptionOf(hub, university, id)).deliveries.delivered, 1),
    );
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });
});
