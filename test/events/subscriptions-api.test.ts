/**
 * The subscription API (`/v1/subscriptions`): its lifecycle, and bad input answered 400 with the field at
 * fault and the reason, with nothing created or changed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { CANTEEN, CARD_BUREAU, cardPayload, ESI, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { ADMIN_TOKEN, startTestHub, type TestHub } from "../support/test-hub.ts";

/** A well-formed ESCN of the university (prefix 001, PIC 999888777) and one of another issuer. */
const ESCN_A = "3e506370-826a-103d-bf76-001999888777";
const ESCN_B = "3e506371-826a-103d-bf76-001111222333";

function assertProblem(res: LightMyRequestResponse, status: number, code: string, field?: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers["content-type"]), /^application\/problem\+json/, res.body);
  const body = res.json<{ code: string; errors?: { field: string; reason: string }[] }>();
  assert.equal(body.code, code, res.body);
  if (field !== undefined) {
    const issue = body.errors?.find((e) => e.field === field);
    assert.ok(issue, `errors should name ${field}: ${res.body}`);
    assert.ok(issue.reason.length > 0, `errors should give a reason for ${field}: ${res.body}`);
  }
}

describe("the subscription API", () => {
  let hub: TestHub;
  /** A hub of an operator who did not allow private webhook addresses (the default). */
  let strictHub: TestHub;
  let university: string;
  let strictUniversity: string;
  let canteen: string;
  let bureau: string;

  before(async () => {
    [hub, strictHub] = await Promise.all([
      startTestHub({ env: { OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true" } }),
      startTestHub(),
    ]);
    university = await hub.onboard(UNIVERSITY);
    canteen = await hub.onboard(CANTEEN);
    bureau = await hub.onboard(CARD_BUREAU);
    strictUniversity = await strictHub.onboard(UNIVERSITY);
  });
  after(async () => {
    await Promise.all([hub.close(), strictHub.close()]);
  });

  const create = (h: TestHub, token: string, payload: unknown) =>
    h.request({
      method: "POST",
      url: "/v1/subscriptions",
      token,
      payload: payload as Record<string, unknown>,
    });

  /** Every subscription the caller has, read over HTTP, page by page. */
  async function all(h: TestHub, token: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let after = "";
    for (;;) {
      const page = await h.request({
        method: "GET",
        url: `/v1/subscriptions?limit=100${after ? `&after=${after}` : ""}`,
        token,
      });
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json<{ items: Record<string, unknown>[]; next: string | null }>();
      items.push(...body.items);
      if (body.next === null) return items;
      after = body.next;
    }
  }

  /** Runs a request that must be refused, and checks that the caller's subscriptions are as they were. */
  async function refused(
    h: TestHub,
    token: string,
    send: () => Promise<LightMyRequestResponse>,
  ): Promise<LightMyRequestResponse> {
    const before = await all(h, token);
    const res = await send();
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `expected a 4xx: ${res.statusCode} ${res.body}`);
    assert.deepEqual(await all(h, token), before, `the refused request changed something: ${res.body}`);
    return res;
  }

  it("creates, lists, reads, changes and deletes a subscription", async () => {
    const made = await create(hub, university, {
      url: "https://hooks.example.org/openesc",
      description: "card office",
      types: ["eu.openesc.card.updated", "card.created"],
      issuer: UNIVERSITY.id,
      cards: [ESCN_A, ESCN_B, ESCN_A.toUpperCase()],
    });
    assert.equal(made.statusCode, 201, made.body);
    const created = made.json();
    assert.equal(made.headers["location"], `/v1/subscriptions/${created.id}`);
    assert.equal(made.headers["etag"], '"1"');
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(created.url, "https://hooks.example.org/openesc");
    assert.deepEqual(created.types, ["card.updated", "card.created"], "types are kept in their short form");
    assert.equal(created.issuer, UNIVERSITY.id);
    assert.equal(created.cardSet, true, "giving cards turns the card set on");
    assert.equal(created.state, "active");
    assert.equal(created.version, 1);
    assert.equal(created.organisationId, undefined);
    assert.equal(created.seq, undefined);

    const read = await hub.request({
      method: "GET",
      url: `/v1/subscriptions/${created.id}`,
      token: university,
    });
    assert.equal(read.statusCode, 200, read.body);
    assert.equal(read.headers["etag"], '"1"');
    const detail = read.json();
    assert.equal(detail.secret, undefined, "the secret is shown once");
    assert.doesNotMatch(read.body, /whsec_/);
    assert.equal(detail.cards, 2, "the same ESCN in two cases counts once");
    assert.deepEqual(detail.deliveries, { pending: 0, delivered: 0, dead: 0 });
    assert.equal(detail.description, "card office");
    assert.equal(detail.lastStatus, null);

    const listed = (await all(hub, university)).find((s) => s["id"] === created.id);
    assert.ok(listed, "the new subscription is listed");
    assert.equal(listed["secret"], undefined);

    // A conditional change with the current ETag applies; the same ETag again is stale.
    const paused = await hub.request({
      method: "PATCH",
      url: `/v1/subscriptions/${created.id}`,
      token: university,
      headers: { "if-match": '"1"' },
      payload: { state: "paused", description: null },
    });
    assert.equal(paused.statusCode, 200, paused.body);
    assert.equal(paused.headers["etag"], '"2"');
    assert.equal(paused.json().state, "paused");
    assert.equal(paused.json().description, null);
    assert.equal(paused.json().secret, undefined);
    const stale = await hub.request({
      method: "PATCH",
      url: `/v1/subscriptions/${created.id}`,
      token: university,
      headers: { "if-match": '"1"' },
      payload: { state: "active" },
    });
    assert.equal(stale.statusCode, 412, stale.body);
    const reread = await hub.request({
      method: "GET",
      url: `/v1/subscriptions/${created.id}`,
      token: university,
    });
    assert.equal(reread.json().state, "paused", "a stale change is not applied");
    assert.equal(reread.json().version, 2);
    const unconditional = await hub.request({
      method: "PATCH",
      url: `/v1/subscriptions/${created.id}`,
      token: university,
      payload: { types: null, url: "https://hooks.example.org/other" },
    });
    assert.equal(unconditional.statusCode, 200, unconditional.body);
    assert.equal(unconditional.json().types, null);
    assert.equal(unconditional.json().url, "https://hooks.example.org/other");
    assert.equal(unconditional.json().version, 3);

    const gone = await hub.request({
      method: "DELETE",
      url: `/v1/subscriptions/${created.id}`,
      token: university,
    });
    assert.equal(gone.statusCode, 204, gone.body);
    assert.equal(gone.body, "");
    const missing = await hub.request({
      method: "GET",
      url: `/v1/subscriptions/${created.id}`,
      token: university,
    });
    assertProblem(missing, 404, "SUBSCRIPTION_NOT_FOUND");
    assert.equal(
      (await all(hub, university)).find((s) => s["id"] === created.id),
      undefined,
    );
    const again = await hub.request({
      method: "DELETE",
      url: `/v1/subscriptions/${created.id}`,
      token: university,
    });
    assertProblem(again, 404, "SUBSCRIPTION_NOT_FOUND");
  });

  it("pages through the caller's subscriptions with a cursor, without gaps or repeats", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const made = await create(hub, bureau, { url: `https://hooks.example.org/page/${i}` });
      assert.equal(made.statusCode, 201, made.body);
      ids.push(made.json().id);
    }
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await hub.request({
        method: "GET",
        url: `/v1/subscriptions?limit=2${after ? `&after=${after}` : ""}`,
        token: bureau,
      });
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json<{ items: { id: string; url: string }[]; next: string | null }>();
      assert.ok(body.items.length <= 2);
      seen.push(...body.items.map((s) => s.id));
      after = body.next;
      pages++;
    } while (after !== null && pages < 10);
    assert.deepEqual(seen, ids, "every subscription once, in the order made");
    assert.ok(pages >= 3, `five subscriptions in pages of two: ${pages} pages`);
    const forged = await hub.request({ method: "GET", url: "/v1/subscriptions?after=xyz", token: bureau });
    assertProblem(forged, 400, "CURSOR_INVALID", "after");
    const tooMany = await hub.request({ method: "GET", url: "/v1/subscriptions?limit=1000", token: bureau });
    assertProblem(tooMany, 400, "PAGE_SIZE_TOO_LARGE", "limit");
    for (const id of ids) {
      await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: bureau });
    }
  });

  it("refuses a URL that is not an absolute http(s) URL without credentials, naming the rule", async () => {
    for (const url of [
      "ftp://hooks.example.org/openesc",
      "javascript:alert(1)",
      "https://user:secret@hooks.example.org/openesc",
      "https://:secret@hooks.example.org/openesc",
      "/hooks/openesc",
      "hooks.example.org/openesc",
      "",
    ]) {
      const res = await refused(hub, university, () => create(hub, university, { url }));
      assertProblem(res, 400, "WEBHOOK_URL_INVALID", "/url");
    }
    // Too long: at most 2048 characters.
    const long = `https://hooks.example.org/${"a".repeat(2048)}`;
    const res = await refused(hub, university, () => create(hub, university, { url: long }));
    assert.equal(res.statusCode, 400, res.body);
    assertProblem(res, 400, res.json().code, "/url");
    // The same rules hold when the URL is changed.
    const made = await create(hub, university, { url: "https://hooks.example.org/ok" });
    const id = made.json().id;
    for (const url of ["ftp://hooks.example.org/x", "https://a:b@hooks.example.org/x"]) {
      const patched = await refused(hub, university, () =>
        hub.request({ method: "PATCH", url: `/v1/subscriptions/${id}`, token: university, payload: { url } }),
      );
      assertProblem(patched, 400, "WEBHOOK_URL_INVALID", "/url");
    }
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("refuses private, loopback and link-local addresses unless the operator allows them", async () => {
    const privateUrls = [
      "http://127.0.0.1/hook",
      "http://10.0.0.1/hook",
      "http://[::1]/hook",
      "http://localhost/hook",
      "http://169.254.169.254/latest/meta-data",
    ];
    for (const url of privateUrls) {
      const res = await refused(strictHub, strictUniversity, () =>
        create(strictHub, strictUniversity, { url }),
      );
      assertProblem(res, 400, "WEBHOOK_URL_INVALID", "/url");
    }
    // Disguised forms of loopback are what they reach.
    for (const url of ["http://2130706433/hook", "http://0x7f.1/hook", "http://127.1/hook"]) {
      const res = await refused(strictHub, strictUniversity, () =>
        create(strictHub, strictUniversity, { url }),
      );
      assertProblem(res, 400, "WEBHOOK_URL_INVALID", "/url");
    }
    const publicOne = await create(strictHub, strictUniversity, { url: "https://hooks.example.org/esc" });
    assert.equal(publicOne.statusCode, 201, publicOne.body);

    // Allowed by the operator: all of them but the cloud metadata address.
    const made: string[] = [];
    for (const url of privateUrls.slice(0, 4)) {
      const res = await create(hub, university, { url });
      assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
      made.push(res.json().id);
    }
    const metadata = await refused(hub, university, () =>
      create(hub, university, { url: "http://169.254.169.254/latest/meta-data" }),
    );
    assertProblem(metadata, 400, "WEBHOOK_URL_INVALID", "/url");
    for (const id of made)
      await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("refuses unknown event types, an empty type list, unknown issuers and fields", async () => {
    const url = "https://hooks.example.org/filters";
    for (const types of [["card.exploded"], ["eu.openesc.nope"], ["eu.openesc.card"], ["CARD.UPDATED"]]) {
      const res = await refused(hub, university, () => create(hub, university, { url, types }));
      assertProblem(res, 400, "EVENT_TYPE_UNKNOWN", "/types/0");
    }
    const second = await refused(hub, university, () =>
      create(hub, university, { url, types: ["card.updated", "card.exploded"] }),
    );
    assertProblem(second, 400, "EVENT_TYPE_UNKNOWN", "/types/1");
    const empty = await refused(hub, university, () => create(hub, university, { url, types: [] }));
    assert.equal(empty.statusCode, 400, empty.body);
    assertProblem(empty, 400, empty.json().code, "/types");
    const issuer = await refused(hub, university, () =>
      create(hub, university, { url, issuer: "123456789" }),
    );
    assertProblem(issuer, 400, "ISSUER_UNKNOWN", "/issuer");
    const unknownField = await refused(hub, university, () =>
      create(hub, university, { url, colour: "blue" }),
    );
    assertProblem(unknownField, 400, "VALIDATION_FAILED", "/colour");
    const wrongType = await refused(hub, university, () => create(hub, university, { url, cardSet: "yes" }));
    assertProblem(wrongType, 400, "VALIDATION_FAILED", "/cardSet");

    // The same checks when a subscription is changed: nothing of a refused change applies.
    const made = await create(hub, university, { url, types: ["card.created"] });
    const id = made.json().id;
    for (const [payload, code, field] of [
      [{ types: ["card.exploded"] }, "EVENT_TYPE_UNKNOWN", "/types/0"],
      [{ issuer: "123456789" }, "ISSUER_UNKNOWN", "/issuer"],
      [{ state: "deleted" }, "VALIDATION_FAILED", "/state"],
      [{ secret: "whsec_mine" }, "VALIDATION_FAILED", "/secret"],
    ] as const) {
      const res = await refused(hub, university, () =>
        hub.request({ method: "PATCH", url: `/v1/subscriptions/${id}`, token: university, payload }),
      );
      assertProblem(res, 400, code, field);
    }
    const emptyPatch = await refused(hub, university, () =>
      hub.request({ method: "PATCH", url: `/v1/subscriptions/${id}`, token: university, payload: {} }),
    );
    assert.equal(emptyPatch.statusCode, 400, emptyPatch.body);
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("refuses malformed ESCNs and too many at once in a card set, naming the entry", async () => {
    const url = "https://hooks.example.org/cards";
    const malformed = await refused(hub, canteen, () =>
      create(hub, canteen, { url, cards: [ESCN_A, "not-an-escn", ESCN_B] }),
    );
    assertProblem(malformed, 400, "ESCN_INVALID", "/cards/1");
    const version2 = await refused(hub, canteen, () =>
      create(hub, canteen, { url, cards: ["3e506370-826a-203d-bf76-001999888777"] }),
    );
    assertProblem(version2, 400, "ESCN_INVALID", "/cards/0");
    const many = Array.from(
      { length: 1001 },
      (_, i) => `3e50${String(i).padStart(4, "0")}-826a-103d-bf76-001999888777`,
    );
    const tooMany = await refused(hub, canteen, () => create(hub, canteen, { url, cards: many }));
    assert.equal(tooMany.statusCode, 400, tooMany.body);
    assertProblem(tooMany, 400, tooMany.json().code, "/cards");
    // A thousand is the limit, not above it.
    const thousand = await create(hub, canteen, { url, cards: many.slice(0, 1000) });
    assert.equal(thousand.statusCode, 201, thousand.body);
    const id = thousand.json().id;

    const count = async () =>
      (await hub.request({ method: "GET", url: `/v1/subscriptions/${id}`, token: canteen })).json().cards;
    assert.equal(await count(), 1000);
    const badAdd = await hub.request({
      method: "POST",
      url: `/v1/subscriptions/${id}/cards`,
      token: canteen,
      payload: { add: [ESCN_A, "3e506370-826a-103d-bf76"], remove: [many[0]] },
    });
    assertProblem(badAdd, 400, "ESCN_INVALID", "/add/1");
    assert.equal(await count(), 1000, "nothing of a refused change applies");
    const badRemove = await hub.request({
      method: "POST",
      url: `/v1/subscriptions/${id}/cards`,
      token: canteen,
      payload: { remove: ["nope"] },
    });
    assertProblem(badRemove, 400, "ESCN_INVALID", "/remove/0");
    const addTooMany = await hub.request({
      method: "POST",
      url: `/v1/subscriptions/${id}/cards`,
      token: canteen,
      payload: { add: [...many.slice(1), ESCN_A, ESCN_B] },
    });
    assert.equal(addTooMany.statusCode, 400, addTooMany.body);
    assertProblem(addTooMany, 400, addTooMany.json().code, "/add");
    assert.equal(await count(), 1000);
    const changed = await hub.request({
      method: "POST",
      url: `/v1/subscriptions/${id}/cards`,
      token: canteen,
      payload: { add: [ESCN_A], remove: [many[0], many[1]] },
    });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.deepEqual(changed.json(), { added: 1, removed: 2, cards: 999 });
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: canteen });
  });

  it("lets a service provider subscribe, and refuses a token without subscriptions:manage", async () => {
    const made = await create(hub, canteen, { url: "https://canteen.example.org/hook", cards: [ESCN_A] });
    assert.equal(made.statusCode, 201, made.body);
    assert.equal(made.json().cardSet, true);
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${made.json().id}`, token: canteen });

    // The university's token limited to reading cards and events.
    const limited = await hub.request({
      method: "POST",
      url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
      token: ADMIN_TOKEN,
      payload: { name: "reader", scopes: ["cards:read", "events:read"] },
    });
    assert.equal(limited.statusCode, 201, limited.body);
    const reader = limited.json().token as string;
    const own = await create(hub, university, { url: "https://hooks.example.org/scoped" });
    const id = own.json().id;
    for (const [method, path, payload] of [
      ["POST", "/v1/subscriptions", { url: "https://hooks.example.org/denied" }],
      ["GET", "/v1/subscriptions", undefined],
      ["GET", `/v1/subscriptions/${id}`, undefined],
      ["PATCH", `/v1/subscriptions/${id}`, { state: "paused" }],
      ["POST", `/v1/subscriptions/${id}/cards`, { add: [ESCN_A] }],
      ["DELETE", `/v1/subscriptions/${id}`, undefined],
    ] as const) {
      const res = await refused(hub, university, () =>
        hub.request({ method, url: path, token: reader, ...(payload ? { payload } : {}) }),
      );
      assertProblem(res, 403, "SCOPE_MISSING");
    }
    // The operator has no subscriptions; no token, no answer.
    const operator = await create(hub, ADMIN_TOKEN, { url: "https://hooks.example.org/operator" });
    assert.equal(operator.statusCode, 403, operator.body);
    const anonymous = await hub.request({
      method: "POST",
      url: "/v1/subscriptions",
      payload: { url: "https://hooks.example.org/anon" },
    });
    assertProblem(anonymous, 401, "UNAUTHENTICATED");
    const detail = await hub.request({ method: "GET", url: `/v1/subscriptions/${id}`, token: university });
    assert.equal(detail.json().state, "active");
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${id}`, token: university });
  });

  it("lists the ESCNs a card set follows", async () => {
    // Seed a real card so that a bureau's card set names something that exists (not required, but usual).
    const person = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/persons",
      token: university,
      payload: personPayload(ESI, UNIVERSITY.id),
    });
    assert.equal(person.statusCode, 201, person.body);
    const card = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/cards",
      token: university,
      payload: cardPayload(ESI, UNIVERSITY.id),
    });
    assert.equal(card.statusCode, 201, card.body);
    const escn = card.json().cardNumber as string;
    const made = await create(hub, bureau, { url: "https://print.example.org/hook", cards: [escn] });
    assert.equal(made.statusCode, 201, made.body);
    const cards = await hub.request({
      method: "GET",
      url: `/v1/subscriptions/${made.json().id}/cards`,
      token: bureau,
    });
    assert.equal(cards.statusCode, 200, cards.body);
    assert.deepEqual(cards.json().items, [escn]);
    await hub.request({ method: "DELETE", url: `/v1/subscriptions/${made.json().id}`, token: bureau });
  });
});
