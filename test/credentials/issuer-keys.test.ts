/**
 * An institution's signing keys (`/v1/organisations/{id}/issuer-keys`): listed without their private
 * halves, rotated without breaking what the old key signed, made in either algorithm, or imported with the
 * deployment's certificate or the institution's own chain; and sealed in the store, never kept in clear.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { LightMyRequestResponse } from "fastify";
import { EMBEDDED_MASTER_KEY_FILE } from "../../src/credentials/embedded-master-key.ts";
import { presentCredential } from "../../src/credentials/holder-wallet.ts";
import {
  createDeploymentCa,
  issueIssuerCertificate,
  x5cChain,
} from "../../src/credentials/issuer-certificates.ts";
import { type MasterKey, readMasterKey } from "../../src/credentials/master-key.ts";
import { PresentationVerifier } from "../../src/credentials/presentation-verifier.ts";
import { openPrivateKey, SealedKeyError } from "../../src/credentials/sealed-key.ts";
import {
  CREDENTIAL_HUB_ENV,
  decodeCredential,
  enrolledStudent,
  inProcessNetwork,
  issuedCredential,
  onlineVerdict,
  type Student,
  VERIFIER,
} from "../support/credential-scenario.ts";
import { OTHER_UNIVERSITY, UNIVERSITY } from "../support/fixtures.ts";
import { startTestHub, TEST_MASTER_KEY, type TestHub } from "../support/test-hub.ts";

const A = UNIVERSITY.id;
const KEYS = `/v1/organisations/${A}/issuer-keys`;

interface IssuerKey {
  kid: string;
  alg: string;
  origin: string;
  state: string;
  publicJwk: Record<string, string>;
  certificateChain: string[];
  retiredAt: string | null;
  publishedUntil: string | null;
}

/** Fails when an answer carries anything of a private key, by name or by JWK member. */
function assertNoPrivateMaterial(answer: LightMyRequestResponse): void {
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, `${path}[${i}]`);
    } else if (value !== null && typeof value === "object") {
      for (const [key, child] of Object.entries(value)) {
        assert.ok(!["d", "p", "q", "dp", "dq", "qi", "k"].includes(key), `${path}.${key} is private`);
        assert.doesNotMatch(key, /sealed|private/i, `${path}.${key}`);
        visit(child, `${path}.${key}`);
      }
    }
  };
  visit(answer.json(), "");
  assert.doesNotMatch(answer.body, /sealed|privateKey|PRIVATE KEY/i);
}

const pemOf = (key: KeyObject) => key.export({ format: "pem", type: "pkcs8" }) as string;
const newP256 = () => generateKeyPairSync("ec", { namedCurve: "P-256" });

