import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Starts the hub as `npm start` does and resolves once it logs that it is ready. */
function startHubProcess(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("OpenESC hub ready")) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code}:\n${output}`));
    });
  });
}

describe("npm start on a fresh machine", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "openesc-start-"));
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("creates the store, writes the operator token to an owner-only file, logs its path but never the token", async () => {
    const port = await freePort();
    const { child, output } = await startHubProcess({
      PORT: String(port),
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

    const me = await fetch(`http://127.0.0.1:${port}/v1/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { organisation: { kind: string } }).organisation.kind, "operator");
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);

    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  });

  it("keeps the first token on restart instead of making another", async () => {
    const before = readFileSync(join(dataDir, "admin-token"), "utf8");
    const port = await freePort();
    const { child } = await startHubProcess({
      PORT: String(port),
      OPENESC_DATA_DIR: dataDir,
      OPENESC_ADMIN_TOKEN: "",
    });
    children.push(child);
    assert.equal(readFileSync(join(dataDir, "admin-token"), "utf8"), before);
    const me = await fetch(`http://127.0.0.1:${port}/v1/me`, {
      headers: { authorization: `Bearer ${before.trim()}` },
    });
    assert.equal(me.status, 200);
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
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
});
