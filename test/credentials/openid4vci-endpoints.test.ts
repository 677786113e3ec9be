/**
 * The OpenID4VCI endpoints of an issuer, driven by hand as a wallet (honest or not) would: the offer
 * document, the token, nonce and credential endpoints, and the well-known documents that lead to them.
 * Key proofs are built here with jose, so that each rule is broken on purpose.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { decodeJwt } from "jose";
import { generateHolderKey, type HolderKey } from "../../src/credentials/holder-wallet.ts";
import { PRE_AUTHORIZED_GRANT } from "../../src/credentials/openid4vci/credential-offer.ts";
import { type Clock, systemClock } from "../../src/ports/clock.ts";
import {
  CREDENTIAL_HUB_ENV,
  decodeCredential,
  enrolledStudent,
  ISSUER,
  keyProof,
  offer,
  preAuthorizedCodeOf,
  type Student,
} from "../support/credential-scenario.ts";
import { CANTEEN, OTHER_UNIVERSITY, UNIVERSITY } from "../support/fixtures.ts";
import { startTestHub, type TestHub } from "../support/test-hub.ts";

const A = UNIVERSITY.id;
const ESC = "eu.europa.ec.eudi.esc.1";
const FORM = "application/x-www-form-urlencoded";

/** The hub's clock: real time, moved forward by the test to see offers expire. */
function movableClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => new Date(systemClock.now().getTime() + offset), advance: (ms) => (offset += ms) };
}

const oauth = (answer: LightMyRequestResponse) => answer.json<{ error: string; error_description: string }>();