describe("issuer keys", () => {
  let hub: TestHub;
  let student: Student;
  let uni: string;
  const keys = async () => {
    const answer = await hub.request({ method: "GET", url: KEYS, token: uni });
    assert.equal(answer.statusCode, 200, answer.body);
    assertNoPrivateMaterial(answer);
    return answer.json<{ items: IssuerKey[] }>().items;
  };
  const rotate = async (payload: object, status = 201) => {
    const answer = await hub.request({ method: "POST", url: KEYS, token: uni, payload });
    assert.equal(answer.statusCode, status, answer.body);
    if (status === 201) assertNoPrivateMaterial(answer);
    return answer;
  };
  const publishedKids = async () => {
    const metadata = await hub.request({ method: "GET", url: `/.well-known/jwt-vc-issuer/issuers/${A}` });
    return metadata.json<{ jwks: { keys: { kid: string }[] } }>().jwks.keys.map((k) => k.kid);
  };
  const deploymentCa = async () => (await hub.request({ method: "GET", url: "/issuers/ca.pem" })).body;
  const caDer = async () => (await deploymentCa()).replace(/-----[A-Z ]+-----|\s/g, "");

  before(async () => {
    hub = await startTestHub({ env: { ...CREDENTIAL_HUB_ENV } });
    student = await enrolledStudent(hub);
    uni = student.token;
  });
  after(() => hub.close());

  it("lists the key made on first use, with its public half and certificate chain only", async () => {
    const { credential } = await issuedCredential(hub, student);
    const [key, ...others] = await keys();
    assert.equal(others.length, 0);
    assert.equal(key?.state, "active");
    assert.equal(key?.origin, "generated");
    assert.equal(key?.alg, "ES256");
    assert.equal(key?.kid, decodeCredential(credential).header.kid, "the key that signed the credential");
    assert.equal(key?.certificateChain.length, 2);
    assert.equal(key?.certificateChain[1], await caDer(), "certified by the deployment CA");
  });

  it("rotates: the new key signs, the old one stays published while its credential is valid and it still verifies", async () => {
    const before = await issuedCredential(hub, student);
    const oldKid = decodeCredential(before.credential).header.kid;
    const made = (await rotate({})).json<IssuerKey>();
    assert.equal(made.state, "active");
    assert.notEqual(made.kid, oldKid);
    const listed = await keys();
    const old = listed.find((k) => k.kid === oldKid);
    assert.equal(listed.find((k) => k.kid === made.kid)?.state, "active");
    assert.equal(old?.state, "retired");
    assert.ok(old?.retiredAt);
    const expiry = Number(decodeCredential(before.credential).payload.exp) * 1000;
    assert.ok(
      Date.parse(old?.publishedUntil ?? "") >= expiry,
      `${old?.publishedUntil} < ${new Date(expiry).toISOString()}`,
    );
    assert.deepEqual((await publishedKids()).sort(), [made.kid, oldKid].sort());

    // What the old key signed still verifies, online and offline…
    assert.equal(await onlineVerdict(hub, before.credential, before.holderKey), "valid");
    const verifier = new PresentationVerifier({
      fetch: inProcessNetwork(hub).verifier,
      trustAnchors: [await deploymentCa()],
    });
    const presentation = await presentCredential(before.credential, {
      holderKey: before.holderKey,
      audience: VERIFIER,
      nonce: "n-1",
    });
    const offline = await verifier.verify(presentation, { audience: VERIFIER, nonce: "n-1" });
    assert.equal(offline.valid, true, JSON.stringify(offline));
    // …and what is issued now carries the new key.
    const after = await issuedCredential(hub, student);
    assert.equal(decodeCredential(after.credential).header.kid, made.kid);
    assert.equal(await onlineVerdict(hub, after.credential, after.holderKey), "valid");
  });

  it("makes an EdDSA key when asked, and signs with it", async () => {
    const made = (await rotate({ alg: "EdDSA" })).json<IssuerKey>();
    assert.equal(made.alg, "EdDSA");
    assert.equal(made.publicJwk["crv"], "Ed25519");
    const { credential, holderKey } = await issuedCredential(hub, student);
    const { header } = decodeCredential(credential);
    assert.equal(header.alg, "EdDSA");
    assert.equal(header.kid, made.kid);
    assert.equal(await onlineVerdict(hub, credential, holderKey), "valid");
  });

  it("imports a P-256 key (PKCS #8 PEM), certified by the deployment CA", async () => {
    const { privateKey } = newP256();
    const made = (await rotate({ privateKey: pemOf(privateKey) })).json<IssuerKey>();
    assert.equal(made.state, "active");
    assert.equal(made.origin, "imported");
    assert.equal(made.alg, "ES256");
    assert.equal(made.certificateChain.length, 2);
    assert.equal(made.certificateChain.at(-1), await caDer());
    const { credential, holderKey } = await issuedCredential(hub, student);
    assert.equal(decodeCredential(credential).header.kid, made.kid);
    assert.equal(await onlineVerdict(hub, credential, holderKey), "valid");
  });

  it("imports a key with the institution's own chain, which its credentials then carry", async () => {
    const { privateKey, publicKey } = newP256();
    const ownCa = await createDeploymentCa({ name: "CN=Université de Saint-Valentin CA", validityDays: 365 });
    const leaf = await issueIssuerCertificate({
      ca: ownCa,
      subject: { organisationId: A, name: UNIVERSITY.name },
      publicKey,
      validityDays: 365,
    });
    const chain = x5cChain(leaf, ownCa.certificate);
    const made = (await rotate({ privateKey: pemOf(privateKey), certificateChain: chain })).json<IssuerKey>();
    assert.equal(made.origin, "imported");
    assert.deepEqual(made.certificateChain, chain);
    const { credential, holderKey } = await issuedCredential(hub, student);
    assert.deepEqual(decodeCredential(credential).header.x5c, chain);
    // A verifier that trusts the institution's own CA accepts it.
    const verifier = new PresentationVerifier({
      fetch: inProcessNetwork(hub).verifier,
      trustAnchors: [ownCa.certificate.pem],
    });
    const presentation = await presentCredential(credential, { holderKey, audience: VERIFIER, nonce: "n-2" });
    const verdict = await verifier.verify(presentation, { audience: VERIFIER, nonce: "n-2" });
    assert.equal(verdict.valid, true, JSON.stringify(verdict));
  });

  it("refuses a key that is not one, or a chain that certifies another key, and keeps the active key", async () => {
    const active = (await keys()).find((k) => k.state === "active")?.kid;
    const garbage = await rotate(
      { privateKey: "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n" },
      400,
    );
    const problem = garbage.json<{ code: string; errors: { field: string }[] }>();
    assert.equal(problem.code, "ISSUER_KEY_INVALID");
    assert.ok(
      problem.errors.some((e) => e.field === "/privateKey"),
      garbage.body,
    );

    const certified = newP256();
    const ca = await createDeploymentCa({ name: "CN=Some CA", validityDays: 365 });
    const leaf = await issueIssuerCertificate({
      ca,
      subject: { organisationId: A, name: UNIVERSITY.name },
      publicKey: certified.publicKey,
      validityDays: 365,
    });
    const mismatch = await rotate(
      { privateKey: pemOf(newP256().privateKey), certificateChain: x5cChain(leaf, ca.certificate) },
      400,
    );
    assert.equal(mismatch.json<{ code: string }>().code, "CERTIFICATE_CHAIN_INVALID");
    assert.equal(
      (await keys()).find((k) => k.state === "active")?.kid,
      active,
      "the active key did not change",
    );
  });

  it("answers another organisation's keys as not found, and needs the credentials:manage scope", async () => {
    const theirs = await hub.onboard(OTHER_UNIVERSITY);
    for (const method of ["GET", "POST"] as const) {
      const answer = await hub.request({
        method,
        url: `/v1/organisations/${OTHER_UNIVERSITY.id}/issuer-keys`,
        token: uni,
        ...(method === "POST" ? { payload: {} } : {}),
      });
      assert.equal(answer.statusCode, 404, answer.body);
      assert.equal(answer.json<{ code: string }>().code, "ORGANISATION_NOT_FOUND");
    }
    const ownKeys = await hub.request({
      method: "GET",
      url: `/v1/organisations/${OTHER_UNIVERSITY.id}/issuer-keys`,
      token: theirs,
    });
    assert.equal(ownKeys.statusCode, 200, "their own keys they may read");
    const made = await hub.request({
      method: "POST",
      url: `/v1/organisations/${A}/tokens`,
      token: uni,
      payload: { name: "offers only", scopes: ["credentials:issue"] },
    });
    const narrow = made.json<{ token: string }>().token;
    for (const method of ["GET", "POST"] as const) {
      const answer = await hub.request({
        method,
        url: KEYS,
        token: narrow,
        ...(method === "POST" ? { payload: {} } : {}),
      });
      assert.equal(answer.statusCode, 403, answer.body);
      assert.equal(answer.json<{ code: string }>().code, "SCOPE_MISSING");
    }
  });

  it("keeps an imported private key sealed in the store: not in clear, and opened only with the master key", async () => {
    const { privateKey } = newP256();
    const kid = (await rotate({ privateKey: pemOf(privateKey) })).json<IssuerKey>().kid;
    const sealed = await storedSealedKey(hub, kid);
    const der = privateKey.export({ format: "der", type: "pkcs8" });
    const scalar = Buffer.from(String(privateKey.export({ format: "jwk" }).d), "base64url");
    for (const clear of [
      der.toString("base64"),
      der.toString("base64url"),
      der.toString("hex"),
      scalar.toString("base64url"),
      scalar.toString("base64"),
      scalar.toString("hex"),
    ]) {
      assert.ok(!sealed.includes(clear), "the key is in the store in clear");
    }
    const opened = openPrivateKey(masterKeyOf(hub), sealed, kid);
    assert.ok(opened.export({ format: "der", type: "pkcs8" }).equals(der), "the right master key opens it");
    const otherMasterKey = readMasterKey({ OPENESC_MASTER_KEY: randomBytes(32).toString("hex") });
    assert.throws(() => openPrivateKey(otherMasterKey, sealed, kid), SealedKeyError);
  });
});

