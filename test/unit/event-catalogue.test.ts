import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { cloudEventSchema, EVENT_CATALOGUE, type EventData } from "../../src/delivery/event-catalogue.ts";
import { type CloudEvent, toCloudEvent } from "../../src/domain/cloud-event.ts";
import { EVENT_TYPES, type EventType, eventFamily, type StoredEvent } from "../../src/domain/events.ts";
import type { DeliveryProjection } from "../../src/domain/subscription.ts";
import { CARD_BUREAU, cardPayload, ESI, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";

const PUBLIC_URL = "https://hub.example.org";

// Draft 2020-12 in strict mode: a keyword the draft does not know is an error, not silently ignored.
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const validators = new Map<string, ValidateFunction>();
function validator(type: EventType, projection: DeliveryProjection = "full"): ValidateFunction {
  const key = `${type} ${projection}`;
  let found = validators.get(key);
  if (!found) {
    found = ajv.compile(cloudEventSchema(type, projection));
    validators.set(key, found);
  }
  return found;
}
function assertValid(event: unknown, type: EventType, projection: DeliveryProjection = "full"): void {
  const validate = validator(type, projection);
  assert.ok(
    validate(event),
    `${type} (${projection}): ${ajv.errorsText(validate.errors)}\n${JSON.stringify(event)}`,
  );
}
function assertInvalid(
  event: unknown,
  type: EventType,
  why: string,
  projection: DeliveryProjection = "full",
): void {
  assert.equal(validator(type, projection)(event), false, `${type} (${projection}) accepted an event ${why}`);
}

// Written out here, apart from the catalogue's own examples, the way the services write them.
const ESCN = "2b8a3c10-8f5e-11f1-b2c4-001123456789";
const LEGACY_ESI = "PL-123456789-S2024007";
const ERASED = "erased:0a1b2c3d4e5f6071";
const card = (data: Partial<EventData> = {}): EventData => ({
  escn: ESCN,
  issuer: "123456789",
  status: "ACTIVE",
  inactiveReason: null,
  expiresAt: "2029-06-30",
  version: 1,
  ...data,
});
const SAMPLES: { readonly [T in EventType]: readonly EventData[] } = {
  "organisation.created": [
    { organisation: "123456789", kind: "institution", version: 1 },
    { organisation: "BE0123456789", kind: "card-bureau", version: 1 },
  ],
  "organisation.updated": [{ organisation: "canteen-bxl", kind: "service-provider", version: 7 }],
  "person.linked": [{ esi: ESI, organisation: "123456789" }],
  "person.updated": [{ esi: LEGACY_ESI, organisation: "123456789" }],
  "person.unlinked": [{ esi: ERASED, organisation: "123456789" }],
  "student-status.changed": [
    { esi: ESI, organisation: "123456789", state: "enrolled", validFrom: "2026-09-01", validUntil: null },
    {
      esi: ESI,
      organisation: "123456789",
      state: "ended",
      validFrom: "2022-09-01",
      validUntil: "2026-06-30",
    },
  ],
  "student-status.expired": [
    {
      esi: ESI,
      organisation: "123456789",
      state: "suspended",
      validFrom: "2026-09-01",
      validUntil: "2026-09-30",
    },
  ],
  "card.created": [card()],
  "card.updated": [card({ status: "INACTIVE", inactiveReason: "stolen", version: 3 })],
  "card.expired": [card({ expiresAt: "2026-09-30", version: 2 })],
  "card.deleted": [card({ status: null, inactiveReason: null, version: 4 })],
  "consent.given": [
    { esi: ESI, purpose: "display-name-publication", wordingVersion: "2026-11", state: "given" },
  ],
  "consent.withdrawn": [
    { esi: ESI, purpose: "credential-issuance", wordingVersion: "2026-11", state: "withdrawn" },
  ],
};

const subjectOf = (type: EventType, data: EventData) =>
  String(data[EVENT_CATALOGUE[type].subject as keyof EventData]);
function stored(type: EventType, data: EventData, position = 1): StoredEvent {
  return {
    id: "0193e0a4-5b7e-7c3e-9f0a-1d2e3f405162",
    position,
    type,
    subject: subjectOf(type, data),
    audience: ["123456789"],
    data,
    occurredAt: "2026-10-01T08:15:30.123Z",
  };
}
const withData = (event: CloudEvent, data: Record<string, unknown>) => ({ ...event, data });

describe("the event catalogue", () => {
  it("describes every event type, and nothing else", () => {
    assert.deepEqual(Object.keys(EVENT_CATALOGUE).sort(), [...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const entry = EVENT_CATALOGUE[type];
      assert.match(entry.summary, /^[A-Z].{10,}\.$/, `${type}: a one-sentence summary`);
      assert.equal(
        entry.publicData !== null,
        eventFamily(type) === "card",
        `${type}: public form for cards only`,
      );
      assert.equal((entry.data as { additionalProperties?: unknown }).additionalProperties, false, type);
      // Compiling in strict mode throws on a keyword draft 2020-12 does not know.
      validator(type);
      if (entry.publicData !== null) validator(type, "public");
    }
  });

  it("accepts realistic events of every type, and its own examples", () => {
    for (const type of EVENT_TYPES) {
      for (const data of [...SAMPLES[type], EVENT_CATALOGUE[type].example]) {
        assertValid(toCloudEvent(stored(type, data), "full", PUBLIC_URL), type);
      }
    }
  });

  it("refuses an event with a name in it, without a subject, or with a value it cannot take", () => {
    for (const type of EVENT_TYPES) {
      const event = toCloudEvent(stored(type, SAMPLES[type][0]!), "full", PUBLIC_URL);
      assertInvalid(withData(event, { ...event.data, fullName: "Jeanne Exemple" }), type, "with a fullName");
      assertInvalid(withData(event, { ...event.data, name: "Jeanne" }), type, "with a name");
      const { subject: _, ...unnamed } = event;
      assertInvalid(unnamed, type, "without a subject");
      const { data: __, ...empty } = event;
      assertInvalid(empty, type, "without data");
      assertInvalid({ ...event, email: "jeanne@example.org" }, type, "with an email beside the data");
      assertInvalid({ ...event, specversion: "0.3" }, type, "of another CloudEvents version");
      const other = EVENT_TYPES.find((t) => t !== type)!;
      assertInvalid({ ...event, type: `eu.openesc.${other}` }, type, `typed ${other}`);
      const [first] = Object.keys(event.data);
      const { [first!]: ___, ...lacking } = event.data;
      assertInvalid(withData(event, lacking), type, `without data.${first}`);
    }
    const wrong: [EventType, Record<string, unknown>][] = [
      ["card.updated", { status: "EXPIRED" }],
      ["card.updated", { status: "active" }],
      ["card.updated", { inactiveReason: "misplaced" }],
      ["card.updated", { expiresAt: "30/06/2029" }],
      ["card.updated", { escn: "3e506370-826a-403d-bf76-001999888777" }],
      ["card.deleted", { status: "ACTIVE" }],
      ["student-status.changed", { state: "active" }],
      ["student-status.changed", { validFrom: "2026-02-30" }],
      ["consent.given", { purpose: "status-management" }],
      ["consent.given", { state: "maybe" }],
      ["organisation.created", { kind: "university" }],
      ["organisation.updated", { version: 0 }],
    ];
    for (const [type, change] of wrong) {
      const event = toCloudEvent(stored(type, SAMPLES[type][0]!), "full", PUBLIC_URL);
      assertInvalid(withData(event, { ...event.data, ...change }), type, `with ${JSON.stringify(change)}`);
    }
  });

  it("gives card events a public form with only the escn, status and expiry", () => {
    for (const type of EVENT_TYPES.filter((t) => eventFamily(t) === "card")) {
      const full = toCloudEvent(stored(type, SAMPLES[type][0]!), "full", PUBLIC_URL);
      const seen = toCloudEvent(stored(type, SAMPLES[type][0]!), "public", PUBLIC_URL);
      assertValid(seen, type, "public");
      assert.deepEqual(Object.keys(seen.data).sort(), ["escn", "expiresAt", "status"]);
      assert.ok(!("issuer" in seen.data) && !("inactiveReason" in seen.data), type);
      assertInvalid(full, type, "in full where the public form was due", "public");
      assertInvalid(
        withData(seen, { ...seen.data, issuer: "123456789" }),
        type,
        "naming the issuer",
        "public",
      );
    }
    assert.throws(() => cloudEventSchema("person.linked", "public"), TypeError);
  });

  it("is what docs/events.md lists: one table row per type, with its data fields", () => {
    const docs = readFileSync(path.resolve(import.meta.dirname, "../../docs/events.md"), "utf8");
    for (const type of EVENT_TYPES) {
      const rows = docs.split("\n").filter((line) => line.startsWith(`| \`${type}\``));
      assert.equal(rows.length, 1, `docs/events.md has ${rows.length} table rows for ${type}`);
      const fields = [...(rows[0]!.split("|")[4] ?? "").matchAll(/`(\w+)`/g)].map((m) => m[1]);
      const properties = Object.keys((EVENT_CATALOGUE[type].data as { properties: object }).properties);
      assert.deepEqual(fields, properties, `the data fields of ${type} in docs/events.md`);
    }
  });
});

describe("the event catalogue, against the events the hub writes", () => {
  let hub: TestHub;
  let events: readonly StoredEvent[];

  before(async () => {
    const clock = fixedClock("2026-10-01T10:00:00Z");
    hub = await startTestHub({ clock });
    const call = async (
      method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
      url: string,
      token: string,
      payload?: object,
    ) => {
      const response = await hub.request({ method, url, token, ...(payload ? { payload } : {}) });
      assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
      return response;
    };
    // The expiry job's first run only marks where it starts.
    await hub.services.expiry.runOnce();
    const uni = await hub.onboard(UNIVERSITY);
    await hub.onboard(CARD_BUREAU);
    await call("PATCH", `/v1/organisations/${UNIVERSITY.id}`, uni, { processors: [CARD_BUREAU.id] });
    await call("POST", "/esc-rest/api/v2/persons", uni, personPayload(ESI, UNIVERSITY.id));
    await call("PUT", `/esc-rest/api/v2/persons/${ESI}`, uni, personPayload(ESI, UNIVERSITY.id));
    const status = { state: "enrolled", validFrom: "2026-09-01", validUntil: "2026-10-02" };
    await call("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`, uni, status);
    const created = await call(
      "POST",
      "/esc-rest/api/v2/cards",
      uni,
      cardPayload(ESI, UNIVERSITY.id, { processorIdentifier: CARD_BUREAU.id, expiresAt: "2026-10-02" }),
    );
    const escn = created.json<{ cardNumber: string }>().cardNumber;
    await call("PATCH", `/v1/cards/${escn}`, uni, { status: "INACTIVE", inactiveReason: "lost" });
    const consent = `/v1/persons/${ESI}/consents/display-name-publication`;
    await call("PUT", consent, uni, { wordingVersion: "2026-11" });
    await call("DELETE", consent, uni);
    clock.set("2026-10-04T10:00:00Z");
    await hub.services.expiry.runOnce();
    await call("DELETE", `/esc-rest/api/v2/cards/${escn}`, uni);
    await call("DELETE", `/esc-rest/api/v2/persons/${ESI}`, uni);
    events = await hub.services.storage.read.outbox.readAfter(0, 1000);
  });
  after(() => hub?.close());

  it("wrote an event of every type", () => {
    assert.deepEqual([...new Set(events.map((e) => e.type))].sort(), [...EVENT_TYPES].sort());
  });

  it("wrote every event as its schema says, in full and, for cards, in public", () => {
    for (const event of events) {
      assertValid(toCloudEvent(event, "full", PUBLIC_URL), event.type);
      if (eventFamily(event.type) === "card")
        assertValid(toCloudEvent(event, "public", PUBLIC_URL), event.type, "public");
    }
  });
});
