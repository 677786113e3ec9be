import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import {
  generateHolderKey,
  presentCredential,
  receiveCredential,
} from "../../src/credentials/holder-wallet.ts";
import { PresentationVerifier } from "../../src/credentials/presentation-verifier.ts";
import { verifyStatusListToken } from "../../src/credentials/token-status-list.ts";
import { type Clock, systemClock } from "../../src/ports/clock.ts";
import {
  CREDENTIAL_HUB_ENV,
  enrolledStudent,
  inProcessNetwork,
  offer,
  type Student,
} from "../support/credential-scenario.ts";
import { eventually } from "../support/eventually.ts";
import { startTestHub, type TestHub } from "../support/test-hub.ts";

const VERIFIER = "https://canteen.example.org";

/**
 * The verifier's clock: still unless the test moves it, so that a slow machine cannot age the verifier's
 * cached list behind the test's back (its ttl here is one second). It starts at the real time, which the
 * credentials' and key bindings' times are checked against.
 */
function movableClock(): Clock & { advance(ms: number): void } {
  let at = systemClock.now().getTime();
  return { now: () => new Date(at), advance: (ms) => (at += ms) };
}

describe("a student card as a verifiable credential, from offer to revocation", () => {
  let hub: TestHub;
  let student: Student;
  before(async () => {
    hub = await startTestHub({ delivery: true, env: { ...CREDENTIAL_HUB_ENV } });
    student = await enrolledStudent(hub);
  });
  after(() => hub.close());

  it("issues to a wallet key, verifies offline from cached lists, and turns revoked once the card is lost and the ttl passed", async () => {
    const network = inProcessNetwork(hub);
    const made = await offer(hub, student);
    assert.match(
      made["deepLink"] ?? "",
      /^openid-credential-offer:\/\/\?credential_offer_uri=https%3A%2F%2Fhub\.example\.org%2Fissuers%2F/,
    );
    assert.match(made["qrCode"] ?? "", /^<svg/);
    assert.match(made["txCode"] ?? "", /^[0-9]{6}$/);

    const holderKey = generateHolderKey();
    const { credential, issuer } = await receiveCredential({
      offer: made["deepLink"] ?? "",
      txCode: made["txCode"] ?? "",
      holderKey,
      fetch: network.wallet,
    });
    assert.equal(issuer, "https://hub.example.org/issuers/999888777");

    // The issuer-signed JWT verifies with jose against the key published in the issuer metadata.
    const header = decodeProtectedHeader(credential.split("~")[0] ?? "");
    assert.equal(header.typ, "dc+sd-jwt");
    assert.equal(header.alg, "ES256");
    assert.ok(Array.isArray(header.x5c) && header.x5c.length === 2, "an x5c chain of leaf and CA");
    const metadata = (
      await hub.request({ method: "GET", url: "/.well-known/jwt-vc-issuer/issuers/999888777" })
    ).json<{
      issuer: string;
      jwks: { keys: { kid: string }[] };
    }>();
    assert.equal(metadata.issuer, issuer);
    const key = metadata.jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(key, "the credential's kid is published");
    const { payload } = await jwtVerify(
      credential.split("~")[0] ?? "",
      await importJWK(key as never, "ES256"),
      {
        issuer,
        typ: "dc+sd-jwt",
      },
    );
    assert.equal(payload["vct"], "eu.europa.ec.eudi.esc.1");
    assert.equal(payload["cardNumber"], undefined, "personal claims travel only as disclosures");
    const status = (payload["status"] as { status_list: { idx: number; uri: string } }).status_list;
    assert.match(status.uri, /^https:\/\/hub\.example\.org\/issuers\/999888777\/status-lists\/[0-9]+$/);

    // A verifier that trusts the deployment CA checks a presentation disclosing two claims.
    const ca = (await hub.request({ method: "GET", url: "/issuers/ca.pem" })).body;
    const clock = movableClock();
    const verifier = new PresentationVerifier({
      fetch: network.verifier,
      trustAnchors: [ca],
      now: () => clock.now(),
    });
    const present = (nonce: string) =>
      presentCredential(credential, {
        holderKey,
        audience: VERIFIER,
        nonce,
        disclose: ["cardNumber", "validUntil"],
      });
    const first = await verifier.verify(await present("n-1"), { audience: VERIFIER, nonce: "n-1" });
    assert.equal(first.valid, true, JSON.stringify(first));
    if (first.valid) {
      assert.equal(first.claims["cardNumber"], student.escn);
      assert.equal(first.claims["validUntil"], "2030-08-31");
      assert.equal(first.claims["fullName"], undefined, "undisclosed claims stay hidden");
    }

    // Offline: while its caches are fresh, the verifier asks nobody.
    const callsBefore = network.calls.length;
    const second = await verifier.verify(await present("n-2"), { audience: VERIFIER, nonce: "n-2" });
    assert.equal(second.valid, true);
    assert.equal(network.calls.length, callsBefore, "no network call while the list's ttl runs");

    // The card is reported lost: the served list is signed again within seconds.
    const lost = await hub.request({
      method: "PATCH",
      url: `/v1/cards/${student.escn}`,
      token: student.token,
      payload: { status: "INACTIVE", inactiveReason: "lost" },
    });
    assert.equal(lost.statusCode, 200, lost.body);
    const listPath = new URL(status.uri).pathname;
    await eventually(async () => {
      const served = await hub.request({ method: "GET", url: listPath });
      assert.equal(served.headers["content-type"], "application/statuslist+jwt");
      const list = await verifyStatusListToken(served.body, {
        key: await importJWK(key as never, "ES256"),
        expectedUri: status.uri,
      });
      assert.ok(list.list.size >= 100_000, "a list of at least 100,000 entries");
      assert.equal(list.list.get(status.idx), 1, "the entry says invalid");
    }, 5000);

    // The offline verifier still holds its fresh copy; once the ttl passed it fetches and sees the revocation.
    const cached = await verifier.verify(await present("n-3"), { audience: VERIFIER, nonce: "n-3" });
    assert.equal(cached.valid, true, "within the ttl the cached list answers");
    clock.advance(2000);
    const revoked = await verifier.verify(await present("n-4"), { audience: VERIFIER, nonce: "n-4" });
    assert.deepEqual(revoked.valid ? "valid" : revoked.reason, "revoked");

    // A verifier that asks the hub gets the current verdict at once.
    const online = await hub.request({
      method: "POST",
      url: "/v1/credential-verifications",
      payload: { presentation: await present("n-5"), audience: VERIFIER, nonce: "n-5" },
    });
    assert.equal(online.statusCode, 200, online.body);
    assert.equal(online.json<{ reason: string }>().reason, "revoked");
  });

  it("suspends a credential while the card is suspended and restores it on resumption", async () => {
    const other = await enrolledStudent(hub, {
      token: student.token,
      esi: "urn:schac:personalUniqueCode:int:esi:fr:SUSPEND-1",
    });
    const network = inProcessNetwork(hub);
    const made = await offer(hub, other);
    const holderKey = generateHolderKey("EdDSA");
    const { credential } = await receiveCredential({
      offer: made["credentialOfferUri"] ?? "",
      txCode: made["txCode"] ?? "",
      holderKey,
      fetch: network.wallet,
    });
    const check = async () => {
      const nonce = `n-${Math.random()}`;
      const answer = await hub.request({
        method: "POST",
        url: "/v1/credential-verifications",
        payload: {
          presentation: await presentCredential(credential, { holderKey, audience: VERIFIER, nonce }),
          audience: VERIFIER,
          nonce,
        },
      });
      const body = answer.json<{ valid: boolean; reason?: string }>();
      return body.valid ? "valid" : body.reason;
    };
    assert.equal(await check(), "valid");
    const patch = (body: object) =>
      hub.request({ method: "PATCH", url: `/v1/cards/${other.escn}`, token: other.token, payload: body });
    assert.equal((await patch({ status: "INACTIVE", inactiveReason: "suspended" })).statusCode, 200);
    await eventually(async () => assert.equal(await check(), "suspended"), 5000);
    assert.equal((await patch({ status: "ACTIVE", inactiveReason: null })).statusCode, 200);
    await eventually(async () => assert.equal(await check(), "valid"), 5000);
  });

  it("gives each credential a random entry: indices say nothing about issue order", async () => {
    const indices: number[] = [];
    const network = inProcessNetwork(hub);
    for (let i = 0; i < 4; i++) {
      const s = await enrolledStudent(hub, {
        token: student.token,
        esi: `urn:schac:personalUniqueCode:int:esi:fr:RND-${i}`,
      });
      const made = await offer(hub, s, false);
      assert.equal(made["txCode"], null);
      const { credential } = await receiveCredential({
        offer: made["deepLink"] ?? "",
        holderKey: generateHolderKey(),
        fetch: network.wallet,
      });
      const payload = JSON.parse(Buffer.from(credential.split(".")[1] ?? "", "base64url").toString());
      indices.push(payload.status.status_list.idx);
    }
    assert.equal(new Set(indices).size, indices.length, "distinct entries");
    const consecutive = indices.slice(1).every((v, i) => v === (indices[i] ?? 0) + 1);
    assert.equal(consecutive, false, "not handed out in order");
    assert.ok(indices.every((i) => i >= 0 && i < 131_072));
  });
});
