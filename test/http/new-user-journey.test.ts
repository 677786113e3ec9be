import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cardPayload, ESI, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { ADMIN_TOKEN, startTestHub, type TestHub } from "../support/test-hub.ts";

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
