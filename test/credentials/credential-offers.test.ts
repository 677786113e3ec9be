/**
 * `POST /v1/credential-offers`: what an institution gets to hand its student (a link, a QR code, a
 * transaction code), and every reason it gets nothing instead.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PRE_AUTHORIZED_GRANT } from "../../src/credentials/openid4vci/credential-offer.ts";
import {
  CREDENTIAL_HUB_ENV,
  decodeQrSvg,
  enrolledStudent,
  giveConsent,
  ISSUER,
  type Student,
} from "../support/credential-scenario.ts";
import { CANTEEN, CARD_BUREAU, OTHER_UNIVERSITY, UNIVERSITY } from "../support/fixtures.ts";
import { ADMIN_TOKEN, startTestHub, type TestHub } from "../support/test-hub.ts";

interface Offer {
  credentialOffer: {
    credential_issuer: string;
    credential_configuration_ids: string[];
    grants: Record<
      string,
      { "pre-authorized_code": string; tx_code?: { input_mode: string; length: number } }
    >;
  };
  credentialOfferUri: string;
  deepLink: string;
  qrCode: string;
  txCode: string | null;
  expiresAt: string;
}

const esiOf = (name: string) => `urn:schac:personalUniqueCode:int:esi:fr:OFFER-${name}`;

describe("credential offers", () => {
  let hub: TestHub;
  let uni: string;
  let student: Student;
  const offerFor = (payload: object, token = uni) =>
    hub.request({ method: "POST", url: "/v1/credential-offers", token, payload });
  const problem = (answer: { json<T>(): T }) => answer.json<{ code: string; errors?: { field: string }[] }>();

  before(async () => {
    hub = await startTestHub({ env: { ...CREDENTIAL_HUB_ENV } });
    student = await enrolledStudent(hub);
    uni = student.token;
  });
  after(() => hub.close());

  it("gives the offer as a URI under the issuer, a deep link, a QR code of it and a 6-digit code, for a day", async () => {
    const before = Date.now();
    const answer = await offerFor({ escn: student.escn });
    assert.equal(answer.statusCode, 201, answer.body);
    assert.equal(answer.headers["cache-control"], "no-store");
    const offer = answer.json<Offer>();
    assert.match(offer.credentialOfferUri, new RegExp(`^${ISSUER}/credential-offers/[^/]+$`));
    assert.equal(
      offer.deepLink,
      `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(offer.credentialOfferUri)}`,
    );
    assert.match(offer.qrCode, /^<svg/);
    assert.equal(decodeQrSvg(offer.qrCode), offer.deepLink, "the QR code opens the offer");
    assert.match(offer.txCode ?? "", /^[0-9]{6}$/);
    const lifetime = Date.parse(offer.expiresAt) - before;
    assert.ok(lifetime > 23.9 * 3600_000 && lifetime <= 24 * 3600_000 + 5000, offer.expiresAt);
    const grant = offer.credentialOffer.grants[PRE_AUTHORIZED_GRANT];
    assert.equal(offer.credentialOffer.credential_issuer, ISSUER);
    assert.deepEqual(offer.credentialOffer.credential_configuration_ids, ["eu.europa.ec.eudi.esc.1"]);
    assert.equal(grant?.tx_code?.length, 6);
    assert.equal(grant?.tx_code?.input_mode, "numeric");
    assert.ok(!answer.body.includes(student.esi), "the offer does not carry the ESI");

    // What the wallet fetches says the same, with a code of its own.
    const fetched = await hub.request({ method: "GET", url: new URL(offer.credentialOfferUri).pathname });
    assert.equal(fetched.statusCode, 200, fetched.body);
    assert.equal(fetched.headers["cache-control"], "no-store");
    const document = fetched.json<Offer["credentialOffer"]>();
    assert.equal(document.credential_issuer, ISSUER);
    assert.deepEqual(document.grants[PRE_AUTHORIZED_GRANT]?.tx_code, grant?.tx_code);
  });

  it("makes an offer without a transaction code when asked: txCode null and no tx_code in the offer", async () => {
    const answer = await offerFor({ escn: student.escn, txCode: false });
    assert.equal(answer.statusCode, 201, answer.body);
    const offer = answer.json<Offer>();
    assert.equal(offer.txCode, null);
    assert.equal(offer.credentialOffer.grants[PRE_AUTHORIZED_GRANT]?.tx_code, undefined);
    const fetched = await hub.request({ method: "GET", url: new URL(offer.credentialOfferUri).pathname });
    const grant = fetched.json<Offer["credentialOffer"]>().grants[PRE_AUTHORIZED_GRANT];
    assert.ok(grant?.["pre-authorized_code"]);
    assert.equal(grant?.tx_code, undefined);
  });

  it("refuses a card whose holder has not consented to credential issuance, until they do", async () => {
    const unconsenting = await enrolledStudent(hub, { token: uni, esi: esiOf("NOCONSENT"), consent: false });
    const refused = await offerFor({ escn: unconsenting.escn });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(problem(refused).code, "CONSENT_NOT_GIVEN");
    await giveConsent(hub, uni, unconsenting.esi);
    assert.equal((await offerFor({ escn: unconsenting.escn })).statusCode, 201);
  });

  it("refuses a card that is not valid: inactive, or of a student whose status ended", async () => {
    const lost = await enrolledStudent(hub, { token: uni, esi: esiOf("LOST") });
    const patched = await hub.request({
      method: "PATCH",
      url: `/v1/cards/${lost.escn}`,
      token: uni,
      payload: { status: "INACTIVE", inactiveReason: "lost" },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const inactive = await offerFor({ escn: lost.escn });
    assert.equal(inactive.statusCode, 409, inactive.body);
    assert.equal(problem(inactive).code, "CARD_NOT_VALID");

    const graduate = await enrolledStudent(hub, { token: uni, esi: esiOf("ENDED") });
    const ended = await hub.request({
      method: "PUT",
      url: `/v1/student-statuses/${UNIVERSITY.id}/${encodeURIComponent(graduate.esi)}`,
      token: uni,
      payload: { state: "ended", validFrom: "2026-09-01", validUntil: "2030-08-31" },
    });
    assert.equal(ended.statusCode, 200, ended.body);
    const refused = await offerFor({ escn: graduate.escn });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(problem(refused).code, "CARD_NOT_VALID");
  });

  it("answers another university's card exactly as a card nobody has", async () => {
    const theirs = await enrolledStudent(hub, { university: OTHER_UNIVERSITY, esi: esiOf("THEIRS") });
    // Their own institution may offer it: the card is issuable, so only the wall stops the owner.
    assert.equal((await offerFor({ escn: theirs.escn }, theirs.token)).statusCode, 201);
    const generated = await hub.request({
      method: "GET",
      url: `/esc-rest/api/v2/cards/generate-escn?prefix=7&pic=${OTHER_UNIVERSITY.id}`,
    });
    const [nobodys] = generated.json<string[]>();
    const wall = await offerFor({ escn: theirs.escn });
    const unknown = await offerFor({ escn: nobodys });
    assert.equal(wall.statusCode, 404, wall.body);
    assert.equal(problem(wall).code, "CARD_NOT_FOUND");
    assert.equal(wall.headers["content-type"], unknown.headers["content-type"]);
    assert.equal(wall.body, unknown.body, "the refusal tells nothing about the other card");
  });

  it("refuses a malformed ESCN, naming /escn, and an unknown field, naming it", async () => {
    const malformed = await offerFor({ escn: "not-an-escn" });
    assert.equal(malformed.statusCode, 400, malformed.body);
    assert.ok(
      problem(malformed).errors?.some((e) => e.field === "/escn"),
      malformed.body,
    );
    const unknownField = await offerFor({ escn: student.escn, wallet: "mine" });
    assert.equal(unknownField.statusCode, 400, unknownField.body);
    assert.equal(problem(unknownField).code, "VALIDATION_FAILED");
    assert.ok(
      problem(unknownField).errors?.some((e) => e.field === "/wallet"),
      unknownField.body,
    );
  });

  it("lets only institutions with the credentials:issue scope make offers", async () => {
    const bureau = await hub.onboard(CARD_BUREAU);
    const canteen = await hub.onboard(CANTEEN);
    // Even a bureau that processes the university's cards issues no credentials.
    const listed = await hub.request({
      method: "PATCH",
      url: `/v1/organisations/${UNIVERSITY.id}`,
      token: uni,
      payload: { processors: [CARD_BUREAU.id] },
    });
    assert.equal(listed.statusCode, 200, listed.body);
    for (const [who, token] of [
      ["card bureau", bureau],
      ["service provider", canteen],
      ["operator", ADMIN_TOKEN],
    ] as const) {
      const answer = await offerFor({ escn: student.escn }, token);
      assert.equal(answer.statusCode, 403, `${who}: ${answer.body}`);
    }
    const made = await hub.request({
      method: "POST",
      url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
      token: uni,
      payload: { name: "card office", scopes: ["cards:read", "cards:write", "persons:read"] },
    });
    assert.equal(made.statusCode, 201, made.body);
    const narrow = await offerFor({ escn: student.escn }, made.json<{ token: string }>().token);
    assert.equal(narrow.statusCode, 403, narrow.body);
    assert.equal(problem(narrow).code, "SCOPE_MISSING");
    const withScope = await hub.request({
      method: "POST",
      url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
      token: uni,
      payload: { name: "wallet desk", scopes: ["credentials:issue"] },
    });
    assert.equal(
      (await offerFor({ escn: student.escn }, withScope.json<{ token: string }>().token)).statusCode,
      201,
    );
  });
});