describe("the OpenID4VCI endpoints of an issuer", () => {
  let hub: TestHub;
  let student: Student;
  const clock = movableClock();
  const now = () => Math.floor(clock.now().getTime() / 1000);

  const postToken = (form: Record<string, string>, contentType = FORM) =>
    hub.request({
      method: "POST",
      url: `/issuers/${A}/token`,
      headers: { "content-type": contentType },
      payload: contentType === FORM ? new URLSearchParams(form).toString() : JSON.stringify(form),
    });
  const codeOf = (document: { grants: Record<string, { "pre-authorized_code": string }> }) =>
    document.grants[PRE_AUTHORIZED_GRANT]?.["pre-authorized_code"] ?? "";
  /** An offer of the student's card, and the access token it trades for. */
  const accessToken = async () => {
    const made = await offer(hub, student, false);
    const code = preAuthorizedCodeOf(made);
    const answer = await postToken({ grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": code });
    assert.equal(answer.statusCode, 200, answer.body);
    return answer.json<{ access_token: string }>().access_token;
  };
  const nonce = async () => {
    const answer = await hub.request({ method: "POST", url: `/issuers/${A}/nonce` });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.equal(answer.headers["cache-control"], "no-store");
    return answer.json<{ c_nonce: string }>().c_nonce;
  };
  const askCredential = (token: string | undefined, body: unknown) =>
    hub.request({
      method: "POST",
      url: `/issuers/${A}/credential`,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      payload: body as object,
    });
  const proof = (key: HolderKey, claims: Parameters<typeof keyProof>[1] = {}, header = {}) =>
    keyProof(key, { iat: now(), ...claims }, header);
  const request = (...jwts: string[]) => ({ credential_configuration_id: ESC, proofs: { jwt: jwts } });

  before(async () => {
    hub = await startTestHub({ clock, env: { ...CREDENTIAL_HUB_ENV } });
    student = await enrolledStudent(hub);
    await hub.onboard(OTHER_UNIVERSITY);
    await hub.onboard(CANTEEN);
  });
  after(() => hub.close());

  describe("the well-known documents", () => {
    it("lead a wallet from the issuer to its credential, nonce and token endpoints", async () => {
      const get = async (kind: string, id = A) =>
        hub.request({ method: "GET", url: `/.well-known/${kind}/issuers/${id}` });
      const issuer = (await get("openid-credential-issuer")).json<{
        credential_issuer: string;
        credential_endpoint: string;
        nonce_endpoint: string;
        credential_configurations_supported: Record<string, { format: string; vct: string }>;
      }>();
      assert.equal(issuer.credential_issuer, ISSUER);
      assert.equal(issuer.credential_endpoint, `${ISSUER}/credential`);
      assert.equal(issuer.nonce_endpoint, `${ISSUER}/nonce`);
      assert.equal(issuer.credential_configurations_supported[ESC]?.format, "dc+sd-jwt");
      assert.equal(issuer.credential_configurations_supported[ESC]?.vct, ESC);

      const server = (await get("oauth-authorization-server")).json<{
        issuer: string;
        token_endpoint: string;
        grant_types_supported: string[];
      }>();
      assert.equal(server.issuer, ISSUER);
      assert.equal(server.token_endpoint, `${ISSUER}/token`);
      assert.deepEqual(server.grant_types_supported, [PRE_AUTHORIZED_GRANT]);

      const keys = await get("jwt-vc-issuer");
      const vc = keys.json<{ issuer: string; jwks: { keys: Record<string, unknown>[] } }>();
      assert.equal(vc.issuer, ISSUER);
      assert.equal(vc.jwks.keys.length, 1);
      assert.ok(vc.jwks.keys.every((k) => typeof k["kid"] === "string" && k["d"] === undefined));

      for (const kind of ["openid-credential-issuer", "oauth-authorization-server", "jwt-vc-issuer"]) {
        for (const id of [CANTEEN.id, "123123123"]) {
          const answer = await get(kind, id);
          assert.equal(answer.statusCode, 404, `${kind} of ${id}: ${answer.body}`);
          assert.equal(answer.json<{ code: string }>().code, "ORGANISATION_NOT_FOUND");
        }
      }
    });
  });

  describe("the offer document", () => {
    it("carries a fresh pre-authorized code on each fetch, and only the latest one is traded", async () => {
      const made = await offer(hub, student, false);
      const path = new URL(made["credentialOfferUri"] ?? "").pathname;
      const first = await hub.request({ method: "GET", url: path });
      const second = await hub.request({ method: "GET", url: path });
      assert.equal(first.statusCode, 200, first.body);
      const [old, latest] = [codeOf(first.json()), codeOf(second.json())];
      assert.ok(old && latest && old !== latest, "two different codes");
      const stale = await postToken({ grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": old });
      assert.equal(stale.statusCode, 400);
      assert.equal(oauth(stale).error, "invalid_grant");
      const traded = await postToken({ grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": latest });
      assert.equal(traded.statusCode, 200, traded.body);
      // Redeemed: the document is gone.
      const redeemed = await hub.request({ method: "GET", url: path });
      assert.equal(redeemed.statusCode, 404, redeemed.body);
      assert.equal(redeemed.json<{ code: string }>().code, "CREDENTIAL_OFFER_NOT_FOUND");
      const unknown = await hub.request({
        method: "GET",
        url: `/issuers/${A}/credential-offers/00000000-0000-4000-8000-000000000000`,
      });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.body, redeemed.body, "an unknown offer answers as a redeemed one");
      // Under another issuer's path, the offer does not exist either.
      const elsewhere = await hub.request({
        method: "GET",
        url: path.replace(`/issuers/${A}/`, `/issuers/${OTHER_UNIVERSITY.id}/`),
      });
      assert.equal(elsewhere.statusCode, 404);
    });
  });

  describe("the token endpoint", () => {
    it("takes only a form with the pre-authorized code grant, answering OAuth errors never to be cached", async () => {
      const made = await offer(hub, student, false);
      const code = preAuthorizedCodeOf(made);
      const asJson = await postToken(
        { grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": code },
        "application/json",
      );
      const asText = await hub.request({
        method: "POST",
        url: `/issuers/${A}/token`,
        headers: { "content-type": "text/plain" },
        payload: `grant_type=${encodeURIComponent(PRE_AUTHORIZED_GRANT)}&pre-authorized_code=${code}`,
      });
      const asBrokenJson = await hub.request({
        method: "POST",
        url: `/issuers/${A}/token`,
        headers: { "content-type": "application/json" },
        payload: '{"grant_type":',
      });
      const wrongGrant = await postToken({ grant_type: "authorization_code", code });
      for (const [answer, error] of [
        [asJson, "invalid_request"],
        [asText, "invalid_request"],
        [asBrokenJson, "invalid_request"],
        [wrongGrant, "unsupported_grant_type"],
      ] as const) {
        assert.equal(answer.statusCode, 400, answer.body);
        assert.equal(oauth(answer).error, error, answer.body);
        assert.equal(answer.headers["cache-control"], "no-store");
      }
      const huge = await postToken({
        grant_type: PRE_AUTHORIZED_GRANT,
        "pre-authorized_code": code,
        pad: "x".repeat(10_000),
      });
      assert.equal(huge.statusCode, 413, huge.body);
      // None of these spent the code.
      const traded = await postToken({ grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": code });
      assert.equal(traded.statusCode, 200, traded.body);
      assert.equal(traded.headers["cache-control"], "no-store");
      const token = traded.json<{ access_token: string; token_type: string; expires_in: number }>();
      assert.equal(token.token_type, "Bearer");
      assert.ok(token.expires_in > 0 && token.expires_in <= 300, String(token.expires_in));
      const replayed = await postToken({ grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": code });
      assert.equal(replayed.statusCode, 400);
      assert.equal(oauth(replayed).error, "invalid_grant");
    });

    it("wants the transaction code of an offer that has one, and locks the offer after 5 wrong ones", async () => {
      const made = await offer(hub, student);
      const code = preAuthorizedCodeOf(made);
      const right = made["txCode"] ?? "";
      const wrong = right === "000000" ? "111111" : "000000";
      const grant = { grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": code };
      const missing = await postToken(grant);
      assert.equal(missing.statusCode, 400);
      assert.equal(oauth(missing).error, "invalid_request");
      assert.equal(missing.headers["cache-control"], "no-store");
      for (let attempt = 1; attempt <= 5; attempt++) {
        const answer = await postToken({ ...grant, tx_code: wrong });
        assert.equal(answer.statusCode, 400);
        assert.equal(answer.headers["cache-control"], "no-store");
        assert.equal(oauth(answer).error, "invalid_grant");
        if (attempt < 5) assert.match(oauth(answer).error_description, new RegExp(`${5 - attempt} attempt`));
        else assert.match(oauth(answer).error_description, /locked/);
      }
      const locked = await postToken({ ...grant, tx_code: right });
      assert.equal(locked.statusCode, 400, locked.body);
      assert.equal(oauth(locked).error, "invalid_grant");
      assert.equal(locked.headers["cache-control"], "no-store");
      const document = await hub.request({
        method: "GET",
        url: new URL(made["credentialOfferUri"] ?? "").pathname,
      });
      assert.equal(document.statusCode, 404, "a locked offer is no longer served");

      // A fresh offer with the right code goes through; a code sent to an offer without one does not.
      const next = await offer(hub, student);
      const nextCode = preAuthorizedCodeOf(next);
      const ok = await postToken({
        grant_type: PRE_AUTHORIZED_GRANT,
        "pre-authorized_code": nextCode,
        tx_code: next["txCode"] ?? "",
      });
      assert.equal(ok.statusCode, 200, ok.body);
      const bare = await offer(hub, student, false);
      const extra = await postToken({
        grant_type: PRE_AUTHORIZED_GRANT,
        "pre-authorized_code": preAuthorizedCodeOf(bare),
        tx_code: "123456",
      });
      assert.equal(oauth(extra).error, "invalid_request");
    });
  });

  describe("the nonce endpoint", () => {
    it("hands out a fresh nonce each time, for issuers only", async () => {
      const nonces = [await nonce(), await nonce(), await nonce()];
      assert.equal(new Set(nonces).size, 3);
      assert.ok(nonces.every((n) => n.length >= 32));
      const none = await hub.request({ method: "POST", url: `/issuers/${CANTEEN.id}/nonce` });
      assert.equal(none.statusCode, 404);
    });
  });

  describe("the credential endpoint", () => {
    it("wants the access token of the token endpoint, and says so in WWW-Authenticate", async () => {
      const key = generateHolderKey();
      const body = request(await proof(key, { nonce: await nonce() }));
      for (const token of [
        undefined,
        "not-a-token-we-gave",
        await hub.onboard({ ...UNIVERSITY, id: "444555666" }),
      ]) {
        const answer = await askCredential(token, body);
        assert.equal(answer.statusCode, 401, answer.body);
        assert.equal(answer.headers["www-authenticate"], 'Bearer error="invalid_token"');
        assert.equal(oauth(answer).error, "invalid_token");
      }
    });

    it("refuses malformed requests and bad key proofs without spending the access token, then issues one credential per key", async () => {
      const token = await accessToken();
      const [key, otherKey] = [generateHolderKey(), generateHolderKey("EdDSA")];
      const fresh = await nonce();
      const refusals: [string, unknown, string][] = [
        [
          "the draft-era singular proof",
          {
            credential_configuration_id: ESC,
            proof: { proof_type: "jwt", jwt: await proof(key, { nonce: fresh }) },
          },
          "invalid_credential_request",
        ],
        [
          "an unknown configuration",
          {
            credential_configuration_id: "eu.example.diploma",
            proofs: { jwt: [await proof(key, { nonce: fresh })] },
          },
          "unknown_credential_configuration",
        ],
        [
          "a proof for another issuer",
          request(
            await proof(key, { nonce: fresh, aud: `https://hub.example.org/issuers/${OTHER_UNIVERSITY.id}` }),
          ),
          "invalid_proof",
        ],
        [
          "an unsigned proof (alg none)",
          request(unsigned(key, { aud: ISSUER, iat: now(), nonce: fresh })),
          "invalid_proof",
        ],
        [
          "a proof carrying the private key",
          request(await proof(key, { nonce: fresh }, { jwk: key.privateKey.export({ format: "jwk" }) })),
          "invalid_proof",
        ],
        [
          "a proof made ten minutes ago",
          request(await proof(key, { nonce: fresh, iat: now() - 600 })),
          "invalid_proof",
        ],
        ["a proof without a nonce", request(await proof(key)), "invalid_proof"],
        [
          "a nonce the issuer never gave",
          request(await proof(key, { nonce: "made-up-nonce" })),
          "invalid_nonce",
        ],
      ];
      for (const [what, body, error] of refusals) {
        const answer = await askCredential(token, body);
        assert.equal(answer.statusCode, 400, `${what}: ${answer.body}`);
        assert.equal(oauth(answer).error, error, what);
        assert.equal(answer.headers["cache-control"], "no-store", what);
      }
      // Bodies that are not requests at all: a client error, never a server one.
      const odd = [
        { headers: { "content-type": "application/json" }, payload: '{"credential_configuration_id":' },
        {
          headers: { "content-type": "application/json" },
          payload: JSON.stringify({ pad: "x".repeat(1_100_000) }),
        },
        { headers: { "content-type": "application/xml" }, payload: "<request/>" },
        { headers: { "content-type": "text/plain" }, payload: "proofs" },
        { headers: { "content-type": "application/json" }, payload: "[]" },
      ];
      for (const { headers, payload } of odd) {
        const answer = await hub.request({
          method: "POST",
          url: `/issuers/${A}/credential`,
          headers: { ...headers, authorization: `Bearer ${token}` },
          payload,
        });
        assert.ok(
          answer.statusCode >= 400 && answer.statusCode < 500,
          `${headers["content-type"]}: ${answer.statusCode} ${answer.body.slice(0, 200)}`,
        );
      }

      // The same token, two keys, two nonces: two credentials, each bound to its key, in distinct entries.
      const issued = await askCredential(
        token,
        request(await proof(key, { nonce: fresh }), await proof(otherKey, { nonce: await nonce() })),
      );
      assert.equal(issued.statusCode, 200, issued.body);
      assert.equal(issued.headers["cache-control"], "no-store");
      const credentials = issued
        .json<{ credentials: { credential: string }[] }>()
        .credentials.map((c) => decodeCredential(c.credential));
      assert.equal(credentials.length, 2);
      for (const [i, holder] of [key, otherKey].entries()) {
        const payload: Record<string, unknown> = credentials[i]?.payload ?? {};
        const bound = (payload["cnf"] as { jwk?: Record<string, unknown> } | undefined)?.jwk;
        assert.deepEqual(bound, holder.publicJwk, `credential ${i} is bound to key ${i}`);
        assert.equal(payload["iss"], ISSUER);
        assert.equal(payload["vct"], ESC);
      }
      const [first, second] = credentials.map((c) => c.payload.status.status_list);
      assert.ok(first && second);
      assert.notDeepEqual(first, second, "distinct status entries");

      // The access token is spent; so is the nonce.
      const again = await askCredential(token, request(await proof(key, { nonce: await nonce() })));
      assert.equal(again.statusCode, 401, again.body);
      assert.equal(oauth(again).error, "invalid_token");
      const reused = await askCredential(await accessToken(), request(await proof(key, { nonce: fresh })));
      assert.equal(reused.statusCode, 400, reused.body);
      assert.equal(oauth(reused).error, "invalid_nonce");

      // The credential's status list is its issuer's: under another issuer's path it does not exist.
      const list = new URL(first.uri).pathname;
      const served = await hub.request({ method: "GET", url: list });
      assert.equal(served.statusCode, 200, served.body);
      assert.equal(served.headers["content-type"], "application/statuslist+jwt");
      assert.equal(decodeJwt(served.body).sub, first.uri);
      for (const id of [OTHER_UNIVERSITY.id, CANTEEN.id]) {
        const elsewhere = await hub.request({
          method: "GET",
          url: list.replace(`/issuers/${A}/`, `/issuers/${id}/`),
        });
        assert.equal(elsewhere.statusCode, 404, `${id}: ${elsewhere.body}`);
      }
    });
  });

  describe("an offer that ran out", () => {
    it("is neither served nor traded once its day is over", async () => {
      const made = await offer(hub, student, false);
      const path = new URL(made["credentialOfferUri"] ?? "").pathname;
      const code = preAuthorizedCodeOf(made);
      clock.advance(24 * 3600_000 + 1000);
      const document = await hub.request({ method: "GET", url: path });
      assert.equal(document.statusCode, 404, document.body);
      const traded = await postToken({ grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": code });
      assert.equal(traded.statusCode, 400, traded.body);
      assert.equal(oauth(traded).error, "invalid_grant");
    });
  });
});

/** A key proof with `alg: none`: the header and claims of a real one, and no signature. */
function unsigned(key: HolderKey, claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ typ: "openid4vci-proof+jwt", alg: "none", jwk: key.publicJwk })}.${part(claims)}.`;
}
