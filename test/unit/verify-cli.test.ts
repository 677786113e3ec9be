import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { exportJWK, generateKeyPair } from "jose";
import { issueEscCredential } from "../../src/credentials/esc-credential.ts";
import {
  createDeploymentCa,
  issueIssuerCertificate,
  x5cChain,
} from "../../src/credentials/issuer-certificates.ts";
import { presentSdJwt } from "../../src/credentials/sd-jwt.ts";
import { generateIssuerKey } from "../../src/credentials/sealed-key.ts";
import { StatusList, signStatusListToken } from "../../src/credentials/token-status-list.ts";

const AUD = "https://verifier.example.org";
const NONCE = "cli-nonce-1";
/** Seconds a verifier may keep each list: one outlives the tests, the other goes stale within them. */
const LIST_TTL: Record<string, number> = { "/statuslists/long": 3600, "/statuslists/short": 2 };

const folder = mkdtempSync(join(tmpdir(), "openesc-verify-cli-"));
const ca = await createDeploymentCa({ name: "CN=OpenESC test CA", validityDays: 30 });
const caFile = join(folder, "ca.pem");
writeFileSync(caFile, ca.certificate.pem);
const key = await generateIssuerKey("ES256");
const leaf = await issueIssuerCertificate({
  ca,
  subject: { organisationId: "999888777", name: "Universidad de Ejemplo" },
  publicKey: key.publicKey,
  validityDays: 30,
});
const holder = await generateKeyPair("ES256");

const server = createServer(async (request, response) => {
  const path = request.url ?? "/";
  const ttl = LIST_TTL[path];
  if (path === "/.well-known/jwt-vc-issuer/orgs/999888777") {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ issuer: ISSUER, jwks: { keys: [key.publicJwk] } }));
  } else if (ttl !== undefined) {
    const token = await signStatusListToken({
      list: new StatusList(1024, 1),
      uri: `${origin}${path}`,
      key: key.privateKey,
      kid: key.keyId,
      issuedAt: new Date(),
      ttlSeconds: ttl,
    });
    response.writeHead(200, { "content-type": "application/statuslist+jwt" });
    response.end(token);
  } else {
    response.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const ISSUER = `${origin}/orgs/999888777`;

after(() => {
  server.close();
  rmSync(folder, { recursive: true, force: true });
});

async function presentation(list: "long" | "short"): Promise<string> {
  const now = new Date();
  const sdJwt = await issueEscCredential({
    issuer: ISSUER,
    signer: { key: key.privateKey, alg: "ES256", kid: key.keyId, x5c: x5cChain(leaf, ca.certificate) },
    claims: {
      cardNumber: "f47ac10b-58cc-1372-a567-001999888777",
      issuedAt: "2026-09-01",
      expiresAt: "2030-08-31",
      displayName: null,
      fullName: "Maria Papadopoulou",
      issuer: "Universidad de Ejemplo",
      qrCode: "https://hub.openesc.example/v/f47ac10b-58cc-1372-a567-001999888777",
      institution: "Universidad de Ejemplo",
      institutionId: "999888777",
      country: "ES",
      academicLevel: null,
      validUntil: "2027-08-31",
      esi: "urn:schac:personalUniqueCode:int:esi:es:12345678X",
    },
    holderJwk: await exportJWK(holder.publicKey),
    status: { uri: `${origin}/statuslists/${list}`, idx: 3 },
    issuedAt: new Date(now.getTime() - 60_000),
    expiresAt: new Date(now.getTime() + 86_400_000),
  });
  return presentSdJwt(sdJwt, {
    disclose: (name) => name === "fullName",
    holderKey: holder.privateKey,
    aud: AUD,
    nonce: NONCE,
    iat: Math.floor(now.getTime() / 1000),
  });
}

function presentationFile(text: string): string {
  const file = join(mkdtempSync(join(folder, "vp-")), "presentation.txt");
  writeFileSync(file, `${text}\n`);
  return file;
}

/** `openesc verify …` as a user runs it: its exit code and output. */
function openescVerify(
  args: string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["bin/openesc.js", "verify", ...args], {
    env: { ...process.env, ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(options.stdin ?? "");
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const common = ["--audience", AUD, "--nonce", NONCE, "--trust", caFile, "--allow-http"];

describe("openesc verify", () => {
  const warmCache = join(folder, "cache-warm");

  it("prints valid, the issuer and the disclosed claims, and exits with 0", async () => {
    const file = presentationFile(await presentation("long"));
    const { code, stdout, stderr } = await openescVerify([file, ...common, "--cache-dir", warmCache]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split("\n");
    assert.equal(lines[0], "valid");
    assert.ok(lines.includes(`issued by: ${ISSUER}`));
    assert.ok(lines.includes("issuer: Universidad de Ejemplo"), "the issuer claim, once");
    assert.ok(lines.includes("fullName: Maria Papadopoulou"));
    assert.ok(!stdout.includes("cardNumber"), "what was not disclosed is not shown");
    assert.equal(statSync(warmCache).mode & 0o777, 0o700);
    assert.equal(readdirSync(warmCache).length, 2, "the metadata and the status list are kept");
  });

  it("reads the presentation from stdin, caching under XDG_CACHE_HOME by default", async () => {
    const xdg = join(folder, "xdg");
    const { code, stdout, stderr } = await openescVerify(["-", ...common], {
      stdin: await presentation("long"),
      env: { XDG_CACHE_HOME: xdg },
    });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^valid\n/);
    assert.equal(statSync(join(xdg, "openesc", "verifier")).mode & 0o777, 0o700);
  });

  it("refuses a stale cache when offline: exit 1, status-unavailable", async () => {
    const cache = join(folder, "cache-stale");
    const vp = await presentation("short");
    const online = await openescVerify([...common, "--cache-dir", cache], { stdin: vp });
    assert.equal(online.code, 0, online.stderr);
    await sleep(2_500); // the list's ttl is 2 s
    const offline = await openescVerify([...common, "--cache-dir", cache, "--offline", "--json"], {
      stdin: vp,
    });
    assert.equal(offline.code, 1, offline.stderr);
    const result = JSON.parse(offline.stdout);
    assert.equal(result.valid, false);
    assert.equal(result.reason, "status-unavailable");
  });

  it("exits with 2 on a usage error", async () => {
    const missingNonce = await openescVerify(["--audience", AUD, "--cache-dir", warmCache]);
    assert.equal(missingNonce.code, 2);
    assert.match(missingNonce.stderr, /--nonce/);
    const missingFile = await openescVerify([
      join(folder, "absent.txt"),
      ...common,
      "--cache-dir",
      warmCache,
    ]);
    assert.equal(missingFile.code, 2);
    assert.match(missingFile.stderr, /^openesc: .*absent\.txt/);
  });

  it("still verifies offline, the server stopped, while the cache is fresh", async () => {
    const vp = await presentation("long");
    await new Promise((resolve) => server.close(resolve));
    const { code, stdout, stderr } = await openescVerify(
      [presentationFile(vp), ...common, "--cache-dir", warmCache, "--offline", "--json"],
      {},
    );
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout);
    assert.equal(result.valid, true);
    assert.equal(result.issuer, ISSUER);
    assert.deepEqual(result.claims, { issuer: "Universidad de Ejemplo", fullName: "Maria Papadopoulou" });
    const bad = await openescVerify([...common, "--cache-dir", warmCache, "--offline"], { stdin: `${vp}x` });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^not valid: bad-key-binding: /);
  });
});
