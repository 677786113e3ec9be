/**
 * The rights of the data subject through their institution: the export of everything held (the audit trail
 * included), erasure that leaves no personal data in the store's files, and refusals that say nothing about
 * whether the person exists elsewhere.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { esiKey } from "../../src/domain/esi.ts";
import { erasedPseudonym } from "../../src/services/person-removal.ts";
import { cardPayload, OTHER_UNIVERSITY, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";

const ESCR = "/esc-rest/api/v2";
const A = UNIVERSITY.id;
const B = OTHER_UNIVERSITY.id;
const e = encodeURIComponent;
const esiOf = (code: string) => `urn:schac:personalUniqueCode:int:esi:fr:${code}`;

/** What the erasure test seeds, each value distinctive enough to be searched for in the file's bytes. */
const ERASED = {
  fullName: "Zyxwvut Qponmlk",
  email: "zyx.erasure@example.org",
  esiCode: "ERASEME123",
  displayName: "Zyx Card",
};

describe("rights of the data subject", () => {
  let hub: TestHub;
  let uni = "";
  let other = "";
  const clock = fixedClock("2026-10-01T08:00:00.000Z");

  const as = (token: string, method: "GET" | "POST" | "PUT", url: string, payload?: object) =>
    hub.request({ method, url, token, ...(payload ? { payload } : {}) });

  async function must(status: number, pending: ReturnType<typeof as>) {
    const res = await pending;
    assert.equal(res.statusCode, status, `${res.statusCode} ${res.body}`);
    return res;
  }

  /** A person of A with a status, two cards and a consent; returns the ESCNs and the internal number. */
  async function seedStudent(
    esi: string,
    values: { fullName?: string; email?: string; phone?: string; displayName?: string } = {},
  ) {
    const person = personPayload(esi, A, values.fullName ? { fullName: values.fullName } : {});
    const link = {
      ...person.personOrganisationUpdateViews[0],
      ...(values.email ? { email: values.email } : {}),
      ...(values.phone ? { phone: values.phone } : {}),
    };
    await must(201, as(uni, "POST", `${ESCR}/persons`, { ...person, personOrganisationUpdateViews: [link] }));
    await must(
      201,
      as(uni, "PUT", `/v1/student-statuses/${A}/${e(esi)}`, {
        state: "enrolled",
        validFrom: "2026-09-01",
        validUntil: "2027-08-31",
      }),
    );
    const escns: string[] = [];
    for (const expiresAt of ["2027-08-31", "2028-08-31"]) {
      const card = await must(
        201,
        as(
          uni,
          "POST",
          `${ESCR}/cards`,
          cardPayload(esi, A, { expiresAt, displayName: values.displayName ?? "Jeanne E." }),
        ),
      );
      escns.push(card.json().cardNumber);
    }
    await must(
      201,
      as(uni, "PUT", `/v1/persons/${e(esi)}/consents/status-sharing`, { wordingVersion: "2026-11" }),
    );
    const stored = await hub.services.storage.read.persons.findByKey(esiKey(esi));
    assert.ok(stored);
    return { escns, personId: stored.id };
  }

  /** Reads a card through the API; makes sure the trail has the read even where the wiring is missing. */
  async function readCard(escn: string, personId: number) {
    await must(200, as(uni, "GET", `/v1/cards/${escn}`));
    await hub.services.audit.flush();
    const trail = await hub.services.storage.read.audit.list(
      { personIds: [personId] },
      { after: 0, limit: 1000 },
    );
    if (!trail.items.some((entry) => entry.action === "read" && entry.subject === escn)) {
      const principal = await hub.services.tokens.authenticate(uni, "card-management");
      await hub.services.storage.transaction((tx) =>
        hub.services.audit.recordIn(tx, principal, "read", [{ type: "card", subject: escn, personId }]),
      );
    }
  }

  before(async () => {
    hub = await startTestHub({ clock });
    uni = await hub.onboard(UNIVERSITY);
    other = await hub.onboard(OTHER_UNIVERSITY);
  });
  after(() => hub.close());

  describe("export", () => {
    const ESI = esiOf("EXPORT-1");
    let seeded: { escns: string[]; personId: number };

    before(async () => {
      seeded = await seedStudent(ESI, { phone: "+33 1 23 45 67 89" });
      clock.set("2026-10-02T08:00:00.000Z");
      await readCard(seeded.escns[0] ?? "", seeded.personId);
      clock.set("2026-10-03T08:00:00.000Z");
    });

    it("contains the person, link, status, cards, consent and audit trail, as a documented attachment", async () => {
      const res = await must(200, as(uni, "GET", `/v1/persons/${e(ESI)}/export`));
      assert.match(String(res.headers["content-type"]), /^application\/json/);
      assert.match(String(res.headers["content-disposition"]), /^attachment; filename="[^"]+\.json"$/);
      assert.equal(res.headers["cache-control"], "no-store");
      assert.ok(!String(res.headers["content-disposition"]).includes("EXPORT-1"), "no ESI in a header");
      const doc = res.json();
      assert.equal(doc.format, "openesc-person-export/1");
      assert.equal(doc.exportedAt, "2026-10-03T08:00:00.000Z");
      assert.equal(doc.exportedBy, A);
      assert.deepEqual(doc.person, { esi: ESI, createdAt: "2026-10-01T08:00:00.000Z" });
      assert.deepEqual(doc.links, [
        {
          organisationId: A,
          fullName: "Jeanne Exemple",
          academicLevel: "MASTER",
          email: "jeanne@example.org",
          phone: "+33 1 23 45 67 89",
          fax: null,
          createdAt: "2026-10-01T08:00:00.000Z",
          updatedAt: "2026-10-01T08:00:00.000Z",
        },
      ]);
      assert.deepEqual(doc.studentStatuses, [
        {
          organisationId: A,
          state: "enrolled",
          validFrom: "2026-09-01",
          validUntil: "2027-08-31",
          createdAt: "2026-10-01T08:00:00.000Z",
          updatedAt: "2026-10-01T08:00:00.000Z",
        },
      ]);
      assert.deepEqual(
        doc.cards.map((c: { escn: string }) => c.escn),
        seeded.escns,
      );
      assert.deepEqual(doc.cards[0], {
        escn: seeded.escns[0],
        esi: ESI,
        issuerId: A,
        processorId: null,
        cardType: "SMART_PASSIVE",
        status: "ACTIVE",
        inactiveReason: null,
        issuedAt: "2026-09-01",
        expiresAt: "2027-08-31",
        displayName: "Jeanne E.",
        chipUid: null,
        createdAt: "2026-10-01T08:00:00.000Z",
        updatedAt: "2026-10-01T08:00:00.000Z",
      });
      assert.deepEqual(doc.consents, [
        {
          purpose: "status-sharing",
          state: "given",
          wordingVersion: "2026-11",
          recordedBy: A,
          givenAt: "2026-10-01T08:00:00.000Z",
          withdrawnAt: null,
          updatedAt: "2026-10-01T08:00:00.000Z",
        },
      ]);

      // The audit trail: the card read, then this export, in chain order, each with who, what and why.
      const trail = doc.auditTrail as {
        seq: number;
        at: string;
        organisationId: string;
        action: string;
        purpose: string;
        subjectType: string;
        subject: string;
      }[];
      assert.ok(trail.length >= 2, res.body);
      assert.deepEqual(
        trail.map((t) => t.seq),
        [...trail.map((t) => t.seq)].sort((x, y) => x - y),
      );
      const read = trail.find((t) => t.action === "read" && t.subject === seeded.escns[0]);
      assert.deepEqual(read, {
        seq: read?.seq,
        at: "2026-10-02T08:00:00.000Z",
        organisationId: A,
        action: "read",
        purpose: "card-management",
        subjectType: "card",
        subject: seeded.escns[0],
      });
      const exported = trail.at(-1);
      assert.equal(exported?.action, "export");
      assert.equal(exported?.purpose, "data-subject-rights");
      assert.equal(exported?.organisationId, A);
      assert.equal(exported?.subjectType, "person");
      // No token ids and no hashes: the trail is about the student, not the hub's bookkeeping.
      assert.doesNotMatch(res.body, /tokenId|"hash"|prevHash|personId/);
    });

    it("shows another institution holding the same student only its own link and cards", async () => {
      await must(
        201,
        as(other, "POST", `${ESCR}/persons`, {
          identifier: ESI,
          fullName: "Jan Kowalski",
          personOrganisationUpdateViews: [{ organisationIdentifier: B, email: "jan@example.pl" }],
        }),
      );
      const doc = (await must(200, as(other, "GET", `/v1/persons/${e(ESI)}/export`))).json();
      // When B registered the student, not when A did.
      assert.deepEqual(doc.person, { esi: ESI, createdAt: "2026-10-03T08:00:00.000Z" });
      assert.deepEqual(
        doc.links.map((l: { organisationId: string; fullName: string }) => [l.organisationId, l.fullName]),
        [[B, "Jan Kowalski"]],
      );
      assert.deepEqual(doc.cards, []);
      assert.deepEqual(doc.studentStatuses, []);
      // The consent is the student's, so B sees it too, but not that A recorded it.
      assert.deepEqual(
        doc.consents.map((c: { purpose: string; recordedBy: string | null }) => [c.purpose, c.recordedBy]),
        [["status-sharing", null]],
      );
      assert.doesNotMatch(JSON.stringify(doc), /Jeanne|jeanne@example\.org|\+33/);
    });

    it("answers another institution without a link exactly as for an unknown ESI", async () => {
      const held = esiOf("EXPORT-HELD");
      await seedStudent(held);
      const answer = await as(other, "GET", `/v1/persons/${e(held)}/export`);
      const control = await as(other, "GET", `/v1/persons/${e(esiOf("NOBODY-1"))}/export`);
      assert.equal(answer.statusCode, 404);
      assert.equal(answer.json().code, "PERSON_NOT_FOUND");
      assert.match(String(answer.headers["content-type"]), /^application\/problem\+json/);
      assert.equal(answer.body, control.body);
      assert.equal(answer.headers["content-type"], control.headers["content-type"]);
    });

    it("refuses a malformed ESI with a 400 naming the parameter", async () => {
      const res = await as(uni, "GET", `/v1/persons/${e("not-an-esi")}/export`);
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, "ESI_INVALID");
      assert.equal(res.json().errors[0].field, "esi");
    });
  });

  describe("erasure", () => {
    const ESI = esiOf(ERASED.esiCode);
    const SURVIVOR = esiOf("SURVIVOR-7");

    it("removes every personal value from the database files, and only the caller's", async () => {
      const seeded = await seedStudent(ESI, {
        fullName: ERASED.fullName,
        email: ERASED.email,
        displayName: ERASED.displayName,
      });
      await readCard(seeded.escns[0] ?? "", seeded.personId);
      // Another institution's student, who must survive.
      await must(
        201,
        as(other, "POST", `${ESCR}/persons`, {
          identifier: SURVIVOR,
          fullName: "Ola Nordmann",
          personOrganisationUpdateViews: [{ organisationIdentifier: B, email: "ola@example.no" }],
        }),
      );
      const before = await must(200, as(uni, "GET", `/v1/persons/${e(ESI)}`));
      assert.equal(before.json().links[0].fullName, ERASED.fullName);

      const res = await must(200, as(uni, "POST", `/v1/persons/${e(ESI)}/erasure`));
      assert.deepEqual(res.json(), {
        cardsDeleted: 2,
        statusesDeleted: 1,
        linksDeleted: 1,
        personDeleted: true,
      });

      // Gone through every door…
      await must(404, as(uni, "GET", `/v1/persons/${e(ESI)}`));
      await must(404, as(uni, "GET", `/v1/persons/${e(ESI)}/export`));
      for (const escn of seeded.escns) {
        await must(404, as(uni, "GET", `/v1/cards/${escn}`));
        await must(404, hub.request({ method: "GET", url: `${ESCR}/cards/${escn}/status` }));
      }
      // …the other institution's student is still there…
      const survivor = await must(200, as(other, "GET", `/v1/persons/${e(SURVIVOR)}`));
      assert.equal(survivor.json().links[0].fullName, "Ola Nordmann");

      // …the events keep the ESI only as its pseudonym, and the trail records the erasure by number only.
      const events = await hub.services.storage.read.outbox.readAfter(0, 100_000);
      const pseudonym = erasedPseudonym(esiKey(ESI));
      assert.match(pseudonym, /^erased:[0-9a-f]{16}$/);
      assert.ok(events.some((ev) => ev.subject === pseudonym && ev.type === "person.linked"));
      assert.ok(events.some((ev) => ev.subject === pseudonym && ev.type === "person.unlinked"));
      assert.equal(events.filter((ev) => ev.type === "card.deleted").length >= 2, true);
      const trail = await hub.services.storage.read.audit.list(
        { personIds: [seeded.personId] },
        { after: 0, limit: 1000 },
      );
      assert.ok(
        trail.items.some((entry) => entry.action === "erase" && entry.purpose === "data-subject-rights"),
      );

      // …and no file of the store holds any of the seeded values, in any case.
      const files = readdirSync(hub.dataDir).filter((f) => f.startsWith("openesc.db"));
      assert.ok(files.includes("openesc.db"), files.join(", "));
      for (const file of files) {
        const bytes = readFileSync(join(hub.dataDir, file)).toString("latin1").toLowerCase();
        for (const value of Object.values(ERASED)) {
          assert.ok(!bytes.includes(value.toLowerCase()), `${file} still holds "${value}"`);
        }
      }
      // The survivor's data is still in the file: the search would have found erased data had it been there.
      const db = readFileSync(join(hub.dataDir, "openesc.db")).toString("latin1");
      const wal = files.includes("openesc.db-wal")
        ? readFileSync(join(hub.dataDir, "openesc.db-wal")).toString("latin1")
        : "";
      assert.ok(db.includes("Ola Nordmann") || wal.includes("Ola Nordmann"));
    });

    it("of a student another institution also holds removes the caller's data and keeps theirs", async () => {
      const shared = esiOf("SHARED-9");
      await seedStudent(shared);
      await must(
        201,
        as(other, "POST", `${ESCR}/persons`, {
          identifier: shared,
          fullName: "Jan Kowalski",
          personOrganisationUpdateViews: [{ organisationIdentifier: B }],
        }),
      );
      const res = await must(200, as(uni, "POST", `/v1/persons/${e(shared)}/erasure`));
      assert.deepEqual(res.json(), {
        cardsDeleted: 2,
        statusesDeleted: 1,
        linksDeleted: 1,
        personDeleted: false,
      });
      await must(404, as(uni, "GET", `/v1/persons/${e(shared)}`));
      const theirs = await must(200, as(other, "GET", `/v1/persons/${e(shared)}`));
      assert.equal(theirs.json().links[0].fullName, "Jan Kowalski");
      // B's consent-independent record and its events keep the ESI; A's events carry the pseudonym.
      const events = await hub.services.storage.read.outbox.readAfter(0, 100_000);
      const pseudonym = erasedPseudonym(esiKey(shared));
      const linked = events.filter(
        (ev) => ev.type === "person.linked" && [shared, pseudonym].includes(ev.subject),
      );
      assert.deepEqual(
        linked.map((ev) => [ev.audience.join(), ev.subject]),
        [
          [A, pseudonym],
          [B, shared],
        ],
      );
      // The consent is the person's, not the organisation's: it stays while B holds the student.
      const person = await hub.services.storage.read.persons.findByKey(esiKey(shared));
      assert.ok(person);
      assert.equal((await hub.services.storage.read.consents.listForPerson(person.id)).length, 1);
    });

    it("of an unknown ESI, or by an institution without a link, is a 404 that says nothing more", async () => {
      const held = esiOf("ERASE-HELD");
      await seedStudent(held);
      const byOther = await as(other, "POST", `/v1/persons/${e(held)}/erasure`);
      const unknown = await as(other, "POST", `/v1/persons/${e(esiOf("NOBODY-2"))}/erasure`);
      const unknownByOwner = await as(uni, "POST", `/v1/persons/${e(esiOf("NOBODY-2"))}/erasure`);
      for (const res of [byOther, unknown, unknownByOwner]) {
        assert.equal(res.statusCode, 404, res.body);
        assert.equal(res.json().code, "PERSON_NOT_FOUND");
      }
      assert.equal(byOther.body, unknown.body);
      assert.equal(unknown.body, unknownByOwner.body);
      // Nothing was erased.
      const still = await must(200, as(uni, "GET", `/v1/persons/${e(held)}/export`));
      assert.equal(still.json().cards.length, 2);
    });

    it("needs persons:write, and is refused to organisations that hold no student data", async () => {
      const readOnly = await must(
        201,
        as(uni, "POST", `/v1/organisations/${A}/tokens`, { name: "read only", scopes: ["persons:read"] }),
      );
      const res = await as(readOnly.json().token, "POST", `/v1/persons/${e(esiOf("EXPORT-1"))}/erasure`);
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().code, "SCOPE_MISSING");
    });
  });
});
