import assert from "node:assert/strict";
import type { KeyObject } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, beforeEach, describe, it } from "node:test";
import fc from "fast-check";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK } from "jose";
import { type EscCredentialSigner, issueEscCredential } from "../../src/credentials/esc-credential.ts";
import {
  createDeploymentCa,
  issueIssuerCertificate,
  x5cChain,
} from "../../src/credentials/issuer-certificates.ts";
import {
  type FetchedDocument,
  PresentationVerifier,
  type PresentationVerifierOptions,
  type VerificationFailure,
  type VerifierCache,
} from "../../src/credentials/presentation-verifier.ts";
import { issueSdJwt, presentSdJwt } from "../../src/credentials/sd-jwt.ts";
import { generateIssuerKey, type IssuerKey } from "../../src/credentials/sealed-key.ts";
import {
  STATUS_INVALID,
  STATUS_SUSPENDED,
  StatusList,
  signStatusListToken,
} from "../../src/credentials/token-status-list.ts";

const T0 = Date.parse("2026-11-02T09:00:00Z");
const DAY_MS = 24 * 60 * 60 * 1000;
const AUD = "https://verifier.example.org";
const NONCE = "nonce-5b3e";
const VALID_IDX = 5;
const REVOKED_IDX = 6;
const SUSPENDED_IDX = 7;

const caStart = new Date(T0 - 30 * DAY_MS);
const ca = await createDeploymentCa({ name: "CN=OpenESC test CA", validityDays: 3650, notBefore: caStart });
const otherCa = await createDeploymentCa({ name: "CN=Another CA", validityDays: 3650, notBefore: caStart });

async function signerOf(key: IssuerKey, authority = ca): Promise<EscCredentialSigner> {
  const leaf = await issueIssuerCertificate({
    ca: authority,
    subject: { organisationId: "999888777", name: "Universidad de Ejemplo" },
    publicKey: key.publicKey,
    validityDays: 365,
    notBefore: caStart,
  });
  return { key: key.privateKey, alg: key.alg, kid: key.keyId, x5c: x5cChain(leaf, authority.certificate) };
}

const currentKey = await generateIssuerKey("ES256");
const retiredKey = await generateIssuerKey("EdDSA");
const strayKey = await generateIssuerKey("ES256");
const current = await signerOf(currentKey);
const retired = await signerOf(retiredKey);
const stray = await signerOf(strayKey);
const holder = await generateKeyPair("ES256", { extractable: true });
const holderJwk = await exportJWK(holder.publicKey);
const stranger = await generateKeyPair("ES256");

/** What the loopback issuer serves; reset before each test. */
const served = {
  keys: [] as JWK[],
  issuer: undefined as string | undefined,
  list: new StatusList(1024, 2),
  listStatus: 200,
  /** How long before the request the served list was signed: an issuer re-signs an unchanged list rarely. */
  listAgeMs: 0,
};
let clock = T0;
const fetched: string[] = [];
const accepts: string[] = [];

const server = createServer(async (request: IncomingMessage, response) => {
  const path = new URL(request.url ?? "/", origin).pathname;
  accepts.push(`${path} ${request.headers.accept}`);
  if (path === METADATA_PATH) {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ issuer: served.issuer ?? ISSUER, jwks: { keys: served.keys } }));
  } else if (path === LIST_PATH && served.listStatus === 200) {
    const token = await signStatusListToken({
      list: served.list,
      uri: STATUS_URI,
      key: currentKey.privateKey,
      kid: currentKey.keyId,
      issuedAt: new Date(clock - served.listAgeMs),
      ttlSeconds: 300,
    });
    response.writeHead(200, { "content-type": "application/statuslist+jwt" });
    response.end(token);
  } else {
    response.writeHead(path === LIST_PATH ? served.listStatus : 404).end();
  }
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const ISSUER = `${origin}/orgs/999888777`;
const METADATA_PATH = "/.well-known/jwt-vc-issuer/orgs/999888777";
const LIST_PATH = "/statuslists/1";
const STATUS_URI = `${origin}${LIST_PATH}`;

after(() => server.close());
beforeEach(() => {
  served.keys = [currentKey.publicJwk, retiredKey.publicJwk];
  served.issuer = undefined;
  served.list = new StatusList(1024, 2);
  served.list.set(REVOKED_IDX, STATUS_INVALID);
  served.list.set(SUSPENDED_IDX, STATUS_SUSPENDED);
  served.listStatus = 200;
  served.listAgeMs = 0;
  clock = T0;
  fetched.length = 0;
  accepts.length = 0;
});

