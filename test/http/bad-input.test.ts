/**
 * Bad input gets a clear 4xx that names the field and the reason: never a 5xx, never a stack trace, never a
 * half-applied change. The ESC-R part (`/esc-rest/…`) answers `{code, message}` and ignores unknown JSON
 * fields, as the original does; the native part (`/v1/…`) answers RFC 9457 problem details with `code` and
 * `errors: [{field, reason}]`, and rejects unknown fields.
 */
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

const ESC = "/esc-rest/api/v2";
/** The seeded card: an ESCN of the university (prefix 001, PIC 999888777). */
const CARD_ESCN = "3e506370-826a-103d-bf76-001999888777";
/** A well-formed ESCN of another issuer (PIC 111222333). */
const FOREIGN_ESCN = "3e506370-826a-103d-bf76-001111222333";
const ESI_3 = "urn:schac:personalUniqueCode:int:esi:fr:BATCH-0003";
const ESI_4 = "urn:schac:personalUniqueCode:int:esi:fr:BATCH-0004";
const ESI_5 = "urn:schac:personalUniqueCode:int:esi:fr:IGNORED-0005";

/** A stack frame (`at fn (file:line:col)`), raw or JSON-escaped, or a path on the machine running the hub. */
const STACK_FRAME = /(?:^|\n|\\n)\s*at (?:async )?(?:[\w$.<>[\]]+ \(|file:|node:|\/)/;

function assertNoLeak(res: LightMyRequestResponse): void {
  assert.doesNotMatch(res.body, STACK_FRAME, `a stack frame leaked: ${res.body}`);
  assert.ok(!res.body.includes(process.cwd()), `a file path leaked: ${res.body}`);
  assert.doesNotMatch(
    res.body,
    /node_modules[\\/]|file:\/\/|\.[cm]?[jt]s:\d+:\d+/,
    `a path leaked: ${res.body}`,
  );
}

/** An ESC-R error: `{code, message}` as `application/json`, the message naming `field` and a reason. */
function assertEscError(res: LightMyRequestResponse, status: number, code: string, field?: string): void {
  assert.equal(res.statusCode, status, res.body);
  assertNoLeak(res);
  assert.match(String(res.headers["content-type"]), /^application\/json/, res.body);
  const body = res.json<Record<string, unknown>>();
  assert.deepEqual(Object.keys(body).sort(), ["code", "message"], res.body);
  assert.equal(body["code"], code, res.body);
  assert.equal(typeof body["message"], "string");
  if (field !== undefined) {
    assert.ok(
      (body["message"] as string).includes(`${field}: `),
      `the message should name ${field} and a reason: ${res.body}`,
    );
  }
}

/** A native error: RFC 9457 problem details with `code`, and an `errors` entry for `field` with a reason. */
function assertProblem(res: LightMyRequestResponse, status: number, code: string, field?: string): void {
  assert.equal(res.statusCode, status, res.body);
  assertNoLeak(res);
  assert.match(String(res.headers["content-type"]), /^application\/problem\+json/, res.body);
  const body = res.json<{
    type: string;
    title: string;
    status: number;
    detail: string;
    code: string;
    errors?: { field: string; reason: string }[];
  }>();
  assert.equal(body.status, status, res.body);
  assert.equal(body.code, code, res.body);
  assert.equal(body.type, `urn:openesc:problem:${code}`, res.body);
  assert.ok(body.title.length > 0 && body.detail.length > 0, res.body);
  if (field !== undefined) {
    const issue = body.errors?.find((e) => e.field === field);
    assert.ok(issue, `errors should name ${field}: ${res.body}`);
    assert.ok(issue.reason.length > 0, `errors should give a reason for ${field}: ${res.body}`);
  }
}

describe("bad input: clear 4xx answers, nothing half-applied", () => {
  let hub: TestHub;
  let uni: string;
  let other: string;
  let bureau: string;
  let canteen: string;

  const send = (
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    url: string,
    token: string | undefined,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    hub.request({
      method,
      url,
      headers,
      ...(token === undefined ? {} : { token }),
      ...(payload === undefined
        ? {}
        : typeof payload === "string"
          ? { payload }
          : { payload: payload as Record<string, unknown> }),
    });

  /** Everything the cases could touch, re-read over HTTP. */
  async function snapshot() {
    const read = async (url: string, token: string) => {
      const res = await hub.request({ method: "GET", url, token });
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      return res.json<unknown>();
    };
    return {
      organisations: await read("/v1/organisations?limit=100", ADMIN_TOKEN),
      uniTokens: await read(`/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN),
      otherTokens: await read(`/v1/organisations/${OTHER_UNIVERSITY.id}/tokens`, ADMIN_TOKEN),
      // The bureau processes for both universities, so it sees every person, status and card.
      persons: await read("/v1/persons?limit=100", bureau),
      statuses: await read("/v1/student-statuses?limit=100", bureau),
      cards: await read("/v1/cards?limit=100", bureau),
      escPersons: await read(`${ESC}/persons?size=100`, uni),
      escCards: await read(`${ESC}/cards?size=100`, uni),
    };
  }

  /** Runs a rejected write and checks that the hub's state is exactly what it was before. */
  async function unchanged(write: () => Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
    const before = await snapshot();
    const res = await write();
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `expected a 4xx: ${res.statusCode} ${res.body}`);
    assert.deepEqual(await snapshot(), before, `the rejected write changed something: ${res.body}`);
    return res;
  }

  before(async () => {
    hub = await startTestHub();
    uni = await hub.onboard(UNIVERSITY);
    other = await hub.onboard(OTHER_UNIVERSITY);
    bureau = await hub.onboard(CARD_BUREAU);
    canteen = await hub.onboard(CANTEEN);
    for (const id of [UNIVERSITY.id, OTHER_UNIVERSITY.id]) {
      const res = await send("PATCH", `/v1/organisations/${id}`, ADMIN_TOKEN, {
        processors: [CARD_BUREAU.id],
      });
      assert.equal(res.statusCode, 200, res.body);
    }
    const person = await send("POST", `${ESC}/persons`, uni, personPayload(ESI, UNIVERSITY.id));
    assert.equal(person.statusCode, 201, person.body);
    const status = await send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`, uni, {
      state: "enrolled",
      validFrom: "2026-09-01",
      validUntil: "2027-08-31",
    });
    assert.equal(status.statusCode, 201, status.body);
    const card = await send(
      "POST",
      `${ESC}/cards`,
      uni,
      cardPayload(ESI, UNIVERSITY.id, { cardNumber: CARD_ESCN }),
    );
    assert.equal(card.statusCode, 201, card.body);
  });
  after(() => hub.close());

  describe("the body as a whole", () => {
    it("malformed JSON is 400 INVALID_JSON naming the body, on both parts", async () => {
      const headers = { "content-type": "application/json" };
      const esc = await unchanged(() => send("POST", `${ESC}/persons`, uni, '{"identifier": ', headers));
      assertEscError(esc, 400, "INVALID_JSON", "body");
      const native = await unchanged(() =>
        send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`, uni, "{state: enrolled}", headers),
      );
      assertProblem(native, 400, "INVALID_JSON", "body");
    });

    it("a JSON document with a prototype-polluting key is refused as INVALID_JSON", async () => {
      const res = await unchanged(() =>
        send("POST", `${ESC}/persons`, uni, '{"__proto__": {"admin": true}}', {
          "content-type": "application/json",
        }),
      );
      assertEscError(res, 400, "INVALID_JSON", "body");
    });

    it("an empty body on POST is a 400 naming the body, with or without a JSON content type", async () => {
      const declared = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, "", { "content-type": "application/json" }),
      );
      assertEscError(declared, 400, "INVALID_JSON", "body");
      const bare = await unchanged(() => send("POST", `${ESC}/persons`, uni));
      assertEscError(bare, 400, "VALIDATION_FAILED", "body");
      const native = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, "", {
          "content-type": "application/json",
        }),
      );
      assertProblem(native, 400, "INVALID_JSON", "body");
    });

    it("a JSON value that is not an object is a 400 naming the body", async () => {
      for (const body of ["null", "[]", '"text"', "42", "true"]) {
        const res = await unchanged(() =>
          send("POST", `${ESC}/persons`, uni, body, { "content-type": "application/json" }),
        );
        assertEscError(res, 400, "VALIDATION_FAILED", "body");
      }
      const native = await unchanged(() =>
        send("PATCH", `/v1/cards/${CARD_ESCN}`, uni, "[]", { "content-type": "application/json" }),
      );
      assertProblem(native, 400, "VALIDATION_FAILED", "body");
    });

    it("a Content-Length that does not match the body is a 400 naming content-length", async () => {
      const res = await unchanged(() =>
        send("POST", `${ESC}/persons`, uni, JSON.stringify(personPayload(ESI_3, UNIVERSITY.id)), {
          "content-type": "application/json",
          "content-length": "5",
        }),
      );
      assertEscError(res, 400, "VALIDATION_FAILED", "content-length");
    });

    it("a body that is not JSON is 415 MEDIA_TYPE_UNSUPPORTED naming the content type", async () => {
      for (const contentType of [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
      ]) {
        const esc = await unchanged(() =>
          send("POST", `${ESC}/persons`, uni, "identifier=x", { "content-type": contentType }),
        );
        assertEscError(esc, 415, "MEDIA_TYPE_UNSUPPORTED", "content-type");
        const native = await unchanged(() =>
          send("PATCH", `/v1/cards/${CARD_ESCN}`, uni, "status=INACTIVE", { "content-type": contentType }),
        );
        assertProblem(native, 415, "MEDIA_TYPE_UNSUPPORTED", "content-type");
      }
    });
  });

  describe("fields", () => {
    it("missing required fields are each named", async () => {
      const { cardType: _cardType, personIdentifier: _person, ...card } = cardPayload(ESI, UNIVERSITY.id);
      const esc = await unchanged(() => send("POST", `${ESC}/cards`, uni, card));
      assertEscError(esc, 400, "VALIDATION_FAILED", "cardType");
      assert.match(esc.json().message, /personIdentifier: is required/);

      const link = await unchanged(() =>
        send("POST", `${ESC}/persons`, uni, {
          identifier: ESI_3,
          fullName: "Ana",
          personOrganisationUpdateViews: [{ academicLevel: "MASTER" }],
        }),
      );
      assertEscError(
        link,
        400,
        "VALIDATION_FAILED",
        "personOrganisationUpdateViews[0].organisationIdentifier",
      );

      const native = await unchanged(() =>
        send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`, uni, { state: "enrolled" }),
      );
      assertProblem(native, 400, "VALIDATION_FAILED", "/validFrom");

      const org = await unchanged(() =>
        send("POST", "/v1/organisations", ADMIN_TOKEN, { id: "222333444", kind: "institution" }),
      );
      assertProblem(org, 400, "VALIDATION_FAILED", "/name");

      const token = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, { scopes: ["cards:read"] }),
      );
      assertProblem(token, 400, "VALIDATION_FAILED", "/name");
    });

    it("a number where a string is due is refused, not coerced", async () => {
      const holder = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { personIdentifier: 1234567890 })),
      );
      assertEscError(holder, 400, "VALIDATION_FAILED", "personIdentifier");
      const date = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { issuedAt: 20260901 })),
      );
      assertEscError(date, 400, "VALIDATION_FAILED", "issuedAt");
      const name = await unchanged(() =>
        send("POST", `${ESC}/persons`, uni, personPayload(ESI_3, UNIVERSITY.id, { fullName: 42 })),
      );
      assertEscError(name, 400, "VALIDATION_FAILED", "fullName");
      const validFrom = await unchanged(() =>
        send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`, uni, {
          state: "enrolled",
          validFrom: 20260901,
        }),
      );
      assertProblem(validFrom, 400, "VALIDATION_FAILED", "/validFrom");
      const orgName = await unchanged(() =>
        send("POST", "/v1/organisations", ADMIN_TOKEN, { id: "222333444", kind: "institution", name: 7 }),
      );
      assertProblem(orgName, 400, "VALIDATION_FAILED", "/name");
    });

    it("a string (or another type) where a boolean, an array or an object is due is refused, not coerced", async () => {
      const flag = await unchanged(() =>
        send("PATCH", `/v1/organisations/${UNIVERSITY.id}`, uni, { showDisplayName: "true" }),
      );
      assertProblem(flag, 400, "VALIDATION_FAILED", "/showDisplayName");
      const number = await unchanged(() =>
        send("PATCH", `/v1/organisations/${UNIVERSITY.id}`, uni, { showDisplayName: 1 }),
      );
      assertProblem(number, 400, "VALIDATION_FAILED", "/showDisplayName");
      const list = await unchanged(() =>
        send("PATCH", `/v1/organisations/${UNIVERSITY.id}`, uni, { processors: CARD_BUREAU.id }),
      );
      assertProblem(list, 400, "VALIDATION_FAILED", "/processors");
      const object = await unchanged(() =>
        send("PATCH", `/v1/organisations/${UNIVERSITY.id}`, uni, { colours: "#003399" }),
      );
      assertProblem(object, 400, "VALIDATION_FAILED", "/colours");
      const links = await unchanged(() =>
        send("POST", `${ESC}/persons`, uni, {
          identifier: ESI_3,
          fullName: "Ana",
          personOrganisationUpdateViews: { organisationIdentifier: UNIVERSITY.id },
        }),
      );
      assertEscError(links, 400, "VALIDATION_FAILED", "personOrganisationUpdateViews");
    });

    it("a string where a number is due in the query is a 400 naming the parameter", async () => {
      assertEscError(await send("GET", `${ESC}/persons?size=ten`, uni), 400, "VALIDATION_FAILED", "size");
      assertEscError(await send("GET", `${ESC}/cards?page=1.5`, uni), 400, "VALIDATION_FAILED", "page");
      assertProblem(await send("GET", "/v1/cards?limit=many", uni), 400, "VALIDATION_FAILED", "limit");
      assertEscError(
        await send("GET", `${ESC}/cards/generate-escn?prefix=one&pic=${UNIVERSITY.id}`, undefined),
        400,
        "VALIDATION_FAILED",
        "prefix",
      );
    });

    it("an invalid ESCN is 400 ESCN_INVALID naming the field, in a body and in a path", async () => {
      const body = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { cardNumber: "not-an-escn" })),
      );
      assertEscError(body, 400, "ESCN_INVALID", "cardNumber");
      // Version 4, not a time-based UUID.
      const v4 = await unchanged(() =>
        send(
          "POST",
          `${ESC}/cards`,
          uni,
          cardPayload(ESI, UNIVERSITY.id, { cardNumber: "3e506370-826a-403d-bf76-001999888777" }),
        ),
      );
      assertEscError(v4, 400, "ESCN_INVALID", "cardNumber");
      assertEscError(await send("GET", `${ESC}/cards/12345/status`, undefined), 400, "ESCN_INVALID", "escn");
      assertEscError(await send("GET", `${ESC}/cards/12345/qr`, undefined), 400, "ESCN_INVALID", "escn");
      assertEscError(await send("GET", `${ESC}/cards/12345`, uni), 400, "ESCN_INVALID", "escn");
      assertProblem(await send("GET", "/v1/cards/12345", uni), 400, "ESCN_INVALID", "escn");
      const patch = await unchanged(() => send("PATCH", "/v1/cards/12345", uni, { status: "INACTIVE" }));
      assertProblem(patch, 400, "ESCN_INVALID", "escn");
    });

    it("an invalid ESI is 400 ESI_INVALID naming the field, in a body and in a path", async () => {
      const person = await unchanged(() =>
        send("POST", `${ESC}/persons`, uni, personPayload("12345", UNIVERSITY.id)),
      );
      assertEscError(person, 400, "ESI_INVALID", "identifier");
      const card = await unchanged(() =>
        send(
          "POST",
          `${ESC}/cards`,
          uni,
          cardPayload("urn:schac:personalUniqueCode:int:esi:fr:a/b", UNIVERSITY.id),
        ),
      );
      assertEscError(card, 400, "ESI_INVALID", "personIdentifier");
      assertEscError(await send("GET", `${ESC}/persons/nobody`, uni), 400, "ESI_INVALID", "esi");
      assertProblem(await send("GET", "/v1/persons/nobody", uni), 400, "ESI_INVALID", "esi");
      const status = await unchanged(() =>
        send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/nobody`, uni, {
          state: "enrolled",
          validFrom: "2026-09-01",
        }),
      );
      assertProblem(status, 400, "ESI_INVALID", "esi");
    });

    it("an invalid PIC is 400 PIC_INVALID naming the field", async () => {
      const card = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { issuerIdentifier: "99988877" })),
      );
      assertEscError(card, 400, "PIC_INVALID", "issuerIdentifier");
      assertEscError(
        await send("GET", `${ESC}/cards/generate-escn?prefix=1&pic=12345678X`, undefined),
        400,
        "PIC_INVALID",
        "pic",
      );
      const org = await unchanged(() =>
        send("POST", "/v1/organisations", ADMIN_TOKEN, {
          id: "1234",
          kind: "institution",
          name: "Short PIC",
        }),
      );
      assertProblem(org, 400, "PIC_INVALID", "/id");
    });

    it("an impossible date is 400 DATE_INVALID naming the field", async () => {
      const card = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { issuedAt: "2025-02-30" })),
      );
      assertEscError(card, 400, "DATE_INVALID", "issuedAt");
      const format = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { expiresAt: "31/08/2030" })),
      );
      assertEscError(format, 400, "DATE_INVALID", "expiresAt");
      const status = await unchanged(() =>
        send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`, uni, {
          state: "enrolled",
          validFrom: "2025-02-30",
        }),
      );
      assertProblem(status, 400, "DATE_INVALID", "/validFrom");
      const patch = await unchanged(() =>
        send("PATCH", `/v1/cards/${CARD_ESCN}`, uni, { expiresAt: "2031-13-01" }),
      );
      assertProblem(patch, 400, "DATE_INVALID", "/expiresAt");
    });

    it("an end before its start is 400 DATE_RANGE_INVALID naming the end", async () => {
      const card = await unchanged(() =>
        send(
          "POST",
          `${ESC}/cards`,
          uni,
          cardPayload(ESI, UNIVERSITY.id, { issuedAt: "2026-09-01", expiresAt: "2026-08-31" }),
        ),
      );
      assertEscError(card, 400, "DATE_RANGE_INVALID", "expiresAt");
      const update = await unchanged(() =>
        send(
          "PUT",
          `${ESC}/cards/${CARD_ESCN}`,
          uni,
          cardPayload(ESI, UNIVERSITY.id, { issuedAt: "2026-09-01", expiresAt: "2020-01-01" }),
        ),
      );
      assertEscError(update, 400, "DATE_RANGE_INVALID", "expiresAt");
      const patch = await unchanged(() =>
        send("PATCH", `/v1/cards/${CARD_ESCN}`, uni, { expiresAt: "2026-08-31" }),
      );
      assertProblem(patch, 400, "DATE_RANGE_INVALID", "/expiresAt");
      const status = await unchanged(() =>
        send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`, uni, {
          state: "enrolled",
          validFrom: "2026-09-01",
          validUntil: "2026-08-31",
        }),
      );
      assertProblem(status, 400, "DATE_RANGE_INVALID", "/validUntil");
    });

    it("values outside an enumeration are named", async () => {
      const type = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { cardType: "PLASTIC" })),
      );
      assertEscError(type, 400, "CARD_TYPE_INVALID", "cardType");
      const status = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { cardStatusType: "active" })),
      );
      assertEscError(status, 400, "VALIDATION_FAILED", "cardStatusType");
      const level = await unchanged(() =>
        send("POST", `${ESC}/persons`, uni, {
          ...personPayload(ESI_3, UNIVERSITY.id),
          personOrganisationUpdateViews: [{ organisationIdentifier: UNIVERSITY.id, academicLevel: "PHD" }],
        }),
      );
      assertEscError(level, 400, "ACADEMIC_LEVEL_INVALID", "personOrganisationUpdateViews[0].academicLevel");
      const state = await unchanged(() =>
        send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`, uni, {
          state: "graduated",
          validFrom: "2026-09-01",
        }),
      );
      assertProblem(state, 400, "VALIDATION_FAILED", "/state");
      const reason = await unchanged(() =>
        send("PATCH", `/v1/cards/${CARD_ESCN}`, uni, { status: "INACTIVE", inactiveReason: "misplaced" }),
      );
      assertProblem(reason, 400, "VALIDATION_FAILED", "/inactiveReason");
    });

    it("an ESCN whose PIC is not the issuer's is 400 ESCN_PIC_MISMATCH", async () => {
      const res = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { cardNumber: FOREIGN_ESCN })),
      );
      assertEscError(res, 400, "ESCN_PIC_MISMATCH", "cardNumber");
    });

    it("an ESCN already in use is 409 CARD_EXISTS, in any case", async () => {
      const same = await unchanged(() =>
        send("POST", `${ESC}/cards`, uni, cardPayload(ESI, UNIVERSITY.id, { cardNumber: CARD_ESCN })),
      );
      assertEscError(same, 409, "CARD_EXISTS");
      const upper = await unchanged(() =>
        send(
          "POST",
          `${ESC}/cards`,
          uni,
          cardPayload(ESI, UNIVERSITY.id, { cardNumber: CARD_ESCN.toUpperCase() }),
        ),
      );
      assertEscError(upper, 409, "CARD_EXISTS");
    });

    it("a person already linked to the organisation is 409 PERSON_EXISTS, in any case of the ESI", async () => {
      const same = await unchanged(() =>
        send("POST", `${ESC}/persons`, uni, personPayload(ESI, UNIVERSITY.id)),
      );
      assertEscError(same, 409, "PERSON_EXISTS");
      const upper = await unchanged(() =>
        send("POST", `${ESC}/persons`, uni, personPayload(ESI.toUpperCase(), UNIVERSITY.id)),
      );
      assertEscError(upper, 409, "PERSON_EXISTS");
    });

    it("an over-long value is a 400 naming the field", async () => {
      const name = await unchanged(() =>
        send(
          "POST",
          `${ESC}/persons`,
          uni,
          personPayload(ESI_3, UNIVERSITY.id, { fullName: "x".repeat(256) }),
        ),
      );
      assertEscError(name, 400, "VALIDATION_FAILED", "fullName");
      const esi = await unchanged(() =>
        send(
          "POST",
          `${ESC}/persons`,
          uni,
          personPayload(`urn:schac:personalUniqueCode:int:esi:fr:${"1".repeat(250)}`, UNIVERSITY.id),
        ),
      );
      assertEscError(esi, 400, "ESI_INVALID", "identifier");
      const display = await unchanged(() =>
        send("PATCH", `/v1/cards/${CARD_ESCN}`, uni, { displayName: "y".repeat(256) }),
      );
      assertProblem(display, 400, "VALIDATION_FAILED", "/displayName");
    });

    it("an over-long list of related organisations is a 400 naming the field, not a store failure", async () => {
      const many = Array.from({ length: 40_000 }, (_, i) => String(100_000_000 + i));
      const processors = await unchanged(() =>
        send("PATCH", `/v1/organisations/${UNIVERSITY.id}`, ADMIN_TOKEN, { processors: many }),
      );
      assertProblem(processors, 400, "VALIDATION_FAILED", "/processors");
      const serves = await unchanged(() =>
        send("POST", "/v1/organisations", ADMIN_TOKEN, {
          id: "222333444",
          kind: "student-service",
          name: "Crous",
          serves: many,
        }),
      );
      assertProblem(serves, 400, "VALIDATION_FAILED", "/serves");
    });
  });

  describe("unknown fields", () => {
    it("the native API rejects an unknown field with a 400 naming it, at any depth", async () => {
      const patch = await unchanged(() =>
        send("PATCH", `/v1/cards/${CARD_ESCN}`, uni, { status: "INACTIVE", statuss: "ACTIVE" }),
      );
      assertProblem(patch, 400, "VALIDATION_FAILED", "/statuss");
      const status = await unchanged(() =>
        send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`, uni, {
          state: "suspended",
          validFrom: "2026-09-01",
          comment: "late fees",
        }),
      );
      assertProblem(status, 400, "VALIDATION_FAILED", "/comment");
      const org = await unchanged(() =>
        send("POST", "/v1/organisations", ADMIN_TOKEN, {
          id: "222333444",
          kind: "institution",
          name: "Typo University",
          contry: "FR",
        }),
      );
      assertProblem(org, 400, "VALIDATION_FAILED", "/contry");
      const nested = await unchanged(() =>
        send("PATCH", `/v1/organisations/${UNIVERSITY.id}`, uni, { colours: { mian: "#003399" } }),
      );
      assertProblem(nested, 400, "VALIDATION_FAILED", "/colours/mian");
      const token = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, { name: "t", admin: true }),
      );
      assertProblem(token, 400, "VALIDATION_FAILED", "/admin");
    });

    it("the ESC-R part ignores unknown fields, at any depth, as the original does", async () => {
      const person = await send("POST", `${ESC}/persons`, uni, {
        ...personPayload(ESI_5, UNIVERSITY.id),
        nickname: "Jo",
        personOrganisationUpdateViews: [
          { organisationIdentifier: UNIVERSITY.id, academicLevel: "BACHELOR", faculty: "Law" },
        ],
      });
      assert.equal(person.statusCode, 201, person.body);
      assert.equal(person.json().identifier, ESI_5);
      assert.ok(!person.body.includes("nickname") && !person.body.includes("faculty"), person.body);
      const card = await send("POST", `${ESC}/cards`, uni, {
        ...cardPayload(ESI_5, UNIVERSITY.id),
        chipColour: "gold",
        legacyId: 42,
      });
      assert.equal(card.statusCode, 201, card.body);
      assert.ok(!card.body.includes("chipColour"), card.body);
      const escn = card.json().cardNumber as string;
      assert.equal((await send("DELETE", `${ESC}/cards/${escn}`, uni)).statusCode, 204);
      assert.equal((await send("DELETE", `${ESC}/persons/${ESI_5}`, uni)).statusCode, 204);
    });
  });

  describe("lists and their parameters", () => {
    it("size above the maximum is 400 PAGE_SIZE_TOO_LARGE on ESC-R lists, never a silent cap", async () => {
      for (const list of ["persons", "cards"]) {
        const res = await send("GET", `${ESC}/${list}?size=101`, uni);
        assertEscError(res, 400, "PAGE_SIZE_TOO_LARGE", "size");
        assert.match(res.json().message, /100/);
        assert.equal((await send("GET", `${ESC}/${list}?size=100`, uni)).statusCode, 200);
      }
      assertProblem(await send("GET", "/v1/persons?limit=101", uni), 400, "PAGE_SIZE_TOO_LARGE", "limit");
    });

    it("size=0, a negative page and a page beyond any list are 400 PAGE_INVALID", async () => {
      assertEscError(await send("GET", `${ESC}/persons?size=0`, uni), 400, "PAGE_INVALID", "size");
      assertEscError(await send("GET", `${ESC}/cards?size=-5`, uni), 400, "PAGE_INVALID", "size");
      assertEscError(await send("GET", `${ESC}/cards?page=-1`, uni), 400, "PAGE_INVALID", "page");
      assertEscError(
        await send("GET", `${ESC}/persons?page=20000000&size=100`, uni),
        400,
        "PAGE_INVALID",
        "page",
      );
      assertEscError(
        await send("GET", `${ESC}/persons?page=99999999999999999999`, uni),
        400,
        "VALIDATION_FAILED",
        "page",
      );
      assertProblem(await send("GET", "/v1/cards?limit=0", uni), 400, "VALIDATION_FAILED", "limit");
    });

    it("a bad sort field or direction is 400 SORT_INVALID naming it and listing the choices", async () => {
      const sort = await send("GET", `${ESC}/persons?sort=password`, uni);
      assertEscError(sort, 400, "SORT_INVALID", "sort");
      assert.match(sort.json().message, /createdAt/);
      assertEscError(await send("GET", `${ESC}/cards?sort=esi`, uni), 400, "SORT_INVALID", "sort");
      assertEscError(
        await send("GET", `${ESC}/cards?sort=issuedAt&direction=sideways`, uni),
        400,
        "SORT_INVALID",
        "direction",
      );
      assertEscError(
        await send("GET", `${ESC}/persons?sort=fullName&sort=identifier`, uni),
        400,
        "VALIDATION_FAILED",
        "sort",
      );
      // SQL in a sort or a search is a value, not code.
      assertEscError(
        await send("GET", `${ESC}/cards?sort=${encodeURIComponent("issuedAt; DROP TABLE cards")}`, uni),
        400,
        "SORT_INVALID",
        "sort",
      );
      const search = await send("GET", `${ESC}/persons?search=${encodeURIComponent("%' OR 1=1 --\\_")}`, uni);
      assert.equal(search.statusCode, 200, search.body);
      assert.equal(search.json().page.totalElements, 0);
    });

    it("a cursor the hub did not make is 400 CURSOR_INVALID on every native list", async () => {
      const forged = [
        "garbage!",
        "cDox;",
        Buffer.from("p:-1").toString("base64url"),
        Buffer.from("p:1e3").toString("base64url"),
        Buffer.from('{"after":1}').toString("base64url"),
        Buffer.from(`p:${"9".repeat(16)}`).toString("base64url"),
        "%FF",
      ];
      for (const list of ["cards", "persons", "student-statuses", "organisations"]) {
        for (const after of forged) {
          const res = await send("GET", `/v1/${list}?after=${encodeURIComponent(after)}`, uni);
          assertProblem(res, 400, "CURSOR_INVALID", "after");
        }
        const made = await send("GET", `/v1/${list}?after=${Buffer.from("p:1").toString("base64url")}`, uni);
        assert.equal(made.statusCode, 200, made.body);
      }
    });

    it("filters outside their values are a 400 naming the parameter", async () => {
      assertProblem(await send("GET", "/v1/cards?status=LOST", uni), 400, "VALIDATION_FAILED", "status");
      assertProblem(
        await send("GET", "/v1/student-statuses?state=graduated", uni),
        400,
        "VALIDATION_FAILED",
        "state",
      );
    });
  });

  describe("generate-escn", () => {
    const url = (query: string) => `${ESC}/cards/generate-escn?${query}`;

    it("numberOfESCN above the maximum is 400 ESCN_BATCH_TOO_LARGE; 100 is fine", async () => {
      assertEscError(
        await send("GET", url(`prefix=1&pic=${UNIVERSITY.id}&numberOfESCN=101`), undefined),
        400,
        "ESCN_BATCH_TOO_LARGE",
        "numberOfESCN",
      );
      assertEscError(
        await send("GET", url(`prefix=1&pic=${UNIVERSITY.id}&numberOfESCN=0`), undefined),
        400,
        "ESCN_BATCH_TOO_LARGE",
        "numberOfESCN",
      );
      const ok = await send("GET", url(`prefix=1&pic=${UNIVERSITY.id}&numberOfESCN=100`), undefined);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().length, 100);
    });

    it("a prefix of 1000 (or below 0) is a 400 naming the prefix", async () => {
      assertEscError(
        await send("GET", url(`prefix=1000&pic=${UNIVERSITY.id}`), undefined),
        400,
        "VALIDATION_FAILED",
        "prefix",
      );
      assertEscError(
        await send("GET", url(`prefix=-1&pic=${UNIVERSITY.id}`), undefined),
        400,
        "VALIDATION_FAILED",
        "prefix",
      );
      assertEscError(await send("GET", url("pic=999888777"), undefined), 400, "VALIDATION_FAILED", "prefix");
      assertEscError(await send("GET", url("prefix=1"), undefined), 400, "VALIDATION_FAILED", "pic");
    });
  });

  describe("If-Match", () => {
    const statusUrl = `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`;

    it("a malformed If-Match is a 400 naming if-match, and changes nothing", async () => {
      for (const ifMatch of ["3", "*", 'W/"abc"', '"1", "2"', '"-1"', '""']) {
        const card = await unchanged(() =>
          send("PATCH", `/v1/cards/${CARD_ESCN}`, uni, { status: "INACTIVE" }, { "if-match": ifMatch }),
        );
        assertProblem(card, 400, "VALIDATION_FAILED", "if-match");
        const status = await unchanged(() =>
          send(
            "PUT",
            statusUrl,
            uni,
            { state: "suspended", validFrom: "2026-09-01" },
            { "if-match": ifMatch },
          ),
        );
        assertProblem(status, 400, "VALIDATION_FAILED", "if-match");
      }
    });

    it("a stale If-Match is 412 VERSION_MISMATCH on PATCH /v1/cards/:escn, and changes nothing", async () => {
      const read = await send("GET", `/v1/cards/${CARD_ESCN}`, uni);
      assert.equal(read.statusCode, 200, read.body);
      const current = read.json<{ version: number }>().version;
      const res = await unchanged(() =>
        send(
          "PATCH",
          `/v1/cards/${CARD_ESCN}`,
          uni,
          { status: "INACTIVE", inactiveReason: "lost" },
          { "if-match": `"${current + 1}"` },
        ),
      );
      assertProblem(res, 412, "VERSION_MISMATCH");
      const again = await send("GET", `/v1/cards/${CARD_ESCN}`, uni);
      assert.equal(again.json().status, "ACTIVE");
      assert.equal(again.headers.etag, read.headers.etag);
    });

    it("a stale If-Match is 412 VERSION_MISMATCH on PUT /v1/student-statuses/…, and changes nothing", async () => {
      const read = await send("GET", statusUrl, uni);
      assert.equal(read.statusCode, 200, read.body);
      const res = await unchanged(() =>
        send(
          "PUT",
          statusUrl,
          uni,
          { state: "ended", validFrom: "2026-09-01", validUntil: "2026-12-31" },
          { "if-match": '"999"' },
        ),
      );
      assertProblem(res, 412, "VERSION_MISMATCH");
      const again = await send("GET", statusUrl, uni);
      assert.equal(again.json().state, "enrolled");
    });
  });

  describe("routes, tokens and URLs", () => {
    it("an unknown route is 404 ROUTE_NOT_FOUND in the shape of its part", async () => {
      assertProblem(await send("GET", "/v1/students", uni), 404, "ROUTE_NOT_FOUND");
      assertProblem(await send("DELETE", "/v1/cards", uni), 404, "ROUTE_NOT_FOUND");
      assertEscError(await send("GET", `${ESC}/students`, uni), 404, "ROUTE_NOT_FOUND");
      assertEscError(await send("PATCH", `${ESC}/cards/${CARD_ESCN}`, uni, {}), 404, "ROUTE_NOT_FOUND");
      assertProblem(await send("GET", "/", undefined), 404, "ROUTE_NOT_FOUND");
    });

    it("a broken %-escape in a path is a 400 naming the path, in the shape of its part", async () => {
      assertEscError(await send("GET", `${ESC}/persons/%zz`, uni), 400, "VALIDATION_FAILED", "path");
      assertEscError(
        await send("GET", `${ESC}/cards/%E0%A4%A/status`, undefined),
        400,
        "VALIDATION_FAILED",
        "path",
      );
      assertProblem(await send("GET", "/v1/persons/%zz", uni), 400, "VALIDATION_FAILED", "path");
      const put = await unchanged(() =>
        send("PUT", `/v1/student-statuses/${UNIVERSITY.id}/%ED%A0%80`, uni, {
          state: "enrolled",
          validFrom: "2026-09-01",
        }),
      );
      assertProblem(put, 400, "VALIDATION_FAILED", "path");
    });

    it("a path parameter longer than the router accepts is a 400 naming the path", async () => {
      const long = "a".repeat(400);
      assertEscError(
        await send("GET", `${ESC}/cards/${long}/status`, undefined),
        400,
        "VALIDATION_FAILED",
        "path",
      );
      assertProblem(await send("GET", `/v1/persons/${long}`, uni), 400, "VALIDATION_FAILED", "path");
    });

    it("the reference pages answer a path outside their files or an unsatisfiable header with a 4xx", async () => {
      for (const path of ["%5C..%5Cpackage.json", "index.html%00", "a".repeat(1000)]) {
        const res = await send("GET", `/docs/static/${path}`, undefined);
        assert.ok(res.statusCode === 403 || res.statusCode === 404, `${path}: ${res.statusCode} ${res.body}`);
        assertProblem(res, res.statusCode, res.statusCode === 403 ? "FORBIDDEN" : "ROUTE_NOT_FOUND");
      }
      const file = "/docs/static/swagger-ui.css";
      assertProblem(
        await send("GET", file, undefined, undefined, { range: "bytes=999999999-" }),
        400,
        "VALIDATION_FAILED",
        "range",
      );
      assertProblem(
        await send("GET", file, undefined, undefined, { "if-match": '"stale"' }),
        412,
        "VERSION_MISMATCH",
      );
    });

    it("no token, a malformed header or an unknown token is 401 with WWW-Authenticate", async () => {
      const none = await send("GET", "/v1/cards", undefined);
      assertProblem(none, 401, "UNAUTHENTICATED");
      assert.match(String(none.headers["www-authenticate"]), /^Bearer/);
      const basic = await send("GET", `${ESC}/persons`, undefined, undefined, { authorization: "Basic abc" });
      assertEscError(basic, 401, "UNAUTHENTICATED");
      const unknown = await unchanged(() =>
        send("POST", `${ESC}/persons`, "oesc_not-a-token", personPayload(ESI_3, UNIVERSITY.id)),
      );
      assertEscError(unknown, 401, "TOKEN_INVALID");
    });

    it("a token for an organisation that may not do this is 403, and changes nothing", async () => {
      const foreign = await unchanged(() =>
        send("POST", `${ESC}/persons`, other, personPayload(ESI_3, UNIVERSITY.id)),
      );
      assertEscError(foreign, 403, "FORBIDDEN", "personOrganisationUpdateViews[0].organisationIdentifier");
      const verifier = await unchanged(() =>
        send("POST", `${ESC}/persons`, canteen, personPayload(ESI_3, UNIVERSITY.id)),
      );
      assertEscError(verifier, 403, "FORBIDDEN");
    });

    it("an unknown token scope, or one the organisation cannot have, is a 400 naming the scope", async () => {
      const unknown = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, {
          name: "sis",
          scopes: ["cards:read", "cards:fly"],
        }),
      );
      assertProblem(unknown, 400, "VALIDATION_FAILED", "/scopes/1");
      assert.match(unknown.json().errors[0].reason, /unknown scope/);
      const notForKind = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, uni, {
          name: "sis",
          scopes: ["organisations:manage"],
        }),
      );
      assertProblem(notForKind, 400, "VALIDATION_FAILED", "/scopes/0");
      const none = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, { name: "sis", scopes: [] }),
      );
      assertProblem(none, 400, "VALIDATION_FAILED", "/scopes");
      const type = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, {
          name: "sis",
          scopes: "all",
        }),
      );
      assertProblem(type, 400, "VALIDATION_FAILED", "/scopes");
    });

    it("a token expiry in the past, or not a date-time, is a 400 naming expiresAt", async () => {
      const past = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, {
          name: "sis",
          expiresAt: "2020-01-01T00:00:00Z",
        }),
      );
      assertProblem(past, 400, "TOKEN_EXPIRY_INVALID", "/expiresAt");
      const date = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, {
          name: "sis",
          expiresAt: "tomorrow",
        }),
      );
      assertProblem(date, 400, "VALIDATION_FAILED", "/expiresAt");
      const blank = await unchanged(() =>
        send("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, { name: "   " }),
      );
      assertProblem(blank, 400, "VALIDATION_FAILED", "/name");
    });
  });

  describe("several links in one write: all or nothing", () => {
    it("a person POST with one invalid link among valid ones creates nothing", async () => {
      const payload = (links: Record<string, unknown>[]) => ({
        identifier: ESI_3,
        fullName: "Batch Person",
        personOrganisationUpdateViews: links,
      });
      const level = await unchanged(() =>
        send(
          "POST",
          `${ESC}/persons`,
          bureau,
          payload([
            { organisationIdentifier: UNIVERSITY.id, academicLevel: "MASTER" },
            { organisationIdentifier: OTHER_UNIVERSITY.id, academicLevel: "POSTDOC" },
          ]),
        ),
      );
      assertEscError(level, 400, "ACADEMIC_LEVEL_INVALID", "personOrganisationUpdateViews[1].academicLevel");
      const email = await unchanged(() =>
        send(
          "POST",
          `${ESC}/persons`,
          bureau,
          payload([
            { organisationIdentifier: UNIVERSITY.id, email: "ok@example.org" },
            { organisationIdentifier: OTHER_UNIVERSITY.id, email: "not an address" },
          ]),
        ),
      );
      assertEscError(email, 400, "VALIDATION_FAILED", "personOrganisationUpdateViews[1].email");
      const twice = await unchanged(() =>
        send(
          "POST",
          `${ESC}/persons`,
          bureau,
          payload([{ organisationIdentifier: UNIVERSITY.id }, { organisationIdentifier: UNIVERSITY.id }]),
        ),
      );
      assertEscError(
        twice,
        400,
        "VALIDATION_FAILED",
        "personOrganisationUpdateViews[1].organisationIdentifier",
      );
      const foreign = await unchanged(() =>
        send(
          "POST",
          `${ESC}/persons`,
          uni,
          payload([
            { organisationIdentifier: UNIVERSITY.id },
            { organisationIdentifier: OTHER_UNIVERSITY.id },
          ]),
        ),
      );
      assertEscError(foreign, 403, "FORBIDDEN", "personOrganisationUpdateViews[1].organisationIdentifier");
      const empty = await unchanged(() => send("POST", `${ESC}/persons`, bureau, payload([])));
      assertEscError(empty, 400, "VALIDATION_FAILED", "personOrganisationUpdateViews");
      for (const token of [uni, other]) {
        assertEscError(await send("GET", `${ESC}/persons/${ESI_3}`, token), 404, "PERSON_NOT_FOUND");
      }
    });

    it("a person POST where one link already exists is 409 PERSON_EXISTS and adds no other link", async () => {
      const res = await unchanged(() =>
        send("POST", `${ESC}/persons`, bureau, {
          identifier: ESI,
          fullName: "Jeanne Exemple",
          personOrganisationUpdateViews: [
            { organisationIdentifier: OTHER_UNIVERSITY.id, academicLevel: "MASTER" },
            { organisationIdentifier: UNIVERSITY.id, academicLevel: "MASTER" },
          ],
        }),
      );
      assertEscError(res, 409, "PERSON_EXISTS");
      assertEscError(await send("GET", `${ESC}/persons/${ESI}`, other), 404, "PERSON_NOT_FOUND");
    });

    it("a person PUT with one invalid link changes none of the links", async () => {
      const res = await unchanged(() =>
        send("PUT", `${ESC}/persons/${ESI}`, bureau, {
          identifier: ESI,
          fullName: "Renamed",
          personOrganisationUpdateViews: [
            { organisationIdentifier: UNIVERSITY.id, academicLevel: "DOCTORATE" },
            { organisationIdentifier: OTHER_UNIVERSITY.id, phone: "call me" },
          ],
        }),
      );
      assertEscError(res, 400, "VALIDATION_FAILED", "personOrganisationUpdateViews[1].phone");
    });

    it("a card PUT whose holder is not linked to the issuer changes nothing", async () => {
      const res = await unchanged(() =>
        send(
          "PUT",
          `${ESC}/cards/${CARD_ESCN}`,
          uni,
          cardPayload(ESI_2, UNIVERSITY.id, { cardStatusType: "INACTIVE", displayName: "Changed" }),
        ),
      );
      assertEscError(res, 400, "PERSON_NOT_LINKED", "personIdentifier");
    });
  });
});

