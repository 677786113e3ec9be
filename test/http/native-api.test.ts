import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
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

const NOW = "2026-10-15T10:00:00.000Z";
const STUDENT_SERVICE = {
  id: "555666777",
  kind: "student-service",
  name: "CROUS de Saint-Valentin",
  country: "FR",
};

/** The ESI of the n-th made-up student. */
const esiOf = (n: number) => `urn:schac:personalUniqueCode:int:esi:univ-saint-valentin.fr:stu-${n}`;

function ok(response: LightMyRequestResponse, status: number): void {
  assert.equal(response.statusCode, status, `${response.statusCode} ${response.body}`);
}

/** A problem answer of the native API: status and stable code. */
function problem(response: LightMyRequestResponse, status: number, code: string): void {
  ok(response, status);
  assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
  assert.equal(response.json().code, code, response.body);
}

async function createPerson(hub: TestHub, token: string, esi: string, organisationId: string): Promise<void> {
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

async function createCard(
  hub: TestHub,
  token: string,
  esi: string,
  issuerId: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const response = await hub.request({
    method: "POST",
    url: "/esc-rest/api/v2/cards",
    token,
    payload: cardPayload(esi, issuerId, extra),
  });
  ok(response, 201);
  return response.json().cardNumber as string;
}

function putStatus(
  hub: TestHub,
  token: string,
  organisationId: string,
  esi: string,
  payload: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return hub.request({
    method: "PUT",
    url: `/v1/student-statuses/${organisationId}/${esi}`,
    token,
    payload,
    headers,
  });
}

async function nativeCard(hub: TestHub, token: string, escn: string) {
  const response = await hub.request({ method: "GET", url: `/v1/cards/${escn}`, token });
  ok(response, 200);
  return response.json() as {
    status: string;
    inactiveReason: string | null;
    publicStatus: string;
    verdict: string;
    version: number;
  };
}

async function patchCard(hub: TestHub, token: string, escn: string, payload: Record<string, unknown>) {
  const response = await hub.request({ method: "PATCH", url: `/v1/cards/${escn}`, token, payload });
  ok(response, 200);
  return response;
}

async function publicStatus(hub: TestHub, escn: string): Promise<Record<string, unknown>> {
  const response = await hub.request({ method: "GET", url: `/esc-rest/api/v2/cards/${escn}/status` });
  ok(response, 200);
  return response.json();
}

/** Follows `next` from the first page to the last; returns every item and the size of each page. */
async function collect<T>(
  hub: TestHub,
  token: string,
  path: string,
  limit: number,
): Promise<{ items: T[]; pages: number[] }> {
  const items: T[] = [];
  const pages: number[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const separator = path.includes("?") ? "&" : "?";
    const cursor: string = after === null ? "" : `&after=${encodeURIComponent(after)}`;
    const response = await hub.request({
      method: "GET",
      url: `${path}${separator}limit=${limit}${cursor}`,
      token,
    });
    ok(response, 200);
    const page = response.json() as { items: T[]; next: string | null };
    assert.ok(page.items.length <= limit, `a page of ${page.items.length} items with limit ${limit}`);
    items.push(...page.items);
    pages.push(page.items.length);
    if (page.next === null) return { items, pages };
    after = page.next;
  }
  throw new Error(`${path} never reached its last page`);
}

describe("native API /v1", () => {
  describe("onboarding organisations", () => {
    let hub: TestHub;
    let universityToken: string;
    before(async () => {
      hub = await startTestHub({ clock: fixedClock(NOW) });
      universityToken = await hub.onboard(UNIVERSITY);
    });
    after(() => hub.close());

    const onboard = (payload: Record<string, unknown>, token = ADMIN_TOKEN) =>
      hub.request({ method: "POST", url: "/v1/organisations", token, payload });

    it("an institution needs a PIC", async () => {
      problem(await onboard({ ...OTHER_UNIVERSITY, id: "UNIV-PL" }), 400, "PIC_INVALID");
      problem(await onboard({ ...OTHER_UNIVERSITY, id: "12345" }), 400, "PIC_INVALID");
    });

    it("a student-service organisation needs a PIC too", async () => {
      problem(await onboard({ ...STUDENT_SERVICE, id: "crous-sv" }), 400, "PIC_INVALID");
    });

    it("a card bureau needs a VAT number", async () => {
      problem(await onboard({ ...CARD_BUREAU, id: "card print" }), 400, "VAT_NUMBER_INVALID");
      problem(await onboard({ ...CARD_BUREAU, id: "ABCDEFGH" }), 400, "VAT_NUMBER_INVALID");
    });

    it("a service provider needs a local identifier", async () => {
      problem(await onboard({ ...CANTEEN, id: "Restaurant Universitaire" }), 400, "ORGANISATION_ID_INVALID");
      problem(await onboard({ ...CANTEEN, id: "-canteen" }), 400, "ORGANISATION_ID_INVALID");
    });

    it("nobody onboards a second operator", async () => {
      ok(await onboard({ id: "operator-2", kind: "operator", name: "Another operator" }), 400);
    });

    it("each kind is onboarded with its identifier, answering 201 with ETag and Location", async () => {
      for (const org of [OTHER_UNIVERSITY, CARD_BUREAU, CANTEEN, STUDENT_SERVICE]) {
        const response = await onboard(org);
        ok(response, 201);
        assert.equal(response.headers["etag"], '"1"');
        assert.equal(response.headers["location"], `/v1/organisations/${org.id}`);
        assert.equal(response.json().id, org.id);
        assert.equal(response.json().kind, org.kind);
        assert.equal(response.json().showDisplayName, false);
        const read = await hub.request({
          method: "GET",
          url: `/v1/organisations/${org.id}`,
          token: ADMIN_TOKEN,
        });
        ok(read, 200);
        assert.equal(read.json().name, org.name);
      }
    });

    it("a duplicate is a 409", async () => {
      problem(await onboard(UNIVERSITY), 409, "ORGANISATION_EXISTS");
    });

    it("only the operator onboards: any other organisation gets a 403", async () => {
      ok(await onboard({ ...OTHER_UNIVERSITY, id: "123123123" }, universityToken), 403);
      const check = await hub.request({
        method: "GET",
        url: "/v1/organisations/123123123",
        token: ADMIN_TOKEN,
      });
      problem(check, 404, "ORGANISATION_NOT_FOUND");
    });

    it("without a token the answer is a 401", async () => {
      const response = await hub.request({ method: "POST", url: "/v1/organisations", payload: UNIVERSITY });
      problem(response, 401, "UNAUTHENTICATED");
      assert.match(String(response.headers["www-authenticate"]), /^Bearer/);
    });

    it("an organisation sees itself, not the others", async () => {
      ok(
        await hub.request({
          method: "GET",
          url: `/v1/organisations/${UNIVERSITY.id}`,
          token: universityToken,
        }),
        200,
      );
      problem(
        await hub.request({
          method: "GET",
          url: `/v1/organisations/${CARD_BUREAU.id}`,
          token: universityToken,
        }),
        404,
        "ORGANISATION_NOT_FOUND",
      );
      const list = await hub.request({ method: "GET", url: "/v1/organisations", token: universityToken });
      ok(list, 200);
      assert.deepEqual(
        list.json().items.map((o: { id: string }) => o.id),
        [UNIVERSITY.id],
      );
    });
  });

  describe("PATCH /v1/organisations/:id", () => {
    let hub: TestHub;
    let universityToken: string;
    let bureauToken: string;
    before(async () => {
      hub = await startTestHub({ clock: fixedClock(NOW) });
      universityToken = await hub.onboard(UNIVERSITY);
      bureauToken = await hub.onboard(CARD_BUREAU);
      await hub.onboard(OTHER_UNIVERSITY);
    });
    after(() => hub.close());

    const patch = (id: string, token: string, payload: Record<string, unknown>, headers = {}) =>
      hub.request({ method: "PATCH", url: `/v1/organisations/${id}`, token, payload, headers });

    it("an organisation changes its own self-service fields", async () => {
      const response = await patch(UNIVERSITY.id, universityToken, {
        website: "www.univ-saint-valentin.fr",
        colours: { main: "#003399" },
        showDisplayName: true,
      });
      ok(response, 200);
      assert.equal(response.json().website, "https://www.univ-saint-valentin.fr/");
      assert.equal(response.json().colours.main, "#003399");
      assert.equal(response.json().showDisplayName, true);
      assert.equal(response.json().version, 2);
      assert.equal(response.headers["etag"], '"2"');
    });

    it("but not the fields the operator owns", async () => {
      problem(await patch(UNIVERSITY.id, universityToken, { name: "Renamed" }), 403, "FORBIDDEN");
      problem(
        await patch(UNIVERSITY.id, universityToken, { country: "BE", website: "www.example.edu" }),
        403,
        "FORBIDDEN",
      );
      const read = await hub.request({
        method: "GET",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token: ADMIN_TOKEN,
      });
      assert.equal(read.json().name, UNIVERSITY.name);
      assert.equal(read.json().country, "FR");
      assert.equal(read.json().website, "https://www.univ-saint-valentin.fr/");
    });

    it("nor any field of another organisation", async () => {
      problem(
        await patch(OTHER_UNIVERSITY.id, universityToken, { showDisplayName: true }),
        404,
        "ORGANISATION_NOT_FOUND",
      );
      const read = await hub.request({
        method: "GET",
        url: `/v1/organisations/${OTHER_UNIVERSITY.id}`,
        token: ADMIN_TOKEN,
      });
      assert.equal(read.json().showDisplayName, false);
    });

    it("the operator changes any field", async () => {
      const response = await patch(OTHER_UNIVERSITY.id, ADMIN_TOKEN, {
        name: "Uniwersytet Nowy",
        country: "CZ",
      });
      ok(response, 200);
      assert.equal(response.json().name, "Uniwersytet Nowy");
      assert.equal(response.json().country, "CZ");
    });

    it("refuses unknown fields and wrong values", async () => {
      problem(await patch(UNIVERSITY.id, universityToken, { webiste: "x" }), 400, "VALIDATION_FAILED");
      problem(
        await patch(UNIVERSITY.id, universityToken, { colours: { main: "blue" } }),
        400,
        "COLOR_INVALID",
      );
    });

    it("If-Match with the current ETag applies; a stale one is a 412 and changes nothing", async () => {
      const read = await hub.request({
        method: "GET",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token: universityToken,
      });
      const etag = String(read.headers["etag"]);
      const applied = await patch(
        UNIVERSITY.id,
        universityToken,
        { colours: { qr: "#000000" } },
        { "if-match": etag },
      );
      ok(applied, 200);
      const newEtag = String(applied.headers["etag"]);
      assert.notEqual(newEtag, etag);
      problem(
        await patch(UNIVERSITY.id, universityToken, { colours: { qr: "#ffffff" } }, { "if-match": etag }),
        412,
        "VERSION_MISMATCH",
      );
      const after = await hub.request({
        method: "GET",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token: universityToken,
      });
      assert.equal(after.json().colours.qr, "#000000");
      assert.equal(after.headers["etag"], newEtag);
      problem(
        await patch(UNIVERSITY.id, universityToken, { showDisplayName: false }, { "if-match": "3" }),
        400,
        "VALIDATION_FAILED",
      );
    });

    it("naming a card bureau among its processors lets the bureau act for it", async () => {
      const before = await hub.request({ method: "GET", url: "/v1/me", token: bureauToken });
      assert.deepEqual(before.json().actingFor, [CARD_BUREAU.id]);
      ok(await patch(UNIVERSITY.id, universityToken, { processors: [CARD_BUREAU.id] }), 200);
      const afterwards = await hub.request({ method: "GET", url: "/v1/me", token: bureauToken });
      assert.deepEqual(afterwards.json().actingFor, [CARD_BUREAU.id, UNIVERSITY.id]);
      problem(
        await patch(UNIVERSITY.id, universityToken, { processors: [OTHER_UNIVERSITY.id] }),
        400,
        "VALIDATION_FAILED",
      );
    });
  });

  describe("tokens", () => {
    let hub: TestHub;
    let universityToken: string;
    before(async () => {
      hub = await startTestHub({ clock: fixedClock(NOW) });
      universityToken = await hub.onboard(UNIVERSITY);
      await hub.onboard(CANTEEN);
      await hub.onboard(OTHER_UNIVERSITY);
    });
    after(() => hub.close());

    const create = (organisationId: string, token: string, payload: Record<string, unknown>) =>
      hub.request({ method: "POST", url: `/v1/organisations/${organisationId}/tokens`, token, payload });
    const list = (organisationId: string, token: string) =>
      hub.request({ method: "GET", url: `/v1/organisations/${organisationId}/tokens`, token });

    it("shows the secret once, at creation, and never in the list", async () => {
      const created = await create(UNIVERSITY.id, ADMIN_TOKEN, { name: "card printer" });
      ok(created, 201);
      assert.equal(created.headers["cache-control"], "no-store");
      const secret = created.json().token as string;
      assert.match(secret, /^oesc_[A-Za-z0-9_-]{40,}$/);
      assert.equal(created.json().organisationId, UNIVERSITY.id);
      assert.equal(created.json().revokedAt, null);
      assert.equal(created.json().hash, undefined);

      const listed = await list(UNIVERSITY.id, universityToken);
      ok(listed, 200);
      const items = listed.json().items as Record<string, unknown>[];
      assert.ok(items.some((t) => t["id"] === created.json().id && t["name"] === "card printer"));
      for (const item of items) {
        assert.equal(item["token"], undefined);
        assert.equal(item["hash"], undefined);
      }
      assert.ok(!listed.body.includes(secret), "the list must not contain the secret");
      assert.ok(!listed.body.includes(universityToken), "the list must not contain any secret");

      const me = await hub.request({ method: "GET", url: "/v1/me", token: secret });
      ok(me, 200);
      assert.equal(me.json().organisation.id, UNIVERSITY.id);
    });

    it("gives a kind's full set of scopes by default, and only a subset of them on request", async () => {
      const full = await create(CANTEEN.id, ADMIN_TOKEN, { name: "till" });
      ok(full, 201);
      assert.deepEqual(full.json().scopes, ["tokens:manage", "events:read", "subscriptions:manage"]);
      const refused = await create(CANTEEN.id, ADMIN_TOKEN, { name: "till", scopes: ["cards:read"] });
      problem(refused, 400, "VALIDATION_FAILED");
      assert.equal(refused.json().errors[0].field, "/scopes/0");
      problem(
        await create(UNIVERSITY.id, ADMIN_TOKEN, { name: "x", scopes: ["organisations:manage"] }),
        400,
        "VALIDATION_FAILED",
      );
      problem(
        await create(UNIVERSITY.id, ADMIN_TOKEN, { name: "x", scopes: ["cards:fly"] }),
        400,
        "VALIDATION_FAILED",
      );
      problem(await create(UNIVERSITY.id, ADMIN_TOKEN, { name: "x", scopes: [] }), 400, "VALIDATION_FAILED");
    });

    it("a token limited to reading cards can do nothing else", async () => {
      const reader = await create(UNIVERSITY.id, universityToken, { name: "reader", scopes: ["cards:read"] });
      ok(reader, 201);
      assert.deepEqual(reader.json().scopes, ["cards:read"]);
      const secret = reader.json().token as string;
      ok(await hub.request({ method: "GET", url: "/v1/cards", token: secret }), 200);
      const write = await hub.request({
        method: "POST",
        url: "/esc-rest/api/v2/persons",
        token: secret,
        payload: personPayload(ESI, UNIVERSITY.id),
      });
      assert.equal(write.statusCode, 403, write.body);
      assert.equal(write.json().code, "SCOPE_MISSING");
      problem(
        await hub.request({ method: "GET", url: "/v1/student-statuses", token: secret }),
        403,
        "SCOPE_MISSING",
      );
      problem(await create(UNIVERSITY.id, secret, { name: "escalate" }), 403, "SCOPE_MISSING");
      // nor may it change the organisation's profile, e.g. let a card bureau act for it
      const profile = await hub.request({
        method: "PATCH",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token: secret,
        payload: { showDisplayName: true },
      });
      problem(profile, 403, "SCOPE_MISSING");
      const read = await hub.request({
        method: "GET",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token: ADMIN_TOKEN,
      });
      assert.equal(read.json().showDisplayName, false);
    });

    it("an organisation makes tokens for itself only", async () => {
      ok(await create(UNIVERSITY.id, universityToken, { name: "self-made" }), 201);
      problem(await create(OTHER_UNIVERSITY.id, universityToken, { name: "not mine" }), 403, "FORBIDDEN");
      problem(await list(OTHER_UNIVERSITY.id, universityToken), 403, "FORBIDDEN");
    });

    it("an expiry in the past is refused; one in the future is kept", async () => {
      problem(
        await create(UNIVERSITY.id, ADMIN_TOKEN, { name: "old", expiresAt: "2026-10-14T00:00:00Z" }),
        400,
        "TOKEN_EXPIRY_INVALID",
      );
      const future = await create(UNIVERSITY.id, ADMIN_TOKEN, {
        name: "new",
        expiresAt: "2027-01-01T00:00:00Z",
      });
      ok(future, 201);
      assert.equal(future.json().expiresAt, "2027-01-01T00:00:00.000Z");
    });

    it("revocation works at once", async () => {
      const created = await create(UNIVERSITY.id, universityToken, { name: "leaked" });
      ok(created, 201);
      const { id, token: secret } = created.json() as { id: string; token: string };
      ok(await hub.request({ method: "GET", url: "/v1/me", token: secret }), 200);
      const revoked = await hub.request({
        method: "DELETE",
        url: `/v1/organisations/${UNIVERSITY.id}/tokens/${id}`,
        token: universityToken,
      });
      ok(revoked, 200);
      assert.equal(revoked.json().revokedAt, NOW);
      problem(await hub.request({ method: "GET", url: "/v1/me", token: secret }), 401, "TOKEN_REVOKED");
      const listed = (await list(UNIVERSITY.id, universityToken)).json().items as {
        id: string;
        revokedAt: string;
      }[];
      assert.equal(listed.find((t) => t.id === id)?.revokedAt, NOW);
      // the token that revoked it still works
      ok(await hub.request({ method: "GET", url: "/v1/me", token: universityToken }), 200);
    });

    it("an unknown token is a 401, and a token of another organisation is not found", async () => {
      problem(await hub.request({ method: "GET", url: "/v1/me", token: "oesc_nope" }), 401, "TOKEN_INVALID");
      const other = await create(OTHER_UNIVERSITY.id, ADMIN_TOKEN, { name: "theirs" });
      problem(
        await hub.request({
          method: "DELETE",
          url: `/v1/organisations/${UNIVERSITY.id}/tokens/${other.json().id}`,
          token: universityToken,
        }),
        404,
        "TOKEN_NOT_FOUND",
      );
    });
  });

  describe("student statuses", () => {
    let hub: TestHub;
    let universityToken: string;
    let otherToken: string;
    before(async () => {
      hub = await startTestHub({ clock: fixedClock(NOW) });
      universityToken = await hub.onboard(UNIVERSITY);
      otherToken = await hub.onboard(OTHER_UNIVERSITY);
      await createPerson(hub, universityToken, ESI, UNIVERSITY.id);
      await createPerson(hub, otherToken, ESI_2, OTHER_UNIVERSITY.id);
    });
    after(() => hub.close());

    const enrolled = { state: "enrolled", validFrom: "2026-09-01", validUntil: "2027-08-31" };

    it("PUT creates (201) then replaces (200), with an ETag each time", async () => {
      const created = await putStatus(hub, universityToken, UNIVERSITY.id, ESI, enrolled);
      ok(created, 201);
      assert.equal(created.headers["etag"], '"1"');
      assert.deepEqual(created.json(), {
        esi: ESI,
        organisationId: UNIVERSITY.id,
        state: "enrolled",
        validFrom: "2026-09-01",
        validUntil: "2027-08-31",
        version: 1,
        createdAt: NOW,
        updatedAt: NOW,
      });
      const replaced = await putStatus(hub, universityToken, UNIVERSITY.id, ESI, {
        state: "suspended",
        validFrom: "2026-09-01",
      });
      ok(replaced, 200);
      assert.equal(replaced.headers["etag"], '"2"');
      assert.equal(replaced.json().state, "suspended");
      assert.equal(replaced.json().validUntil, null);

      const read = await hub.request({
        method: "GET",
        url: `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`,
        token: universityToken,
      });
      ok(read, 200);
      assert.equal(read.headers["etag"], '"2"');
      assert.equal(read.json().state, "suspended");
      assert.equal(read.json().personId, undefined, "the internal key never leaves the hub");
    });

    it("If-Match with the current ETag applies; a stale one is a 412 and changes nothing", async () => {
      const read = await hub.request({
        method: "GET",
        url: `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`,
        token: universityToken,
      });
      const etag = String(read.headers["etag"]);
      const applied = await putStatus(hub, universityToken, UNIVERSITY.id, ESI, enrolled, {
        "if-match": etag,
      });
      ok(applied, 200);
      problem(
        await putStatus(
          hub,
          universityToken,
          UNIVERSITY.id,
          ESI,
          { ...enrolled, state: "ended" },
          { "if-match": etag },
        ),
        412,
        "VERSION_MISMATCH",
      );
      const after = await hub.request({
        method: "GET",
        url: `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`,
        token: universityToken,
      });
      assert.equal(after.json().state, "enrolled");
      assert.equal(after.headers["etag"], applied.headers["etag"]);
    });

    it("If-Match on a status that does not exist yet is a 412", async () => {
      await createPerson(hub, universityToken, esiOf(99), UNIVERSITY.id);
      problem(
        await putStatus(hub, universityToken, UNIVERSITY.id, esiOf(99), enrolled, { "if-match": '"1"' }),
        412,
        "VERSION_MISMATCH",
      );
    });

    it("validUntil before validFrom is a 400", async () => {
      const response = await putStatus(hub, universityToken, UNIVERSITY.id, ESI, {
        state: "enrolled",
        validFrom: "2026-09-01",
        validUntil: "2026-08-31",
      });
      problem(response, 400, "DATE_RANGE_INVALID");
      assert.equal(response.json().errors[0].field, "/validUntil");
      ok(
        await putStatus(hub, universityToken, UNIVERSITY.id, ESI, {
          state: "enrolled",
          validFrom: "2026-09-01",
          validUntil: "2026-09-01",
        }),
        200,
      );
    });

    it("refuses unknown states, bad dates and unknown fields", async () => {
      ok(
        await putStatus(hub, universityToken, UNIVERSITY.id, ESI, {
          state: "graduated",
          validFrom: "2026-09-01",
        }),
        400,
      );
      problem(
        await putStatus(hub, universityToken, UNIVERSITY.id, ESI, {
          state: "enrolled",
          validFrom: "2026-02-30",
        }),
        400,
        "DATE_INVALID",
      );
      problem(
        await putStatus(hub, universityToken, UNIVERSITY.id, ESI, { ...enrolled, gpa: 4 }),
        400,
        "VALIDATION_FAILED",
      );
    });

    it("a person not linked to the organisation is a 404", async () => {
      // never registered
      problem(
        await putStatus(hub, universityToken, UNIVERSITY.id, esiOf(1234), enrolled),
        404,
        "PERSON_NOT_FOUND",
      );
      // registered, but by another university only: the answer does not tell it exists
      problem(await putStatus(hub, universityToken, UNIVERSITY.id, ESI_2, enrolled), 404, "PERSON_NOT_FOUND");
      // at an organisation the caller does not act for
      problem(
        await putStatus(hub, universityToken, OTHER_UNIVERSITY.id, ESI_2, enrolled),
        404,
        "PERSON_NOT_FOUND",
      );
      problem(
        await hub.request({
          method: "GET",
          url: `/v1/student-statuses/${OTHER_UNIVERSITY.id}/${ESI_2}`,
          token: universityToken,
        }),
        404,
        "STUDENT_STATUS_NOT_FOUND",
      );
    });
  });

  describe("GET /v1/cards/:escn: the verdict follows the status, the card and the calendar", () => {
    const clock = fixedClock(NOW);
    let hub: TestHub;
    let token: string;
    let escn: string;
    before(async () => {
      hub = await startTestHub({ clock });
      token = await hub.onboard(UNIVERSITY);
      await createPerson(hub, token, ESI, UNIVERSITY.id);
      escn = await createCard(hub, token, ESI, UNIVERSITY.id, { expiresAt: "2027-08-31" });
    });
    after(() => hub.close());

    it("a card whose holder has no status is invalid, though ACTIVE", async () => {
      const card = await nativeCard(hub, token, escn);
      assert.equal(card.status, "ACTIVE");
      assert.equal(card.publicStatus, "ACTIVE");
      assert.equal(card.verdict, "invalid");
    });

    it("enrolled → valid", async () => {
      ok(
        await putStatus(hub, token, UNIVERSITY.id, ESI, {
          state: "enrolled",
          validFrom: "2026-09-01",
          validUntil: "2027-08-31",
        }),
        201,
      );
      assert.equal((await nativeCard(hub, token, escn)).verdict, "valid");
    });

    it("status suspended → suspended; enrolled again → valid", async () => {
      ok(
        await putStatus(hub, token, UNIVERSITY.id, ESI, {
          state: "suspended",
          validFrom: "2026-09-01",
          validUntil: "2027-08-31",
        }),
        200,
      );
      const card = await nativeCard(hub, token, escn);
      assert.equal(card.verdict, "suspended");
      assert.equal(card.publicStatus, "ACTIVE");
      ok(
        await putStatus(hub, token, UNIVERSITY.id, ESI, {
          state: "enrolled",
          validFrom: "2026-09-01",
          validUntil: "2027-08-31",
        }),
        200,
      );
      assert.equal((await nativeCard(hub, token, escn)).verdict, "valid");
    });

    it("status ended → invalid", async () => {
      ok(
        await putStatus(hub, token, UNIVERSITY.id, ESI, {
          state: "ended",
          validFrom: "2026-09-01",
          validUntil: "2027-08-31",
        }),
        200,
      );
      assert.equal((await nativeCard(hub, token, escn)).verdict, "invalid");
      ok(
        await putStatus(hub, token, UNIVERSITY.id, ESI, {
          state: "enrolled",
          validFrom: "2026-09-01",
          validUntil: "2027-08-31",
        }),
        200,
      );
    });

    it("card INACTIVE lost → invalid, and the ETag follows the card's version", async () => {
      const before = await nativeCard(hub, token, escn);
      const response = await patchCard(hub, token, escn, { status: "INACTIVE", inactiveReason: "lost" });
      assert.equal(response.headers["etag"], `"${before.version + 1}"`);
      const card = await nativeCard(hub, token, escn);
      assert.equal(card.status, "INACTIVE");
      assert.equal(card.inactiveReason, "lost");
      assert.equal(card.publicStatus, "INACTIVE");
      assert.equal(card.verdict, "invalid");
    });

    it("card INACTIVE suspended → suspended; ACTIVE again → valid", async () => {
      await patchCard(hub, token, escn, { status: "INACTIVE", inactiveReason: "suspended" });
      assert.equal((await nativeCard(hub, token, escn)).verdict, "suspended");
      await patchCard(hub, token, escn, { status: "ACTIVE" });
      const card = await nativeCard(hub, token, escn);
      assert.equal(card.inactiveReason, null);
      assert.equal(card.verdict, "valid");
    });

    it("PATCH refuses a reason on an ACTIVE card and a stale If-Match", async () => {
      problem(
        await hub.request({
          method: "PATCH",
          url: `/v1/cards/${escn}`,
          token,
          payload: { inactiveReason: "lost" },
        }),
        400,
        "VALIDATION_FAILED",
      );
      problem(
        await hub.request({
          method: "PATCH",
          url: `/v1/cards/${escn}`,
          token,
          payload: { status: "INACTIVE", inactiveReason: "stolen" },
          headers: { "if-match": '"1"' },
        }),
        412,
        "VERSION_MISMATCH",
      );
      assert.equal((await nativeCard(hub, token, escn)).status, "ACTIVE");
    });

    it("valid through the last day of the card, EXPIRED and invalid from the next midnight", async () => {
      clock.set("2027-08-31T23:59:59.000Z");
      let card = await nativeCard(hub, token, escn);
      assert.equal(card.publicStatus, "ACTIVE");
      assert.equal(card.verdict, "valid");
      assert.equal((await publicStatus(hub, escn))["status"], "ACTIVE");

      clock.set("2027-09-01T00:00:00.000Z");
      card = await nativeCard(hub, token, escn);
      assert.equal(card.status, "ACTIVE", "the stored status does not change");
      assert.equal(card.publicStatus, "EXPIRED");
      assert.equal(card.verdict, "invalid");
      assert.equal((await publicStatus(hub, escn))["status"], "EXPIRED");
    });

    it("renewing the card (later expiresAt) makes it valid again while the status holds", async () => {
      ok(
        await putStatus(hub, token, UNIVERSITY.id, ESI, {
          state: "enrolled",
          validFrom: "2026-09-01",
          validUntil: null,
        }),
        200,
      );
      await patchCard(hub, token, escn, { expiresAt: "2028-08-31" });
      const card = await nativeCard(hub, token, escn);
      assert.equal(card.publicStatus, "ACTIVE");
      assert.equal(card.verdict, "valid");
      assert.equal((await publicStatus(hub, escn))["status"], "ACTIVE");
    });

    it("a status that ends on its date makes the card invalid the day after", async () => {
      ok(
        await putStatus(hub, token, UNIVERSITY.id, ESI, {
          state: "enrolled",
          validFrom: "2026-09-01",
          validUntil: "2027-09-30",
        }),
        200,
      );
      clock.set("2027-09-30T12:00:00.000Z");
      assert.equal((await nativeCard(hub, token, escn)).verdict, "valid");
      clock.set("2027-10-01T00:00:01.000Z");
      const card = await nativeCard(hub, token, escn);
      assert.equal(card.publicStatus, "ACTIVE");
      assert.equal(card.verdict, "invalid");
      clock.set(NOW);
    });

    it("a student-service card is valid when its holder is enrolled at an institution it serves", async () => {
      clock.set(NOW);
      const serviceToken = await hub.onboard({ ...STUDENT_SERVICE, serves: [UNIVERSITY.id] });
      await createPerson(hub, serviceToken, ESI, STUDENT_SERVICE.id);
      const serviceCard = await createCard(hub, serviceToken, ESI, STUDENT_SERVICE.id);
      ok(
        await putStatus(hub, token, UNIVERSITY.id, ESI, {
          state: "enrolled",
          validFrom: "2026-09-01",
          validUntil: "2027-08-31",
        }),
        200,
      );
      assert.equal((await nativeCard(hub, serviceToken, serviceCard)).verdict, "valid");
      ok(
        await putStatus(hub, token, UNIVERSITY.id, ESI, {
          state: "suspended",
          validFrom: "2026-09-01",
          validUntil: "2027-08-31",
        }),
        200,
      );
      assert.equal((await nativeCard(hub, serviceToken, serviceCard)).verdict, "suspended");
      // the university does not see the student service's card
      problem(
        await hub.request({ method: "GET", url: `/v1/cards/${serviceCard}`, token }),
        404,
        "CARD_NOT_FOUND",
      );
    });
  });

  describe("cursor paging", () => {
    let hub: TestHub;
    let token: string;
    let otherToken: string;
    const escns: string[] = [];
    before(async () => {
      hub = await startTestHub({ clock: fixedClock(NOW) });
      token = await hub.onboard(UNIVERSITY);
      otherToken = await hub.onboard(OTHER_UNIVERSITY);
      for (let n = 1; n <= 7; n++) {
        await createPerson(hub, token, esiOf(n), UNIVERSITY.id);
        ok(
          await putStatus(hub, token, UNIVERSITY.id, esiOf(n), {
            state: n % 3 === 0 ? "suspended" : "enrolled",
            validFrom: "2026-09-01",
          }),
          201,
        );
        escns.push(
          await createCard(
            hub,
            token,
            esiOf(n),
            UNIVERSITY.id,
            n % 4 === 0 ? { cardStatusType: "INACTIVE" } : {},
          ),
        );
      }
      // noise the university must never see
      await createPerson(hub, otherToken, ESI_2, OTHER_UNIVERSITY.id);
      ok(
        await putStatus(hub, otherToken, OTHER_UNIVERSITY.id, ESI_2, {
          state: "suspended",
          validFrom: "2026-09-01",
        }),
        201,
      );
      await createCard(hub, otherToken, ESI_2, OTHER_UNIVERSITY.id, { cardStatusType: "INACTIVE" });
    });
    after(() => hub.close());

    const allEsis = Array.from({ length: 7 }, (_, i) => esiOf(i + 1));

    it("/v1/cards: 7 cards in pages of 3, each once, none missing", async () => {
      const { items, pages } = await collect<{ escn: string }>(hub, token, "/v1/cards", 3);
      assert.deepEqual(pages, [3, 3, 1]);
      assert.deepEqual(
        items.map((c) => c.escn),
        escns,
      );
    });

    it("/v1/persons: 7 persons in pages of 3, each once, none missing", async () => {
      const { items, pages } = await collect<{ esi: string }>(hub, token, "/v1/persons", 3);
      assert.deepEqual(pages, [3, 3, 1]);
      assert.deepEqual(
        items.map((p) => p.esi),
        allEsis,
      );
    });

    it("/v1/student-statuses: 7 statuses in pages of 3, each once, none missing", async () => {
      const { items, pages } = await collect<{ esi: string; organisationId: string }>(
        hub,
        token,
        "/v1/student-statuses",
        3,
      );
      assert.deepEqual(pages, [3, 3, 1]);
      assert.deepEqual(
        items.map((s) => s.esi),
        allEsis,
      );
      assert.ok(items.every((s) => s.organisationId === UNIVERSITY.id));
    });

    it("the `state` filter pages over matching statuses only", async () => {
      const suspended = await collect<{ esi: string; state: string }>(
        hub,
        token,
        "/v1/student-statuses?state=suspended",
        1,
      );
      assert.deepEqual(suspended.pages, [1, 1]);
      assert.deepEqual(
        suspended.items.map((s) => s.esi),
        [esiOf(3), esiOf(6)],
      );
      const enrolled = await collect<{ esi: string; state: string }>(
        hub,
        token,
        "/v1/student-statuses?state=enrolled",
        3,
      );
      assert.deepEqual(enrolled.pages, [3, 2]);
      assert.deepEqual(
        enrolled.items.map((s) => s.esi),
        [1, 2, 4, 5, 7].map(esiOf),
      );
      ok(await hub.request({ method: "GET", url: "/v1/student-statuses?state=graduated", token }), 400);
    });

    it("the `status` filter pages over matching cards only", async () => {
      const inactive = await collect<{ escn: string; status: string }>(
        hub,
        token,
        "/v1/cards?status=INACTIVE",
        3,
      );
      assert.deepEqual(
        inactive.items.map((c) => c.escn),
        [escns[3]],
      );
      const active = await collect<{ escn: string; status: string }>(
        hub,
        token,
        "/v1/cards?status=ACTIVE",
        2,
      );
      assert.deepEqual(active.pages, [2, 2, 2]);
      assert.deepEqual(
        active.items.map((c) => c.escn),
        escns.filter((_, i) => i !== 3),
      );
      assert.ok(active.items.every((c) => c.status === "ACTIVE"));
    });

    it("a last page that is exactly full has no `next`", async () => {
      const { pages } = await collect(hub, token, "/v1/cards", 7);
      assert.deepEqual(pages, [7]);
      const byTwo = await collect(hub, token, "/v1/cards?status=ACTIVE", 3);
      assert.deepEqual(byTwo.pages, [3, 3]);
    });

    it("an item added while paging shows up once, at the end, and nothing is skipped", async () => {
      const first = await hub.request({ method: "GET", url: "/v1/persons?limit=3", token });
      ok(first, 200);
      await createPerson(hub, token, esiOf(8), UNIVERSITY.id);
      const seen = first.json().items.map((p: { esi: string }) => p.esi) as string[];
      let next = first.json().next as string | null;
      while (next !== null) {
        const page = await hub.request({ method: "GET", url: `/v1/persons?limit=3&after=${next}`, token });
        ok(page, 200);
        seen.push(...page.json().items.map((p: { esi: string }) => p.esi));
        next = page.json().next;
      }
      assert.deepEqual(seen, [...allEsis, esiOf(8)]);
    });

    it("another organisation pages over its own items only", async () => {
      const cards = await collect<{ escn: string }>(hub, otherToken, "/v1/cards", 3);
      assert.equal(cards.items.length, 1);
      const statuses = await collect<{ esi: string }>(hub, otherToken, "/v1/student-statuses", 3);
      assert.deepEqual(
        statuses.items.map((s) => s.esi),
        [ESI_2],
      );
      const filtered = await collect(
        hub,
        token,
        `/v1/student-statuses?organisation=${OTHER_UNIVERSITY.id}`,
        3,
      );
      assert.deepEqual(filtered.items, []);
    });

    it("a cursor the hub did not make, or a limit above the maximum, is a 400", async () => {
      problem(
        await hub.request({ method: "GET", url: "/v1/cards?after=bm9wZQ", token }),
        400,
        "CURSOR_INVALID",
      );
      problem(
        await hub.request({ method: "GET", url: "/v1/persons?after=12", token }),
        400,
        "CURSOR_INVALID",
      );
      problem(
        await hub.request({ method: "GET", url: "/v1/cards?limit=101", token }),
        400,
        "PAGE_SIZE_TOO_LARGE",
      );
      ok(await hub.request({ method: "GET", url: "/v1/cards?limit=0", token }), 400);
    });
  });

  describe("paging with a small configured maximum", () => {
    let hub: TestHub;
    let token: string;
    before(async () => {
      hub = await startTestHub({ clock: fixedClock(NOW), env: { OPENESC_MAX_PAGE_SIZE: "2" } });
      token = await hub.onboard(UNIVERSITY);
      for (let n = 1; n <= 3; n++) await createPerson(hub, token, esiOf(n), UNIVERSITY.id);
    });
    after(() => hub.close());

    it("a list without `limit` answers pages of the maximum, not a 400", async () => {
      const first = await hub.request({ method: "GET", url: "/v1/persons", token });
      ok(first, 200);
      assert.equal(first.json().items.length, 2);
      assert.notEqual(first.json().next, null);
      const second = await hub.request({
        method: "GET",
        url: `/v1/persons?after=${first.json().next}`,
        token,
      });
      ok(second, 200);
      assert.equal(second.json().items.length, 1);
      assert.equal(second.json().next, null);
      problem(
        await hub.request({ method: "GET", url: "/v1/persons?limit=3", token }),
        400,
        "PAGE_SIZE_TOO_LARGE",
      );
    });
  });

  describe("the public status stays exact behind its cache", () => {
    let hub: TestHub;
    let token: string;
    let escn: string;
    before(async () => {
      hub = await startTestHub({ clock: fixedClock(NOW) });
      token = await hub.onboard(UNIVERSITY);
      await createPerson(hub, token, ESI, UNIVERSITY.id);
      escn = await createCard(hub, token, ESI, UNIVERSITY.id, { displayName: "Jeanne E." });
      // The holder consents to their display name being shown; whether it is shown is then the issuer's choice.
      ok(
        await hub.request({
          method: "PUT",
          url: `/v1/persons/${ESI}/consents/display-name-publication`,
          token,
          payload: { wordingVersion: "2026-11" },
        }),
        201,
      );
    });
    after(() => hub.close());

    /** Reads twice, so that the second answer comes from the cache when there is one. */
    async function status(): Promise<Record<string, unknown>> {
      const first = await publicStatus(hub, escn);
      const second = await publicStatus(hub, escn);
      assert.deepEqual(second, first);
      return first;
    }

    it("starts ACTIVE, without the display name (the issuer has not chosen to show it)", async () => {
      assert.deepEqual(await publicStatus(hub, escn.toUpperCase()), await status());
      assert.deepEqual(await status(), {
        cardNumber: escn,
        issuedAt: "2026-09-01",
        expiresAt: "2030-08-31",
        issuerIdentifier: UNIVERSITY.id,
        issuerName: UNIVERSITY.name,
        status: "ACTIVE",
      });
    });

    it("shows a change made through ESC-R PUT at once", async () => {
      const response = await hub.request({
        method: "PUT",
        url: `/esc-rest/api/v2/cards/${escn}`,
        token,
        payload: cardPayload(ESI, UNIVERSITY.id, { cardStatusType: "INACTIVE", displayName: "Jeanne E." }),
      });
      ok(response, 200);
      assert.equal((await status())["status"], "INACTIVE");
      const renewed = await hub.request({
        method: "PUT",
        url: `/esc-rest/api/v2/cards/${escn}`,
        token,
        payload: cardPayload(ESI, UNIVERSITY.id, { expiresAt: "2031-08-31", displayName: "Jeanne E." }),
      });
      ok(renewed, 200);
      const after = await status();
      assert.equal(after["status"], "ACTIVE");
      assert.equal(after["expiresAt"], "2031-08-31");
    });

    it("shows a change made through PATCH /v1/cards at once", async () => {
      await patchCard(hub, token, escn, { status: "INACTIVE", inactiveReason: "stolen" });
      assert.equal((await status())["status"], "INACTIVE");
      await patchCard(hub, token, escn, { status: "ACTIVE", displayName: "J. Exemple" });
      const after = await status();
      assert.equal(after["status"], "ACTIVE");
      assert.equal(after["displayName"], undefined, "still hidden: showDisplayName is false");
    });

    it("shows the display name as soon as the issuer turns showDisplayName on, and hides it when turned off", async () => {
      const on = await hub.request({
        method: "PATCH",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token,
        payload: { showDisplayName: true },
      });
      ok(on, 200);
      assert.equal((await status())["displayName"], "J. Exemple");

      await patchCard(hub, token, escn, { displayName: "Jeanne Exemple" });
      assert.equal((await status())["displayName"], "Jeanne Exemple");

      await patchCard(hub, token, escn, { displayName: null });
      assert.equal((await status())["displayName"], undefined, "a card without a display name shows none");
      await patchCard(hub, token, escn, { displayName: "Jeanne Exemple" });
      assert.equal((await status())["displayName"], "Jeanne Exemple");

      const off = await hub.request({
        method: "PATCH",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token,
        payload: { showDisplayName: false },
      });
      ok(off, 200);
      assert.equal((await status())["displayName"], undefined);
    });

    it("shows the issuer's new name as soon as the operator renames it", async () => {
      ok(
        await hub.request({
          method: "PATCH",
          url: `/v1/organisations/${UNIVERSITY.id}`,
          token: ADMIN_TOKEN,
          payload: { name: "Université de Saint-Valentin-les-Bains" },
        }),
        200,
      );
      assert.equal((await status())["issuerName"], "Université de Saint-Valentin-les-Bains");
    });

    it("a refused change leaves the answer as it was", async () => {
      const before = await status();
      problem(
        await hub.request({
          method: "PATCH",
          url: `/v1/cards/${escn}`,
          token,
          payload: { status: "INACTIVE" },
          headers: { "if-match": '"1"' },
        }),
        412,
        "VERSION_MISMATCH",
      );
      assert.deepEqual(await status(), before);
    });

    it("a deleted card is a 404 at once", async () => {
      ok(await hub.request({ method: "DELETE", url: `/esc-rest/api/v2/cards/${escn}`, token }), 204);
      const response = await hub.request({ method: "GET", url: `/esc-rest/api/v2/cards/${escn}/status` });
      assert.equal(response.statusCode, 404, response.body);
      assert.equal(response.json().code, "CARD_NOT_FOUND");
    });
  });
});
