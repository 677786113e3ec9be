import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateEscn } from "../../src/domain/escn.ts";
import { parsePic } from "../../src/domain/pic.ts";
import {
  CANTEEN,
  cardPayload,
  ESI,
  ESI_2,
  OTHER_UNIVERSITY,
  personPayload,
  UNIVERSITY,
} from "../support/fixtures.ts";
import { ADMIN_TOKEN, startTestHub, type TestHub } from "../support/test-hub.ts";

const ESCR = "/esc-rest/api/v2";
const A = UNIVERSITY.id;
const B = OTHER_UNIVERSITY.id;
const e = encodeURIComponent;
const ENTRY_FIELDS = [
  "action",
  "at",
  "hash",
  "organisationId",
  "purpose",
  "seq",
  "subject",
  "subjectType",
  "tokenId",
].sort();

interface Entry {
  seq: number;
  at: string;
  organisationId: string | null;
  tokenId: string | null;
  action: string;
  purpose: string;
  subjectType: string;
  subject: string;
  hash: string;
}

describe("GET /v1/audit: who read or changed an institution's students' data", () => {
  let hub: TestHub;
  let tokenA: string;
  let tokenB: string;
  let tokenCanteen: string;
  /** A second token of A, so that entries can be told apart by token. */
  let frontDesk: { id: string; token: string };
  let escn: string;

  const as = (
    token: string | undefined,
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    url: string,
    payload?: object,
  ) => hub.request({ method, url, ...(token ? { token } : {}), ...(payload ? { payload } : {}) });

  async function must(status: number, pending: ReturnType<typeof as>) {
    const res = await pending;
    assert.equal(res.statusCode, status, `${res.statusCode} ${res.body}`);
    return res;
  }

  /** Every entry the token may see, following `next`. */
  async function trail(token: string, query = "", limit = 100): Promise<Entry[]> {
    const items: Entry[] = [];
    let after = "";
    for (;;) {
      const page = await must(200, as(token, "GET", `/v1/audit?limit=${limit}${query}${after}`));
      items.push(...page.json().items);
      const next = page.json().next as string | null;
      if (next === null) return items;
      after = `&after=${next}`;
    }
  }

  async function auditCount(): Promise<number> {
    await hub.services.audit.flush();
    return hub.services.storage.read.audit.count();
  }

  before(async () => {
    hub = await startTestHub();
    tokenA = await hub.onboard(UNIVERSITY);
    tokenB = await hub.onboard(OTHER_UNIVERSITY);
    tokenCanteen = await hub.onboard(CANTEEN);
    const made = await must(201, as(tokenA, "POST", `/v1/organisations/${A}/tokens`, { name: "front desk" }));
    frontDesk = { id: made.json().id, token: made.json().token };
    await must(201, as(tokenA, "POST", `${ESCR}/persons`, personPayload(ESI, A)));
    escn = (await must(201, as(tokenA, "POST", `${ESCR}/cards`, cardPayload(ESI, A)))).json().cardNumber;
  });
  after(() => hub.close());

  it("shows the organisation, token, action and purpose of a card read and a person update", async () => {
    await must(200, as(frontDesk.token, "GET", `/v1/cards/${escn}`));
    await must(
      200,
      as(
        frontDesk.token,
        "PUT",
        `${ESCR}/persons/${e(ESI)}`,
        personPayload(ESI, A, { fullName: "Jeanne Renommée" }),
      ),
    );
    const entries = await trail(tokenA);
    for (const entry of entries) {
      assert.deepEqual(Object.keys(entry).sort(), ENTRY_FIELDS, "no internal person number leaves");
      assert.match(entry.hash, /^[0-9a-f]{64}$/);
    }
    assert.deepEqual(
      entries.map((x) => x.seq),
      [...entries.map((x) => x.seq)].sort((x, y) => x - y),
      "oldest first",
    );
    // Reads are group-committed, so a read can take a later place in the chain than a write made after it;
    // `at` keeps the order in which they happened.
    const byFrontDesk = entries
      .filter((x) => x.tokenId === frontDesk.id)
      .sort((x, y) => x.at.localeCompare(y.at) || x.seq - y.seq);
    assert.deepEqual(
      byFrontDesk.map((x) => [x.organisationId, x.action, x.purpose, x.subjectType]),
      [
        [A, "read", "card-management", "card"],
        [A, "update", "card-management", "person"],
      ],
    );
    assert.equal(byFrontDesk[0]?.subject, escn);
    // The person is named by the hub's internal number, never by name or ESI.
    const personSubject = byFrontDesk[1]?.subject ?? "";
    assert.match(personSubject, /^\d+$/);
    // The writes that made the data are there too, under the onboarding token.
    const creations = entries.filter((x) => x.action === "create");
    assert.deepEqual(
      creations.map((x) => [x.subjectType, x.subject]),
      [
        ["person", personSubject],
        ["card", escn],
      ],
    );
    assert.ok(creations.every((x) => x.tokenId !== frontDesk.id && x.organisationId === A));
    // Pages of one give the same trail.
    assert.deepEqual(await trail(tokenA, "", 1), entries);
  });

  it("a second institution sees none of the first's entries, even about a student both hold, nor the reverse", async () => {
    const shared = await must(
      201,
      as(tokenB, "POST", `${ESCR}/persons`, personPayload(ESI, B, { fullName: "J. Kowalska" })),
    );
    assert.equal(shared.json().identifier, ESI);
    await must(200, as(tokenB, "GET", `${ESCR}/persons/${e(ESI)}`));
    await must(200, as(tokenA, "GET", `${ESCR}/persons/${e(ESI)}`));
    try {
      const theirs = await trail(tokenB);
      assert.ok(theirs.length >= 2);
      assert.ok(
        theirs.every((x) => x.organisationId === B),
        "B sees only what B did",
      );
      assert.ok(!theirs.some((x) => x.subject === escn));
      const ours = await trail(tokenA);
      assert.ok(!ours.some((x) => x.organisationId === B), "A does not learn that B holds its student");
      assert.ok(
        ours.some((x) => x.organisationId === A && x.action === "read" && x.subjectType === "person"),
      );
    } finally {
      await must(204, as(tokenB, "DELETE", `${ESCR}/persons/${e(ESI)}`));
    }
    // Filtered on the student A holds and B no longer does: B gets the answer for an unknown ESI.
    const refused = await must(404, as(tokenB, "GET", `/v1/audit?esi=${e(ESI)}`));
    assert.equal(refused.json().code, "PERSON_NOT_FOUND");
    const unknown = await must(
      404,
      as(tokenB, "GET", `/v1/audit?esi=${e("urn:schac:personalUniqueCode:int:esi:fr:nobody")}`),
    );
    assert.equal(refused.body, unknown.body);
  });

  it("esi narrows to one student's trail, escn to one card's", async () => {
    await must(201, as(tokenA, "POST", `${ESCR}/persons`, personPayload(ESI_2, A)));
    await must(200, as(tokenA, "GET", `/v1/persons/${e(ESI_2)}`));
    await must(200, as(tokenA, "GET", `/v1/persons/${e(ESI)}`));
    const all = await trail(tokenA);
    const jeanne = await trail(tokenA, `&esi=${e(ESI)}`);
    const other = await trail(tokenA, `&esi=${e(ESI_2)}`);
    assert.ok(jeanne.length > 0 && other.length > 0);
    assert.equal(new Set(jeanne.map((x) => x.subject)).size, 2, "Jeanne's person number and her card");
    assert.ok(jeanne.some((x) => x.subject === escn));
    assert.ok(!other.some((x) => jeanne.some((y) => y.subject === x.subject)));
    assert.deepEqual(
      all.filter((x) => jeanne.some((y) => y.seq === x.seq) || other.some((y) => y.seq === x.seq)),
      all,
    );
    const card = await trail(tokenA, `&escn=${escn}`);
    assert.ok(card.length >= 2);
    assert.ok(card.every((x) => x.subjectType === "card" && x.subject === escn));
    // Another institution, filtered on A's card: the answer for a card nobody has.
    const refused = await must(404, as(tokenB, "GET", `/v1/audit?escn=${escn}`));
    assert.equal(refused.json().code, "CARD_NOT_FOUND");
    const nobodys = generateEscn({ prefix: "001", pic: parsePic(A) });
    const unknown = await must(404, as(tokenB, "GET", `/v1/audit?escn=${nobodys}`));
    assert.equal(refused.body, unknown.body);
    assert.equal((await must(400, as(tokenA, "GET", "/v1/audit?esi=nobody"))).json().code, "ESI_INVALID");
    assert.equal((await must(400, as(tokenA, "GET", "/v1/audit?escn=42"))).json().code, "ESCN_INVALID");
  });

  it("a deleted card's trail stays readable by its issuer", async () => {
    const made = await must(201, as(tokenA, "POST", `${ESCR}/cards`, cardPayload(ESI_2, A)));
    const gone = made.json().cardNumber as string;
    await must(204, as(frontDesk.token, "DELETE", `${ESCR}/cards/${gone}`));
    const entries = await trail(tokenA, `&escn=${gone}`);
    assert.deepEqual(
      entries.map((x) => [x.action, x.tokenId === frontDesk.id]),
      [
        ["create", false],
        ["delete", true],
      ],
    );
  });

  it("the operator and service providers hold no personal data: 403; no token: 401", async () => {
    for (const token of [ADMIN_TOKEN, tokenCanteen]) {
      const res = await must(403, as(token, "GET", "/v1/audit"));
      assert.equal(res.json().code, "FORBIDDEN");
    }
    assert.equal((await must(401, as(undefined, "GET", "/v1/audit"))).json().code, "UNAUTHENTICATED");
  });

  it("the public status adds no entry while it shows no personal data; showing displayName is recorded", async () => {
    const before = await auditCount();
    await must(200, as(undefined, "GET", `${ESCR}/cards/${escn}/status`));
    await must(200, as(undefined, "GET", `${ESCR}/cards/${escn}/status`));
    assert.equal(await auditCount(), before);

    // The issuer shows display names and the student consents: every answer that shows it is recorded,
    // whether it comes from the store or from memory.
    await must(200, as(tokenA, "PATCH", `/v1/organisations/${A}`, { showDisplayName: true }));
    const wordings = (await must(200, as(undefined, "GET", "/v1/consent-wordings"))).json().items as {
      purpose: string;
      current: string;
    }[];
    const wording = wordings.find((w) => w.purpose === "display-name-publication");
    assert.ok(wording);
    await must(
      201,
      as(tokenA, "PUT", `/v1/persons/${e(ESI)}/consents/display-name-publication`, {
        wordingVersion: wording.current,
      }),
    );
    try {
      const afterConsent = await auditCount();
      for (let i = 0; i < 2; i++) {
        const shown = await must(200, as(undefined, "GET", `${ESCR}/cards/${escn}/status`));
        assert.equal(shown.json().displayName, "Jeanne E.");
      }
      // The QR code only checks that the card exists: it shows nothing, and records nothing.
      await must(200, as(undefined, "GET", `${ESCR}/cards/${escn}/qr`));
      assert.equal(await auditCount(), afterConsent + 2);
      const anonymous = (await trail(tokenA, `&escn=${escn}`)).filter((x) => x.organisationId === null);
      assert.deepEqual(
        anonymous.map((x) => [x.tokenId, x.action, x.purpose, x.subjectType, x.subject]),
        [
          [null, "read", "display-name-publication", "card", escn],
          [null, "read", "display-name-publication", "card", escn],
        ],
      );
    } finally {
      await must(200, as(tokenA, "PATCH", `/v1/organisations/${A}`, { showDisplayName: false }));
    }
  });
});