describe("bad input: oversized bodies", () => {
  let hub: TestHub;
  let uni: string;
  before(async () => {
    hub = await startTestHub({ env: { OPENESC_BODY_LIMIT: "2048" } });
    uni = await hub.onboard(UNIVERSITY);
  });
  after(() => hub.close());

  it("a body over OPENESC_BODY_LIMIT is 413 BODY_TOO_LARGE naming the body, and creates nothing", async () => {
    const big = personPayload(ESI_4, UNIVERSITY.id, { fullName: "x".repeat(4000) });
    const esc = await hub.request({ method: "POST", url: `${ESC}/persons`, token: uni, payload: big });
    assertEscError(esc, 413, "BODY_TOO_LARGE", "body");
    const native = await hub.request({
      method: "PUT",
      url: `/v1/student-statuses/${UNIVERSITY.id}/${ESI_4}`,
      token: uni,
      payload: { state: "enrolled", validFrom: "2026-09-01", validUntil: "x".repeat(4000) },
    });
    assertProblem(native, 413, "BODY_TOO_LARGE", "body");
    const list = await hub.request({ method: "GET", url: "/v1/persons", token: uni });
    assert.deepEqual(list.json().items, []);
  });

  it("a body just under the limit is read and judged on its content", async () => {
    const fits = personPayload(ESI_4, UNIVERSITY.id, { fullName: "x".repeat(300) });
    const res = await hub.request({ method: "POST", url: `${ESC}/persons`, token: uni, payload: fits });
    assertEscError(res, 400, "VALIDATION_FAILED", "fullName");
  });
});

