import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { CONSENT_WORDINGS } from "../../src/domain/consent-wording.ts";
import { esiKey } from "../../src/domain/esi.ts";
import { CONSENT_PURPOSES } from "../../src/domain/purpose.ts";
import {
  CANTEEN,
  CARD_BUREAU,
  cardPayload,
  ESI,
  ESI_2,
  OTHER_UNIVERSITY,
  personPayload,
  UNIVERSITY,
} from "../support/fixtures.ts";
import { ADMIN_TOKEN, fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";

const NOW = "2026-11-15T10:00:00.000Z";
const WORDING = "2026-11";
/** The n-th made-up student of the university. */
const esiOf = (n: number) => `urn:schac:personalUniqueCode:int:esi:univ-saint-valentin.fr:consent-${n}`;
/** An ESI nobody holds. */
const UNKNOWN_ESI = "urn:schac:personalUniqueCode:int:esi:fr:nobody-at-all";

function ok(response: LightMyRequestResponse, status: number): void {
  assert.equal(response.statusCode, status, `${response.statusCode} ${response.body}`);
}

/** A problem answer of the native API: status, stable code and, when given, the field at fault. */
function problem(response: LightMyRequestResponse, status: number, code: string, field?: string): void {
  ok(response, status);
  assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
  assert.equal(response.json().code, code, response.body);
  if (field !== undefined) assert.equal(response.json().errors?.[0]?.field, field, response.body);
}

interface ConsentBody {
  esi: string;
  purpose: string;
  state: "given" | "withdrawn";
  wordingVersion: string;
  recordedBy: string | null;
  givenAt: string;
  withdrawnAt: string | null;
  updatedAt: string;
}

describe("consent per student and purpose", () => {
  let hub: TestHub;
  const clock = fixedClock(NOW);
  let uni: string;
  let other: string;
  let bureau: string;
  let canteen: string;
  let counter = 0;

  const give = (token: string, esi: string, purpose: string, payload: object = { wordingVersion: WORDING }) =>
    hub.request({ method: "PUT", url: `/v1/persons/${esi}/consents/${purpose}`, token, payload });
  const withdraw = (token: string, esi: string, purpose: string) =>
    hub.request({ method: "DELETE", url: `/v1/persons/${esi}/consents/${purpose}`, token });
  const list = (token: string, esi: string) =>
    hub.request({ method: "GET", url: `/v1/persons/${esi}/consents`, token });

  async function createPerson(token: string, esi: string, organisationId: string): Promise<void> {
    ok(
      await hub.request({
        method: "POST",
        url: "/esc-rest/api/v2/persons",
        token,
        payload: personPayload(esi, organisationId),
      }),
      201,
    );
  }

  async function createCard(token: string, esi: string, issuerId: string): Promise<string> {
    const response = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/cards",
      token,
      payload: cardPayload(esi, issuerId),
    });
    ok(response, 201);
    return response.json().cardNumber as string;
  }

  /** A new student of the university, with a card whose display name is "Jeanne E.". */
  async function student(): Promise<{ esi: string; escn: string }> {
    counter += 1;
    const esi = esiOf(counter);
    await createPerson(uni, esi, UNIVERSITY.id);
    return { esi, escn: await createCard(uni, esi, UNIVERSITY.id) };
  }

  async function events(esi: string) {
    const all = await hub.services.storage.read.outbox.readAfter(0, 10_000);
    return all.filter((e) => e.subject === esi && e.type.startsWith("consent."));
  }

  async function personId(esi: string): Promise<number> {
    const person = await hub.services.storage.read.persons.findByKey(esiKey(esi));
    assert.ok(person, esi);
    return person.id;
  }

  const setShowDisplayName = async (value: boolean) =>
    ok(
      await hub.request({
        method: "PATCH",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token: uni,
        payload: { showDisplayName: value },
      }),
      200,
    );

  before(async () => {
    hub = await startTestHub({ clock });
    uni = await hub.onboard(UNIVERSITY);
    other = await hub.onboard(OTHER_UNIVERSITY);
    bureau = await hub.onboard(CARD_BUREAU);
    canteen = await hub.onboard(CANTEEN);
    ok(
      await hub.request({
        method: "PATCH",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token: uni,
        payload: { processors: [CARD_BUREAU.id] },
      }),
      200,
    );
    await createPerson(uni, ESI, UNIVERSITY.id);
    await createPerson(uni, ESI_2, UNIVERSITY.id);
  });
  after(() => hub.close());

  describe("wordings", () => {
    it("lists every consent purpose with all its wordings, without a token", async () => {
      for (const token of [undefined, "oesc_not-a-token-at-all-0123456789"]) {
        const response = await hub.request({
          method: "GET",
          url: "/v1/consent-wordings",
          ...(token ? { token } : {}),
        });
        ok(response, 200);
        const items = response.json().items as {
          purpose: keyof typeof CONSENT_WORDINGS;
          description: string;
          current: string;
          versions: { version: string; publishedAt: string; text: string }[];
        }[];
        assert.deepEqual(items.map((i) => i.purpose).sort(), [...CONSENT_PURPOSES].sort());
        for (const item of items) {
          assert.ok(item.description.length > 0);
          assert.deepEqual(item.versions, CONSENT_WORDINGS[item.purpose]);
          assert.equal(item.current, item.versions.at(-1)?.version);
          assert.ok(item.versions.some((v) => v.version === WORDING));
          for (const v of item.versions) {
            assert.match(v.publishedAt, /^\d{4}-\d{2}-\d{2}$/);
            assert.match(v.text, /withdraw/);
          }
        }
      }
    });

    it("a consent names a known wording of its purpose", async () => {
      const { esi } = await student();
      problem(
        await give(uni, esi, "status-sharing", { wordingVersion: "1999-01" }),
        400,
        "CONSENT_WORDING_UNKNOWN",
        "/wordingVersion",
      );
      problem(await give(uni, esi, "status-sharing", {}), 400, "VALIDATION_FAILED");
      problem(await give(uni, esi, "status-sharing", { wordingVersion: "" }), 400, "VALIDATION_FAILED");
      problem(
        await give(uni, esi, "status-sharing", { wordingVersion: WORDING, givenAt: NOW }),
        400,
        "VALIDATION_FAILED",
      );
      assert.deepEqual((await list(uni, esi)).json().items, []);
      assert.deepEqual(await events(esi), []);
    });
  });

  describe("giving and withdrawing", () => {
    it("gives, lists, withdraws and gives again, each change recorded at once", async () => {
      const { esi } = await student();
      ok(await list(uni, esi), 200);
      assert.deepEqual((await list(uni, esi)).json(), { items: [] });

      clock.set("2026-11-15T10:00:01.000Z");
      const given = await give(uni, esi, "credential-issuance");
      ok(given, 201);
      const expected: ConsentBody = {
        esi,
        purpose: "credential-issuance",
        state: "given",
        wordingVersion: WORDING,
        recordedBy: UNIVERSITY.id,
        givenAt: "2026-11-15T10:00:01.000Z",
        withdrawnAt: null,
        updatedAt: "2026-11-15T10:00:01.000Z",
      };
      assert.deepEqual(given.json(), expected);

      // Giving again in the same wording changes nothing.
      clock.set("2026-11-15T10:00:02.000Z");
      const again = await give(uni, esi, "credential-issuance");
      ok(again, 200);
      assert.deepEqual(again.json(), expected);
      assert.deepEqual((await list(uni, esi)).json(), { items: [expected] });

      clock.set("2026-11-15T10:00:03.000Z");
      const withdrawn = await withdraw(uni, esi, "credential-issuance");
      ok(withdrawn, 200);
      const withdrawnBody: ConsentBody = {
        ...expected,
        state: "withdrawn",
        withdrawnAt: "2026-11-15T10:00:03.000Z",
        updatedAt: "2026-11-15T10:00:03.000Z",
      };
      assert.deepEqual(withdrawn.json(), withdrawnBody);
      assert.deepEqual((await list(uni, esi)).json(), { items: [withdrawnBody] });

      // Withdrawing twice: nothing is in effect any more.
      problem(await withdraw(uni, esi, "credential-issuance"), 409, "CONSENT_NOT_GIVEN");

      clock.set("2026-11-15T10:00:04.000Z");
      const regiven = await give(uni, esi, "credential-issuance");
      ok(regiven, 201);
      assert.deepEqual(regiven.json(), {
        ...expected,
        givenAt: "2026-11-15T10:00:04.000Z",
        updatedAt: "2026-11-15T10:00:04.000Z",
      });

      // Each purpose is its own consent.
      ok(await give(uni, esi, "status-sharing"), 201);
      assert.deepEqual(
        (await list(uni, esi)).json().items.map((c: ConsentBody) => [c.purpose, c.state]),
        [
          ["credential-issuance", "given"],
          ["status-sharing", "given"],
        ],
      );
      clock.set(NOW);
    });

    it("withdrawing a consent never given is a 409 CONSENT_NOT_GIVEN", async () => {
      for (const purpose of CONSENT_PURPOSES) {
        problem(await withdraw(uni, ESI_2, purpose), 409, "CONSENT_NOT_GIVEN");
      }
      assert.deepEqual((await list(uni, ESI_2)).json().items, []);
      assert.deepEqual(await events(ESI_2), []);
    });

    it("an unknown purpose and a purpose not based on consent are 400s naming the purpose, for any ESI", async () => {
      for (const esi of [ESI, UNKNOWN_ESI]) {
        for (const token of [uni, other]) {
          problem(await give(token, esi, "marketing"), 400, "PURPOSE_UNKNOWN", "purpose");
          problem(await withdraw(token, esi, "marketing"), 400, "PURPOSE_UNKNOWN", "purpose");
          for (const purpose of ["card-management", "public-verification", "data-subject-rights"]) {
            problem(await give(token, esi, purpose), 400, "PURPOSE_NOT_CONSENT_BASED", "purpose");
            problem(await withdraw(token, esi, purpose), 400, "PURPOSE_NOT_CONSENT_BASED", "purpose");
          }
        }
      }
      problem(await give(uni, "not-an-esi", "status-sharing"), 400, "ESI_INVALID", "esi");
      assert.deepEqual((await list(uni, ESI)).json().items, []);
    });
  });

  describe("who may record consent", () => {
    it("another institution cannot see or change it, and gets the answer it gets for an unknown ESI", async () => {
      const { esi } = await student();
      ok(await give(uni, esi, "status-sharing"), 201);
      const before = (await list(uni, esi)).body;
      const requests: [string, (e: string) => Promise<LightMyRequestResponse>][] = [
        ["list", (e) => list(other, e)],
        ["give", (e) => give(other, e, "display-name-publication")],
        ["re-give", (e) => give(other, e, "status-sharing")],
        ["withdraw", (e) => withdraw(other, e, "status-sharing")],
        ["withdraw never given", (e) => withdraw(other, e, "credential-issuance")],
      ];
      for (const [name, send] of requests) {
        const held = await send(esi);
        const unknown = await send(UNKNOWN_ESI);
        problem(held, 404, "PERSON_NOT_FOUND");
        assert.equal(held.headers["content-type"], unknown.headers["content-type"], name);
        assert.equal(held.body, unknown.body, name);
      }
      assert.equal((await list(uni, esi)).body, before);
      assert.equal((await events(esi)).length, 1);
    });

    it("card bureaus, service providers and the operator do not record consent; read-only tokens only read", async () => {
      const { esi } = await student();
      for (const token of [bureau, canteen, ADMIN_TOKEN]) {
        problem(await list(token, esi), 403, "FORBIDDEN");
        problem(await give(token, esi, "status-sharing"), 403, "FORBIDDEN");
        problem(await withdraw(token, esi, "status-sharing"), 403, "FORBIDDEN");
      }
      const made = await hub.request({
        method: "POST",
        url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
        token: uni,
        payload: { name: "read only", scopes: ["persons:read"] },
      });
      ok(made, 201);
      const readOnly = made.json().token as string;
      ok(await list(readOnly, esi), 200);
      problem(await give(readOnly, esi, "status-sharing"), 403, "SCOPE_MISSING");
      problem(await withdraw(readOnly, esi, "status-sharing"), 403, "SCOPE_MISSING");
      problem(
        await hub.request({ method: "GET", url: `/v1/persons/${esi}/consents` }),
        401,
        "UNAUTHENTICATED",
      );
      problem(
        await hub.request({
          method: "PUT",
          url: `/v1/persons/${esi}/consents/status-sharing`,
          payload: { wordingVersion: WORDING },
        }),
        401,
        "UNAUTHENTICATED",
      );
      assert.deepEqual((await list(uni, esi)).json().items, []);
    });

    it("the consent is the student's: each of their institutions sees and may withdraw it, without learning who recorded it", async () => {
      const { esi } = await student();
      ok(await give(uni, esi, "status-sharing"), 201);
      await createPerson(other, esi, OTHER_UNIVERSITY.id);
      const seen = (await list(other, esi)).json().items as ConsentBody[];
      assert.deepEqual(
        seen.map((c) => [c.purpose, c.state, c.recordedBy]),
        [["status-sharing", "given", null]],
      );
      assert.doesNotMatch((await list(other, esi)).body, new RegExp(UNIVERSITY.id));
      clock.set("2026-11-15T10:00:05.000Z");
      const withdrawn = await withdraw(other, esi, "status-sharing");
      ok(withdrawn, 200);
      assert.equal(withdrawn.json().recordedBy, OTHER_UNIVERSITY.id);
      assert.equal((await list(uni, esi)).json().items[0].recordedBy, null);
      // Events about the student go to every organisation linked to them.
      const [, last] = await events(esi);
      assert.deepEqual([...(last?.audience ?? [])].sort(), [OTHER_UNIVERSITY.id, UNIVERSITY.id].sort());
      clock.set(NOW);
    });

    it("the consents go with the person when their last institution removes them", async () => {
      counter += 1;
      const esi = esiOf(counter);
      await createPerson(uni, esi, UNIVERSITY.id);
      ok(await give(uni, esi, "display-name-publication"), 201);
      ok(await hub.request({ method: "DELETE", url: `/esc-rest/api/v2/persons/${esi}`, token: uni }), 204);
      problem(await list(uni, esi), 404, "PERSON_NOT_FOUND");
      await createPerson(uni, esi, UNIVERSITY.id);
      assert.deepEqual((await list(uni, esi)).json().items, []);
    });
  });

  describe("consent takes effect at once", () => {
    const publicStatus = async (escn: string): Promise<Record<string, unknown>> => {
      // Twice: the second answer comes from the cache when the first was kept there.
      const first = await hub.request({ method: "GET", url: `/esc-rest/api/v2/cards/${escn}/status` });
      const second = await hub.request({ method: "GET", url: `/esc-rest/api/v2/cards/${escn}/status` });
      ok(first, 200);
      assert.equal(second.body, first.body);
      return first.json();
    };

    it("the public status shows displayName only with the issuer's choice and the holder's consent", async () => {
      const { esi, escn } = await student();
      try {
        assert.equal((await publicStatus(escn))["displayName"], undefined, "neither");
        await setShowDisplayName(true);
        assert.equal((await publicStatus(escn))["displayName"], undefined, "issuer only");
        ok(await give(uni, esi, "display-name-publication"), 201);
        assert.equal((await publicStatus(escn))["displayName"], "Jeanne E.", "both");
        await setShowDisplayName(false);
        assert.equal((await publicStatus(escn))["displayName"], undefined, "consent only");
        await setShowDisplayName(true);
        assert.equal((await publicStatus(escn))["displayName"], "Jeanne E.");

        // Withdrawal hides it from the very next read, the cached answer included.
        ok(await withdraw(uni, esi, "display-name-publication"), 200);
        const after = await publicStatus(escn);
        assert.equal(after["displayName"], undefined, "withdrawn");
        assert.doesNotMatch(JSON.stringify(after), /Jeanne/);

        // Consent to other purposes does not show it.
        ok(await give(uni, esi, "status-sharing"), 201);
        ok(await give(uni, esi, "credential-issuance"), 201);
        assert.equal((await publicStatus(escn))["displayName"], undefined);
        ok(await give(uni, esi, "display-name-publication"), 201);
        assert.equal((await publicStatus(escn))["displayName"], "Jeanne E.");
      } finally {
        await setShowDisplayName(false);
      }
    });

    it("the holder's consent covers every card they hold, and only theirs", async () => {
      const holder = await student();
      const second = await createCard(uni, holder.esi, UNIVERSITY.id);
      const bystander = await student();
      try {
        await setShowDisplayName(true);
        for (const escn of [holder.escn, second, bystander.escn]) await publicStatus(escn);
        ok(await give(uni, holder.esi, "display-name-publication"), 201);
        assert.equal((await publicStatus(holder.escn))["displayName"], "Jeanne E.");
        assert.equal((await publicStatus(second))["displayName"], "Jeanne E.");
        assert.equal((await publicStatus(bystander.escn))["displayName"], undefined);
        ok(await withdraw(uni, holder.esi, "display-name-publication"), 200);
        assert.equal((await publicStatus(holder.escn))["displayName"], undefined);
        assert.equal((await publicStatus(second))["displayName"], undefined);
      } finally {
        await setShowDisplayName(false);
      }
    });

    it("ESC-R hasOwnerAuthorization follows the holder's consent to status-sharing", async () => {
      const { esi, escn } = await student();
      const authorised = async () => {
        const one = await hub.request({ method: "GET", url: `/esc-rest/api/v2/cards/${escn}`, token: uni });
        ok(one, 200);
        const page = await hub.request({
          method: "GET",
          url: `/esc-rest/api/v2/cards?search=${encodeURIComponent(esi)}&size=100`,
          token: uni,
        });
        ok(page, 200);
        const listed = page.json().content as { cardNumber: string; hasOwnerAuthorization: boolean }[];
        assert.deepEqual(
          listed.map((c) => c.cardNumber),
          [escn],
        );
        assert.equal(listed[0]?.hasOwnerAuthorization, one.json().hasOwnerAuthorization);
        return one.json().hasOwnerAuthorization as boolean;
      };
      assert.equal(await authorised(), false);
      ok(await give(uni, esi, "display-name-publication"), 201);
      assert.equal(await authorised(), false, "another purpose");
      ok(await give(uni, esi, "status-sharing"), 201);
      assert.equal(await authorised(), true);
      ok(await withdraw(uni, esi, "status-sharing"), 200);
      assert.equal(await authorised(), false);
    });
  });

  describe("the record of changes", () => {
    it("each change is an outbox event and an audit entry, carrying no name or e-mail; each read is audited", async () => {
      const { esi } = await student();
      ok(await give(uni, esi, "status-sharing"), 201);
      ok(await give(uni, esi, "status-sharing"), 200);
      ok(await withdraw(uni, esi, "status-sharing"), 200);
      problem(await withdraw(uni, esi, "status-sharing"), 409, "CONSENT_NOT_GIVEN");
      const recorded = await events(esi);
      assert.deepEqual(
        recorded.map((e) => [e.type, e.data]),
        [
          ["consent.given", { esi, purpose: "status-sharing", wordingVersion: WORDING, state: "given" }],
          [
            "consent.withdrawn",
            { esi, purpose: "status-sharing", wordingVersion: WORDING, state: "withdrawn" },
          ],
        ],
      );
      for (const event of recorded) {
        assert.deepEqual(event.audience, [UNIVERSITY.id]);
        assert.equal(event.subject, esi);
        assert.doesNotMatch(JSON.stringify(event), /Jeanne|example\.org|@/);
      }

      ok(await list(uni, esi), 200);
      await hub.services.audit.flush();
      const id = await personId(esi);
      const trail = await hub.services.storage.read.audit.list({ personIds: [id] }, { after: 0, limit: 100 });
      const consents = trail.items.filter((entry) => entry.subjectType === "consent");
      assert.deepEqual(
        consents.map((entry) => [entry.action, entry.organisationId, entry.purpose, entry.subject]),
        [
          ["consent", UNIVERSITY.id, "data-subject-rights", String(id)],
          ["consent", UNIVERSITY.id, "data-subject-rights", String(id)],
          ["read", UNIVERSITY.id, "data-subject-rights", String(id)],
        ],
      );
    });
  });
});
