import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cardPayload, ESI, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { exited, freePort, type HubProcess, startHubProcess } from "../support/hub-process.ts";
import { ADMIN_TOKEN } from "../support/test-hub.ts";

/**
 * The README's "A student card in a wallet", with the real commands against a real hub process: the test
 * wallet receives the card, presents it, `openesc verify` checks it offline, and after the card is
 * reported lost the same check fails as revoked once the list's ttl has passed.
 */
const TTL_SECONDS = 12;
const AUDIENCE = "https://canteen.example";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function openesc(args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(process.cwd(), "bin/openesc.js"), ...args],
      { cwd, encoding: "utf8" },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("a student card in a wallet, from the command line", () => {
  let hub: HubProcess;
  let dataDir: string;
  let work: string;
  let token: string;
  let escn: string;

  const api = async (method: string, path: string, body?: unknown, auth = token) => {
    const response = await fetch(`${hub.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    assert.ok(response.status < 300, `${method} ${path} answered ${response.status}: ${text}`);
    return text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "openesc-wallet-hub-"));
    work = mkdtempSync(join(tmpdir(), "openesc-wallet-"));
    const port = await freePort();
    hub = await startHubProcess({
      PORT: String(port),
      OPENESC_DATA_DIR: dataDir,
      OPENESC_ADMIN_TOKEN: ADMIN_TOKEN,
      OPENESC_PUBLIC_URL: `http://127.0.0.1:${port}`,
      OPENESC_LOG_LEVEL: "warn",
      OPENESC_STATUS_LIST_TTL_SECONDS: String(TTL_SECONDS),
      OPENESC_EVENT_POLL_MS: "50",
    });
    await api("POST", "/v1/organisations", UNIVERSITY, ADMIN_TOKEN);
    token = String(
      (await api("POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, { name: "sis" }, ADMIN_TOKEN))["token"],
    );
    await api("POST", "/esc-rest/api/v2/persons", personPayload(ESI, UNIVERSITY.id));
    await api("PUT", `/v1/student-statuses/${UNIVERSITY.id}/${encodeURIComponent(ESI)}`, {
      state: "enrolled",
      validFrom: "2026-09-01",
      validUntil: "2030-08-31",
    });
    escn = String(
      (await api("POST", "/esc-rest/api/v2/cards", cardPayload(ESI, UNIVERSITY.id)))["cardNumber"],
    );
    await api("PUT", `/v1/persons/${encodeURIComponent(ESI)}/consents/credential-issuance`, {
      wordingVersion: "2026-11",
    });
  });

  after(async () => {
    hub?.child.kill("SIGTERM");
    if (hub) await exited(hub.child);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("receives, presents and verifies the card offline, then sees it revoked once the ttl passed", async () => {
    const offer = await api("POST", "/v1/credential-offers", { escn });

    const key = await openesc(["wallet", "key", "--out", "wallet.jwk"], work);
    assert.equal(key.code, 0, key.stderr);
    assert.equal(statSync(join(work, "wallet.jwk")).mode & 0o777, 0o600);
    const again = await openesc(["wallet", "key", "--out", "wallet.jwk"], work);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^openesc wallet: wallet\.jwk exists/);

    const wrongCode = await openesc(
      ["wallet", "receive", String(offer["deepLink"]), "--tx-code", "000000x", "--key", "wallet.jwk"],
      work,
    );
    assert.equal(wrongCode.code, 1);
    assert.match(wrongCode.stderr, /invalid_grant/);
    const received = await openesc(
      [
        "wallet",
        "receive",
        String(offer["deepLink"]),
        "--tx-code",
        String(offer["txCode"]),
        "--key",
        "wallet.jwk",
        "--out",
        "card.sdjwt",
      ],
      work,
    );
    assert.equal(received.code, 0, received.stderr);
    assert.match(readFileSync(join(work, "card.sdjwt"), "utf8"), /^ey[\w-]+\.[\w-]+\.[\w-]+~/);
    // On first need, the embedded hub made its master key, readable by its owner only.
    assert.equal(statSync(join(dataDir, "master.key")).mode & 0o777, 0o600);

    const presented = await openesc(
      [
        "wallet",
        "present",
        "card.sdjwt",
        "--key",
        "wallet.jwk",
        "--audience",
        AUDIENCE,
        "--nonce",
        "123",
        "--disclose",
        "cardNumber,validUntil",
      ],
      work,
    );
    assert.equal(presented.code, 0, presented.stderr);
    writeFileSync(join(work, "p.txt"), presented.stdout);

    const verify = (...extra: string[]) =>
      openesc(
        [
          "verify",
          "p.txt",
          "--audience",
          AUDIENCE,
          "--nonce",
          "123",
          "--allow-http",
          "--cache-dir",
          "cache",
          ...extra,
        ],
        work,
      );
    const valid = await verify();
    assert.equal(valid.code, 0, valid.stdout + valid.stderr);
    assert.match(valid.stdout, /^valid\n/);
    assert.match(valid.stdout, new RegExp(`cardNumber: ${escn}`, "i"));
    assert.doesNotMatch(valid.stdout, /fullName/, "only what the holder chose to disclose");

    // Offline, from the cache, while the list's ttl runs.
    const offline = await verify("--offline");
    assert.equal(offline.code, 0, offline.stdout + offline.stderr);

    await api("PATCH", `/v1/cards/${escn}`, { status: "INACTIVE", inactiveReason: "lost" });
    // Past the ttl (and the moment the hub needs to sign the list again), the verifier fetches the list anew.
    await new Promise((resolve) => setTimeout(resolve, (TTL_SECONDS + 1) * 1000));
    const revoked = await verify();
    assert.equal(revoked.code, 1, revoked.stdout + revoked.stderr);
    assert.match(revoked.stdout, /^not valid: revoked/);
    // And offline now that the copy is stale: the verifier says it cannot know, not "valid".
    const stale = await verify("--offline");
    assert.notEqual(stale.code, 0);
  });
});