describe("bad input: expired tokens", () => {
  const clock = fixedClock("2026-09-01T08:00:00Z");
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ clock });
    await hub.onboard(UNIVERSITY);
  });
  after(() => hub.close());

  it("a token whose expiry has passed is 401 TOKEN_EXPIRED; an expiry at the current instant is refused", async () => {
    const made = await hub.request({
      method: "POST",
      url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
      token: ADMIN_TOKEN,
      payload: { name: "short-lived", expiresAt: "2026-09-01T09:00:00Z" },
    });
    assert.equal(made.statusCode, 201, made.body);
    const token = made.json().token as string;
    assert.equal((await hub.request({ method: "GET", url: "/v1/me", token })).statusCode, 200);
    clock.set("2026-09-01T09:00:00Z");
    const expired = await hub.request({ method: "GET", url: "/v1/me", token });
    assertProblem(expired, 401, "TOKEN_EXPIRED");
    const esc = await hub.request({
      method: "POST",
      url: `${ESC}/persons`,
      token,
      payload: personPayload(ESI, UNIVERSITY.id),
    });
    assertEscError(esc, 401, "TOKEN_EXPIRED");
    const now = await hub.request({
      method: "POST",
      url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
      token: ADMIN_TOKEN,
      payload: { name: "already over", expiresAt: "2026-09-01T09:00:00Z" },
    });
    assertProblem(now, 400, "TOKEN_EXPIRY_INVALID", "/expiresAt");
  });
});