/** The hub's master key: the embedded hub's key file in its data directory, or the one PostgreSQL hubs get. */
function masterKeyOf(hub: TestHub): MasterKey {
  return hub.services.storage.engine === "sqlite"
    ? readMasterKey({ OPENESC_MASTER_KEY_FILE: join(hub.dataDir, EMBEDDED_MASTER_KEY_FILE) })
    : readMasterKey({ OPENESC_MASTER_KEY: TEST_MASTER_KEY });
}

/**
 * The sealed private key as the store holds it: read from the embedded store's SQLite file, by-passing the
 * hub; on PostgreSQL (the suites' rerun), the row as the storage adapter reads it.
 */
async function storedSealedKey(hub: TestHub, kid: string): Promise<string> {
  if (hub.services.storage.engine !== "sqlite") {
    const record = await hub.services.storage.read.issuerKeys.find(kid);
    assert.ok(record, `no key ${kid}`);
    return record.sealedPrivateKey;
  }
  const db = new Database(join(hub.dataDir, "openesc.db"), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT sealed_private_key FROM issuer_keys WHERE id = ?").get(kid) as
      | { sealed_private_key: string }
      | undefined;
    assert.ok(row, `no row for ${kid}`);
    return row.sealed_private_key;
  } finally {
    db.close();
  }
}