/** The network as the verifier sees it, over the loopback socket, counting every call. */
async function countingFetch(url: string, request: { accept: string }): Promise<FetchedDocument> {
  fetched.push(url);
  const response = await fetch(url, { headers: { accept: request.accept } });
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    body: await response.text(),
  };
}

function verifier(options: Partial<PresentationVerifierOptions> = {}): PresentationVerifier {
  return new PresentationVerifier({
    fetch: countingFetch,
    trustAnchors: [ca.certificate.pem],
    now: () => new Date(clock),
    allowHttp: true,
    ...options,
  });
}

interface CredentialOptions {
  signer?: EscCredentialSigner;
  idx?: number;
  issuedAt?: Date;
  expiresAt?: Date;
  issuer?: string;
}

function credential(options: CredentialOptions = {}): Promise<string> {
  return issueEscCredential({
    issuer: options.issuer ?? ISSUER,
    signer: options.signer ?? current,
    claims: {
      cardNumber: "f47ac10b-58cc-1372-a567-001999888777",
      issuedAt: "2026-09-01",
      expiresAt: "2030-08-31",
      displayName: "Maria P.",
      fullName: "Maria Papadopoulou",
      issuer: "Universidad de Ejemplo",
      qrCode: "https://hub.openesc.example/v/f47ac10b-58cc-1372-a567-001999888777",
      institution: "Universidad de Ejemplo",
      institutionId: "999888777",
      country: "ES",
      academicLevel: "MASTER",
      validUntil: "2027-08-31",
      esi: "urn:schac:personalUniqueCode:int:esi:es:12345678X",
    },
    holderJwk,
    status: { uri: STATUS_URI, idx: options.idx ?? VALID_IDX },
    issuedAt: options.issuedAt ?? new Date(T0 - DAY_MS),
    expiresAt: options.expiresAt ?? new Date(T0 + 365 * DAY_MS),
  });
}

interface PresentOptions {
  holderKey?: CryptoKey | KeyObject | null;
  aud?: string;
  nonce?: string;
  disclose?: readonly string[];
}

function present(sdJwt: string, options: PresentOptions = {}): Promise<string> {
  const names = options.disclose ?? ["fullName", "validUntil", "academicLevel"];
  const holderKey = options.holderKey === undefined ? holder.privateKey : options.holderKey;
  return presentSdJwt(sdJwt, {
    disclose: (name) => name !== undefined && names.includes(name),
    ...(holderKey === null ? {} : { holderKey }),
    aud: options.aud ?? AUD,
    nonce: options.nonce ?? NONCE,
    iat: Math.floor(clock / 1000),
  });
}

async function validPresentation(options: CredentialOptions = {}): Promise<string> {
  return present(await credential(options));
}

