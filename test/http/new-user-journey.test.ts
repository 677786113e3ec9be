import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { cardPayload, ESI, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { ADMIN_TOKEN, startTestHub, type TestHub } from "../support/test-hub.ts";
import { WebhookReceiver } from "../support/webhook-receiver.ts";

describe("a new user's first steps, as the README tells them", () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(() => hub.close());

  it("onboards an organisation, makes a token, creates a person and a card, and reads the public status", async () => {
    const created = await hub.request({
      method: "POST",
      url: "/v1/organisations",
      token: ADMIN_TOKEN,
      payload: UNIVERSITY,
    });
    assert.equal(created.statusCode, 201, created.body);
    const tokenAnswer = await hub.request({
      method: "POST",
      url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
      token: ADMIN_TOKEN,
      payload: { name: "student information system" },
    });
    assert.equal(tokenAnswer.statusCode, 201, tokenAnswer.body);
    const token = tokenAnswer.json().token as string;
    assert.match(token, /^oesc_/);

    const person = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/persons",
      token,
      payload: personPayload(ESI, UNIVERSITY.id),
    });
    assert.equal(person.statusCode, 201, person.body);
    assert.equal(person.json().identifier, ESI);
    assert.equal(person.json().organisations[0].organisation.identifier, UNIVERSITY.id);

    const card = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/cards",
      token,
      payload: cardPayload(ESI, UNIVERSITY.id),
    });
    assert.equal(card.statusCode, 201, card.body);
    const escn = card.json().cardNumber as string;
    assert.match(escn, /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-001999888777$/);
    assert.deepEqual(card.json().cardStatusType, { key: "ACTIVE", label: "Active" });
    assert.equal(card.json().person.fullName, "Jeanne Exemple");

    const status = await hub.request({ method: "GET", url: `/esc-rest/api/v2/cards/${escn}/status` });
    assert.equal(status.statusCode, 200, status.body);
    assert.deepEqual(status.json(), {
      cardNumber: escn,
      issuedAt: "2026-09-01",
      expiresAt: "2030-08-31",
      issuerIdentifier: UNIVERSITY.id,
      issuerName: UNIVERSITY.name,
      status: "ACTIVE",
    });
  });
});

describe("a new user hears of a change through a webhook, as the README tells them", () => {
  let hub: TestHub;
  const receiver = new WebhookReceiver();
  before(async () => {
    hub = await startTestHub({ delivery: true, env: { OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true" } });
  });
  after(async () => {
    await hub.close();
    await receiver.close();
  });

  it("subscribes a local receiver, reports the card lost, and receives the signed CloudEvent", async () => {
    const token = await hub.onboard(UNIVERSITY);
    const url = await receiver.start();
    const post = (path: string, payload: object) =>
      hub.request({ method: "POST", url: path, token, payload });
    assert.equal((await post("/esc-rest/api/v2/persons", personPayload(ESI, UNIVERSITY.id))).statusCode, 201);
    const card = await post("/esc-rest/api/v2/cards", cardPayload(ESI, UNIVERSITY.id));
    const escn = card.json().cardNumber as string;
    const subscribed = await post("/v1/subscriptions", { url, types: ["card.updated"] });
    assert.equal(subscribed.statusCode, 201, subscribed.body);
    const secret = subscribed.json().secret as string;

    const lost = await hub.request({
      method: "PATCH",
      url: `/v1/cards/${escn}`,
      token,
      payload: { status: "INACTIVE", inactiveReason: "lost" },
    });
    assert.equal(lost.statusCode, 200, lost.body);
    await receiver.waitFor(1);
    const [request] = receiver.received;
    assert.ok(request);
    const event = new Webhook(secret).verify(request.body, {
      "webhook-id": String(request.headers["webhook-id"]),
      "webhook-timestamp": String(request.headers["webhook-timestamp"]),
      "webhook-signature": String(request.headers["webhook-signature"]),
    }) as { type: string; subject: string; data: Record<string, unknown> };
    assert.equal(event.type, "eu.openesc.card.updated");
    assert.equal(event.subject, escn);
    assert.equal(event.data["status"], "INACTIVE");
    assert.equal(event.data["inactiveReason"], "lost");

    // The same event is in the feed, for whoever missed the webhook.
    const feed = await hub.request({ method: "GET", url: "/v1/events?after=0", token });
    assert.ok(feed.json().items.some((e: { id: string }) => e.id === request.headers["webhook-id"]));
  });
});
