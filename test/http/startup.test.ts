import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { exited, startHubProcess } from "../support/hub-process.ts";

describe("npm start on a fresh machine", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "openesc-start-"));
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("creates the store, writes the operator token to an owner-only file, logs its path but never the token", async () => {
    const { child, output, baseUrl } = await startHubProcess({
      OPENESC_DATA_DIR: dataDir,
      OPENESC_ADMIN_TOKEN: "",
    });
    children.push(child);
    const tokenFile = join(dataDir, "admin-token");
    const token = readFileSync(tokenFile, "utf8").trim();
    assert.match(token, /^oesc_[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.ok(output().includes(tokenFile), "the log names the token file");
    assert.ok(!output().includes(token), "the log never shows the token");

    const me = await fetch(`${baseUrl}/v1/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { organisation: { kind: string } }).organisation.kind, "operator");
    const ready = await fetch(`${baseUrl}/readyz`);
    assert.equal(ready.status, 200);

    child.kill("SIGTERM");
    await exited(child);
  });

  it("keeps the first token on restart instead of making another", async () => {
    const before = readFileSync(join(dataDir, "admin-token"), "utf8");
    const { child, baseUrl } = await startHubProcess({ OPENESC_DATA_DIR: dataDir, OPENESC_ADMIN_TOKEN: "" });
    children.push(child);
    assert.equal(readFileSync(join(dataDir, "admin-token"), "utf8"), before);
    const me = await fetch(`${baseUrl}/v1/me`, {
      headers: { authorization: `Bearer ${before.trim()}` },
    });
    assert.equal(me.status, 200);
    child.kill("SIGTERM");
    await exited(child);
  });

  it("refuses a bad configuration with a message naming the variable", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { ...process.env, OPENESC_PUBLIC_URL: "ftp://example.org", OPENESC_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 2);
    assert.match(stderr, /OPENESC_PUBLIC_URL must use http or https/);
  });

  it("says in one line that the event bus is away, and does not listen", async () => {
    const silent = createServer().listen(0, "127.0.0.1");
    await once(silent, "listening");
    const port = (silent.address() as AddressInfo).port;
    silent.close(); // a port where nothing answers
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: {
        ...process.env,
        OPENESC_DATA_DIR: dataDir,
        NATS_URL: `nats://127.0.0.1:${port}`,
        OPENESC_NATS_TIMEOUT_MS: "1000",
        PORT: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 1);
    assert.match(stderr, /^failed to start: the event bus \(NATS_URL\) could not be reached or set up: /);
    assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
  });
});