async function refused(
  presentation: string,
  reason: VerificationFailure,
  subject = verifier(),
): Promise<{ message: string; issuer?: string }> {
  const result = await subject.verify(presentation, { audience: AUD, nonce: NONCE });
  assert.equal(result.valid, false, "expected a refusal");
  if (result.valid) throw new Error("unreachable");
  assert.equal(result.reason, reason, result.message);
  return result;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const parts = (presentation: string) => presentation.split("~");

describe("PresentationVerifier", () => {
  it("accepts a valid presentation and returns the disclosed claims and issuer", async () => {
    const result = await verifier().verify(await validPresentation(), { audience: AUD, nonce: NONCE });
    assert.deepEqual(result, {
      valid: true,
      issuer: ISSUER,
      vct: "eu.europa.ec.eudi.esc.1",
      claims: {
        issuer: "Universidad de Ejemplo",
        fullName: "Maria Papadopoulou",
        validUntil: "2027-08-31",
        academicLevel: "MASTER",
      },
      status: "valid",
      expiresAt: new Date(T0 + 365 * DAY_MS).toISOString(),
    });
    assert.deepEqual(fetched, [`${origin}${METADATA_PATH}`, STATUS_URI]);
    assert.ok(accepts.includes(`${LIST_PATH} application/statuslist+jwt`));
  });

  it("refuses a modified payload: bad-signature", async () => {
    const [jwt = "", ...rest] = parts(await validPresentation());
    const [header, payload, signature] = jwt.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    claims.exp += 365 * 24 * 3600;
    await refused([`${header}.${b64(claims)}.${signature}`, ...rest].join("~"), "bad-signature");
  });

  it("refuses alg none: alg-none", async () => {
    const [jwt = "", ...rest] = parts(await validPresentation());
    const payload = jwt.split(".")[1];
    const unsigned = `${b64({ alg: "none", typ: "dc+sd-jwt", kid: currentKey.keyId })}.${payload}.`;
    await refused([unsigned, ...rest].join("~"), "alg-none");
    assert.deepEqual(fetched, []);
  });

  it("refuses an unknown kid after exactly one refetch of the metadata, then without fetching", async () => {
    const subject = verifier();
    assert.equal(
      (await subject.verify(await validPresentation(), { audience: AUD, nonce: NONCE })).valid,
      true,
    );
    clock += 31_000;
    fetched.length = 0;
    const unknown = await present(await credential({ signer: stray }));
    await refused(unknown, "unknown-key", subject);
    assert.deepEqual(fetched, [`${origin}${METADATA_PATH}`]);
    fetched.length = 0;
    await refused(unknown, "unknown-key", subject);
    assert.deepEqual(fetched, [], "the refetch is rate-limited");
  });

  it("finds a key the issuer added since the metadata was cached", async () => {
    const subject = verifier();
    assert.equal(
      (await subject.verify(await validPresentation(), { audience: AUD, nonce: NONCE })).valid,
      true,
    );
    served.keys = [...served.keys, strayKey.publicJwk];
    clock += 31_000;
    const result = await subject.verify(await present(await credential({ signer: stray })), {
      audience: AUD,
      nonce: NONCE,
    });
    assert.equal(result.valid, true);
  });

  it("refuses a chain from another CA, without fetching: untrusted-chain", async () => {
    const foreign = await signerOf(currentKey, otherCa);
    await refused(await validPresentation({ signer: foreign }), "untrusted-chain");
    assert.deepEqual(fetched, []);
  });

  it("refuses a chain whose leaf expired since the chain was first checked: untrusted-chain", async () => {
    const subject = verifier();
    const card = await credential();
    assert.equal((await subject.verify(await present(card), { audience: AUD, nonce: NONCE })).valid, true);
    clock += 340 * DAY_MS; // the leaf is valid for 365 days from 30 days before T0; the card for 365 from T0
    const { message } = await refused(await present(card), "untrusted-chain", subject);
    assert.match(message, /expired/);
  });

  it("refuses a credential without x5c when trust anchors are set: untrusted-chain", async () => {
    await refused(await validPresentation({ signer: { ...current, x5c: [] } }), "untrusted-chain");
  });

  it("refuses a trusted leaf that certifies another key than the metadata's kid: untrusted-chain", async () => {
    await refused(await validPresentation({ signer: { ...current, x5c: stray.x5c } }), "untrusted-chain");
  });

  it("trusts the metadata alone when no trust anchors are given", async () => {
    const foreign = await signerOf(currentKey, otherCa);
    const result = await verifier({ trustAnchors: [] }).verify(await validPresentation({ signer: foreign }), {
      audience: AUD,
      nonce: NONCE,
    });
    assert.equal(result.valid, true);
  });

  it("refuses an expired credential: expired", async () => {
    const expired = await validPresentation({
      issuedAt: new Date(T0 - 400 * DAY_MS),
      expiresAt: new Date(T0 - DAY_MS),
    });
    await refused(expired, "expired");
  });

  it("refuses a credential that is not valid yet: not-yet-valid", async () => {
    const early = await validPresentation({
      issuedAt: new Date(T0 + DAY_MS),
      expiresAt: new Date(T0 + 9 * DAY_MS),
    });
    await refused(early, "not-yet-valid");
  });

  it("refuses a revoked card (status 1) and a suspended one (status 2)", async () => {
    const subject = verifier();
    await refused(await validPresentation({ idx: REVOKED_IDX }), "revoked", subject);
    await refused(await validPresentation({ idx: SUSPENDED_IDX }), "suspended", subject);
  });

  it("refuses an index outside the list: status-unavailable", async () => {
    await refused(await validPresentation({ idx: 5000 }), "status-unavailable");
  });

  it("refuses an unreferenced disclosure", async () => {
    const withExtra = `${await credential()}${b64(["c2FsdHNhbHQ", "admin", true])}~`;
    await refused(await present(withExtra, { disclose: ["fullName", "admin"] }), "unreferenced-disclosure");
  });

  it("refuses a disclosure presented twice: duplicate-disclosure", async () => {
    const sdJwt = await credential();
    const first = parts(sdJwt)[1];
    await refused(
      await present(`${sdJwt}${first}~`, { disclose: ["fullName", "cardNumber"] }),
      "duplicate-disclosure",
    );
  });

  it("refuses a presentation without key binding: missing-key-binding", async () => {
    await refused(await present(await credential(), { holderKey: null }), "missing-key-binding");
  });

  it("refuses key binding by another key: bad-key-binding", async () => {
    await refused(await present(await credential(), { holderKey: stranger.privateKey }), "bad-key-binding");
  });

  it("refuses key binding for another audience or nonce", async () => {
    await refused(await present(await credential(), { aud: "https://elsewhere.example" }), "wrong-audience");
    await refused(await present(await credential(), { nonce: "replayed" }), "wrong-nonce");
  });

  it("refuses a stale key binding JWT: stale-key-binding", async () => {
    const presentation = await validPresentation();
    clock += 600_000;
    await refused(presentation, "stale-key-binding");
  });

  it("refuses typ vc+sd-jwt and another vct: wrong-type", async () => {
    const { sdJwt } = await issueSdJwt({
      header: { typ: "vc+sd-jwt", kid: current.kid, x5c: current.x5c },
      claims: { iss: ISSUER, vct: "eu.europa.ec.eudi.esc.1", cnf: { jwk: holderJwk } },
      disclosable: [],
      key: current.key,
    });
    await refused(await present(sdJwt), "wrong-type");
    const { sdJwt: otherVct } = await issueSdJwt({
      header: { typ: "dc+sd-jwt", kid: current.kid, x5c: current.x5c },
      claims: { iss: ISSUER, vct: "urn:eudi:pid:1", cnf: { jwk: holderJwk } },
      disclosable: [],
      key: current.key,
    });
    await refused(await present(otherVct), "wrong-type");
    assert.deepEqual(fetched, []);
  });

  it("refuses garbage in any part as malformed, bad-signature, bad-disclosure or bad-key-binding", async () => {
    const [jwt = "", disclosure = "", ...rest] = parts(await validPresentation());
    const [header, payload] = jwt.split(".");
    const kb = rest.at(-1) ?? "";
    for (const garbage of [
      "",
      "~",
      "garbage",
      "a.b.c~",
      "x~y~z",
      "🦆.🦆.🦆~🦆~",
      `${b64("text")}.${payload}.sig~`,
    ]) {
      await refused(garbage, "malformed");
    }
    await refused(`${header}.!!!.sig~${kb}`, "malformed");
    await refused(`${header}.${payload}.AAAA~${kb}`, "bad-signature");
    await refused(`${jwt}~%%%~${disclosure}~${kb}`, "bad-disclosure");
    await refused(`${jwt}~${disclosure}~${b64({ alg: "ES256" })}.e30.AAAA`, "bad-key-binding");
  });

  it("refuses an oversized presentation as malformed without parsing it", async () => {
    const presentation = await validPresentation();
    await refused(presentation, "malformed", verifier({ maxPresentationBytes: presentation.length - 1 }));
    await refused(`${presentation}${"A".repeat(70_000)}`, "malformed");
    assert.deepEqual(fetched, []);
  });

  it("never throws for a presentation changed anywhere", async () => {
    const presentation = await validPresentation();
    const metadata = JSON.stringify({ issuer: ISSUER, jwks: { keys: served.keys } });
    const subject = verifier({
      // In memory: a changed iss must not send the test to the network.
      fetch: async (url) =>
        url === `${origin}${METADATA_PATH}`
          ? { status: 200, contentType: "application/json", body: metadata }
          : { status: 404, contentType: null, body: "" },
    });
    const alphabet = '~.-_AZaz09{}"\u0000é';
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(presentation.length - 1), fc.nat(alphabet.length - 1), fc.nat(3)), {
          minLength: 1,
          maxLength: 4,
        }),
        async (edits) => {
          let changed = presentation;
          for (const [at, char, how] of edits) {
            const c = alphabet[char] ?? "A";
            changed =
              how === 0
                ? changed.slice(0, at) + changed.slice(at + 1)
                : changed.slice(0, at) + c + changed.slice(at + (how === 1 ? 1 : 0));
          }
          const result = await subject.verify(changed, { audience: AUD, nonce: NONCE });
          assert.equal(typeof result.valid, "boolean");
        },
      ),
      { numRuns: 300, seed: 20261102 },
    );
  });

  it("verifies a credential signed with a retired key while the metadata still lists it", async () => {
    const subject = verifier();
    const oldCard = await credential({ signer: retired });
    assert.equal((await subject.verify(await present(oldCard), { audience: AUD, nonce: NONCE })).valid, true);
    served.keys = [currentKey.publicJwk];
    clock += 3601_000;
    await refused(await present(oldCard), "unknown-key", subject);
  });

  it("makes no network call, and reads no cache entry, while its caches are fresh", async () => {
    const entries = new Map<string, string>();
    let reads = 0;
    const cache: VerifierCache = {
      get: async (key) => {
        reads++;
        return entries.get(key);
      },
      set: async (key, value) => void entries.set(key, value),
    };
    const subject = verifier({ cache });
    const presentation = await validPresentation();
    assert.equal((await subject.verify(presentation, { audience: AUD, nonce: NONCE })).valid, true);
    assert.equal(fetched.length, 2);
    fetched.length = 0;
    reads = 0;
    for (let i = 0; i < 5; i++) {
      assert.equal((await subject.verify(presentation, { audience: AUD, nonce: NONCE })).valid, true);
    }
    await refused(await validPresentation({ idx: REVOKED_IDX }), "revoked", subject);
    assert.deepEqual(fetched, []);
    assert.equal(reads, 0, "the verified list and keys are kept in memory, not re-read and re-verified");
  });

  it("fetches the list again once its ttl has passed, and sees a changed status", async () => {
    const subject = verifier();
    assert.equal(
      (await subject.verify(await validPresentation(), { audience: AUD, nonce: NONCE })).valid,
      true,
    );
    served.list.set(VALID_IDX, STATUS_INVALID);
    clock += 299_000;
    fetched.length = 0;
    assert.equal(
      (await subject.verify(await validPresentation(), { audience: AUD, nonce: NONCE })).valid,
      true,
    );
    assert.deepEqual(fetched, [], "still within the ttl: the cached list holds");
    clock += 2_000;
    await refused(await validPresentation(), "revoked", subject);
    assert.deepEqual(fetched, [STATUS_URI], "metadata is still fresh; only the list is fetched");
  });

  it("counts the ttl from when the list was fetched, not from when it was signed", async () => {
    served.listAgeMs = 3_600_000;
    const subject = verifier();
    assert.equal(
      (await subject.verify(await validPresentation(), { audience: AUD, nonce: NONCE })).valid,
      true,
    );
    clock += 60_000;
    fetched.length = 0;
    assert.equal(
      (await subject.verify(await validPresentation(), { audience: AUD, nonce: NONCE })).valid,
      true,
    );
    assert.deepEqual(fetched, [], "a list signed an hour ago is still good for its ttl after fetching");
  });

  it("shares a cache between verifiers, so that a new one starts warm", async () => {
    const entries = new Map<string, string>();
    const cache: VerifierCache = {
      get: async (key) => entries.get(key),
      set: async (key, value) => void entries.set(key, value),
    };
    assert.equal(
      (await verifier({ cache }).verify(await validPresentation(), { audience: AUD, nonce: NONCE })).valid,
      true,
    );
    fetched.length = 0;
    const warm = verifier({ cache });
    assert.equal((await warm.verify(await validPresentation(), { audience: AUD, nonce: NONCE })).valid, true);
    assert.deepEqual(fetched, []);
  });

  it("refuses metadata that names another issuer: issuer-unavailable", async () => {
    served.issuer = "https://impostor.example/orgs/999888777";
    const { issuer } = await refused(await validPresentation(), "issuer-unavailable");
    assert.equal(issuer, ISSUER);
  });

  it("refuses an http issuer unless allowHttp: issuer-unavailable", async () => {
    await refused(await validPresentation(), "issuer-unavailable", verifier({ allowHttp: false }));
    assert.deepEqual(fetched, []);
  });

  it("answers status-unavailable when the list cannot be had, and issuer-unavailable when the metadata cannot", async () => {
    served.listStatus = 503;
    await refused(await validPresentation(), "status-unavailable");
    const offline = verifier({
      fetch: async () => {
        throw new Error("no network");
      },
    });
    await refused(await validPresentation(), "issuer-unavailable", offline);
  });
});
