import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CARD_BUREAU, cardPayload, ESI, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { exited, freePort, type HubProcess, startHubProcess } from "../support/hub-process.ts";
import {
  adminQuery,
  postgresAvailability,
  TEST_DATABASE_URL,
  throwawayName,
  urlForDatabase,
} from "../support/postgres-server.ts";
import { ADMIN_TOKEN } from "../support/test-hub.ts";

/*
 * Several hub processes on one PostgreSQL database: a database of its own per run (simpler for child
 * processes than a search_path), dropped afterwards. Processes run the tsx-run sources, as `npm start` does.
 */

const availability = await postgresAvailability();

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
  json<T = Record<string, unknown>>(): T;
}

async function call(
  hub: HubProcess | string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const base = typeof hub === "string" ? hub : hub.baseUrl;
  const headers: Record<string, string> = {};
  if (options.token) headers["authorization"] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body, json: () => JSON.parse(body) };
}

function expectStatus(answer: Answer, status: number, what: string): void {
  assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.body}`);
}

async function stopHub(hub: HubProcess | undefined): Promise<void> {
  if (!hub) return;
  hub.child.kill("SIGTERM");
  const timer = setTimeout(() => hub.child.kill("SIGKILL"), 5000);
  await exited(hub.child);
  clearTimeout(timer);
}

/**
 * A TCP relay to the PostgreSQL server that the test can cut and restore: while cut, its port has no
 * listener, which is what a hub sees when the database goes away.
 */
class CuttableRelay {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A request that got no answer at all (connection refused or reset): status 0. */
function lost(error: Error, ...exitCodes: (number | null)[]): Answer {
  const body = `no answer: ${error.message} (${String(error.cause)}); hub exit codes ${exitCodes.join(", ")}`;
  return { status: 0, headers: new Headers(), body, json: () => JSON.parse("{}") };
}

function histogram(codes: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${n}×${code}`).join(", ");
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${what} did not happen within ${ms} ms`);
}

if (availability.skip !== false) {
  describe("several hub processes on PostgreSQL", () => {
    if (availability.fail) {
      it("needs the PostgreSQL server (CI=true)", () => {
        throw new Error(availability.skip);
      });
    } else {
      it("runs against PostgreSQL", { skip: availability.skip }, () => undefined);
    }
  });
} else {
  describe("several hub processes on PostgreSQL", () => {
    const database = throwawayName();
    const databaseUrl = urlForDatabase(database);
    const folders: string[] = [];
    const hubs: HubProcess[] = [];
    let a: HubProcess;
    let b: HubProcess;
    let universityToken = "";

    const hubEnv = (url: string): Record<string, string> => {
      const dataDir = mkdtempSync(join(tmpdir(), "openesc-multi-"));
      folders.push(dataDir);
      return {
        DATABASE_URL: url,
        OPENESC_DATA_DIR: dataDir,
        OPENESC_ADMIN_TOKEN: ADMIN_TOKEN,
        OPENESC_PUBLIC_URL: "https://hub.example.org",
        OPENESC_LOG_LEVEL: "error",
        OPENESC_DB_STATEMENT_TIMEOUT_MS: "3000",
      };
    };

    before(async () => {
      await adminQuery(`CREATE DATABASE ${database}`);
      // Both processes start together: migrations and the operator's bootstrap token must not race.
      [a, b] = await Promise.all([
        startHubProcess(hubEnv(databaseUrl)),
        startHubProcess(hubEnv(databaseUrl)),
      ]);
      hubs.push(a, b);
    });

    after(async () => {
      await Promise.all(hubs.map((hub) => stopHub(hub)));
      await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      for (const dir of folders) rmSync(dir, { recursive: true, force: true });
    });

    it("processes starting together create exactly one operator and one bootstrap token", async () => {
      const tokens = await adminQuery(
        "SELECT count(*)::int AS n FROM api_tokens WHERE organisation_id = 'operator'",
        databaseUrl,
      );
      assert.equal(tokens.rows[0]?.n, 1);
      const operators = await adminQuery(
        "SELECT count(*)::int AS n FROM organisations WHERE id = 'operator'",
        databaseUrl,
      );
      assert.equal(operators.rows[0]?.n, 1);
      for (const hub of [a, b]) {
        const ready = await call(hub, "GET", "/readyz");
        expectStatus(ready, 200, "readyz");
        assert.equal(ready.json()["store"], "postgres");
      }
    });

    it("what one process writes, the other reads", async () => {
      expectStatus(
        await call(a, "POST", "/v1/organisations", { token: ADMIN_TOKEN, body: UNIVERSITY }),
        201,
        "onboarding through A",
      );
      // the other process knows the organisation at once: no per-process cache of organisations
      const token = await call(b, "POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, {
        token: ADMIN_TOKEN,
        body: { name: "multi-process test" },
      });
      expectStatus(token, 201, "token through B");
      universityToken = token.json<{ token: string }>().token;
      expectStatus(
        await call(a, "POST", "/esc-rest/api/v2/persons", {
          token: universityToken,
          body: personPayload(ESI, UNIVERSITY.id),
        }),
        201,
        "person through A (with B's token)",
      );
      const card = await call(b, "POST", "/esc-rest/api/v2/cards", {
        token: universityToken,
        body: cardPayload(ESI, UNIVERSITY.id),
      });
      expectStatus(card, 201, "card through B");
      const escn = card.json<{ cardNumber: string }>().cardNumber;
      const read = await call(a, "GET", `/v1/cards/${escn}`, { token: universityToken });
      expectStatus(read, 200, "card read through A");
      assert.equal(read.json()["version"], 1);
      const status = await call(a, "GET", `/esc-rest/api/v2/cards/${escn}/status`);
      expectStatus(status, 200, "public status through A");
      assert.equal(status.json()["status"], "ACTIVE");

      // a change through A shows through B at once (B keeps no stale public status)
      expectStatus(
        await call(a, "PUT", `/esc-rest/api/v2/cards/${escn}`, {
          token: universityToken,
          body: cardPayload(ESI, UNIVERSITY.id, { cardStatusType: "INACTIVE" }),
        }),
        200,
        "PUT through A",
      );
      assert.equal(
        (await call(b, "GET", `/esc-rest/api/v2/cards/${escn}/status`)).json()["status"],
        "INACTIVE",
      );
    });

    it("concurrent card creations through both processes: nothing lost, nothing duplicated", async () => {
      assert.ok(universityToken, "needs the organisation of the previous test");
      const create = (hub: HubProcess, i: number) =>
        call(hub, "POST", "/esc-rest/api/v2/cards", {
          token: universityToken,
          body: cardPayload(ESI, UNIVERSITY.id, { displayName: `card ${i}` }),
        });
      const before = await adminQuery(
        `SELECT count(*)::int AS n FROM cards WHERE issuer_id = '${UNIVERSITY.id}'`,
        databaseUrl,
      );
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => create(i % 2 === 0 ? a : b, i)),
      );
      for (const answer of answers) expectStatus(answer, 201, "card creation");
      const numbers = answers.map((answer) => answer.json<{ cardNumber: string }>().cardNumber);
      assert.equal(new Set(numbers).size, 100, "100 distinct card numbers");
      const afterwards = await adminQuery(
        `SELECT count(*)::int AS n FROM cards WHERE issuer_id = '${UNIVERSITY.id}'`,
        databaseUrl,
      );
      assert.equal(afterwards.rows[0]?.n, (before.rows[0]?.n as number) + 100);
      // each is readable through the process that did not create it
      for (const [i, escn] of numbers.entries()) {
        const reader = i % 2 === 0 ? b : a;
        expectStatus(
          await call(reader, "GET", `/v1/cards/${escn}`, { token: universityToken }),
          200,
          "read back",
        );
      }
    });

    it("concurrent ESC-R PUTs on one card through both processes: last writer wins, no update lost", async (t) => {
      const card = await call(a, "POST", "/esc-rest/api/v2/cards", {
        token: universityToken,
        body: cardPayload(ESI, UNIVERSITY.id),
      });
      expectStatus(card, 201, "card");
      const escn = card.json<{ cardNumber: string }>().cardNumber;
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          call(i % 2 === 0 ? a : b, "PUT", `/esc-rest/api/v2/cards/${escn}`, {
            token: universityToken,
            body: cardPayload(ESI, UNIVERSITY.id, { displayName: `writer ${i}` }),
          }),
        ),
      );
      const codes = answers.map((answer) => answer.status);
      for (const answer of answers) {
        assert.ok([200, 409, 503].includes(answer.status), `PUT answered ${answer.status} ${answer.body}`);
      }
      const succeeded = codes.filter((code) => code === 200).length;
      t.diagnostic(`PUT answers: ${histogram(codes)}`);
      const refused = answers.find((answer) => answer.status !== 200);
      if (refused) t.diagnostic(`e.g. ${refused.status} ${refused.body}`);
      assert.ok(succeeded > 0, `some PUTs succeed (${codes.join(", ")})`);
      const stored = await call(b, "GET", `/v1/cards/${escn}`, { token: universityToken });
      expectStatus(stored, 200, "read");
      assert.equal(
        stored.json()["version"],
        succeeded + 1,
        `version = successful writes + 1 (${codes.join(",")})`,
      );
      // the stored card is one of the writes, whole
      const winners = answers
        .map((answer, i) => (answer.status === 200 ? `writer ${i}` : null))
        .filter((name) => name !== null);
      assert.ok(winners.includes(String(stored.json()["displayName"])));
    });

    it("survives its database connections being terminated: 503 with Retry-After or success, never 500", async (t) => {
      const card = await call(a, "POST", "/esc-rest/api/v2/cards", {
        token: universityToken,
        body: cardPayload(ESI, UNIVERSITY.id),
      });
      expectStatus(card, 201, "card");
      const escn = card.json<{ cardNumber: string }>().cardNumber;
      const request = (i: number) => {
        const hub = i % 2 === 0 ? a : b;
        if (i % 4 < 2) return call(hub, "GET", `/esc-rest/api/v2/cards/${escn}/status`);
        return call(hub, "PUT", `/esc-rest/api/v2/cards/${escn}`, {
          token: universityToken,
          body: cardPayload(ESI, UNIVERSITY.id, { displayName: `writer ${i}` }),
        });
      };
      for (let round = 0; round < 3; round++) {
        // Requests in flight while the backends are killed under them, and right after.
        const answers: Promise<Answer>[] = [];
        const load = (async () => {
          for (let wave = 0; wave < 10; wave++) {
            answers.push(
              ...Array.from({ length: 8 }, (_, i) =>
                request(wave * 8 + i).catch((error: Error) =>
                  lost(error, a.child.exitCode, b.child.exitCode),
                ),
              ),
            );
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();
        for (let kill = 0; kill < 3; kill++) {
          await new Promise((resolve) => setTimeout(resolve, 40));
          await adminQuery(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`,
          );
        }
        await load;
        const settled = await Promise.all(answers);
        t.diagnostic(`round ${round}: ${histogram(settled.map((answer) => answer.status))}`);
        for (const hub of [a, b]) {
          assert.equal(hub.child.exitCode, null, `a hub process died:\n${hub.output().slice(-3000)}`);
        }
        for (const answer of settled) {
          assert.ok([200, 503].includes(answer.status), `answered ${answer.status} ${answer.body}`);
          if (answer.status === 503) assert.ok(answer.headers.get("retry-after"), "503 carries Retry-After");
        }
        for (const hub of [a, b]) {
          await eventually(
            "the hub answers normally again",
            async () => (await call(hub, "GET", `/esc-rest/api/v2/cards/${escn}/status`)).status === 200,
            5000,
          );
        }
      }
      for (const hub of [a, b]) assert.equal(hub.child.exitCode, null, "the process is still running");
    });

    it("/readyz is 503 while the database is unreachable and 200 once it is back", async () => {
      const server = new URL(TEST_DATABASE_URL);
      const relay = new CuttableRelay(await freePort(), {
        host: server.hostname,
        port: Number(server.port || 5432),
      });
      await relay.open();
      const viaRelay = new URL(databaseUrl);
      viaRelay.host = `127.0.0.1:${relay.port}`;
      const hub = await startHubProcess(hubEnv(viaRelay.toString()));
      hubs.push(hub);
      try {
        expectStatus(await call(hub, "GET", "/readyz"), 200, "ready through the relay");
        await relay.cut();
        await eventually("readyz turns 503", async () => (await call(hub, "GET", "/readyz")).status === 503);
        const unready = await call(hub, "GET", "/readyz");
        assert.ok(unready.headers.get("retry-after"));
        const request = await call(hub, "GET", `/v1/organisations/${CARD_BUREAU.id}`, { token: ADMIN_TOKEN });
        assert.equal(request.status, 503, `a request while the database is away: ${request.body}`);
        assert.ok(request.headers.get("retry-after"));
        await relay.open();
        await eventually(
          "readyz turns 200 again",
          async () => (await call(hub, "GET", "/readyz")).status === 200,
        );
        expectStatus(
          await call(hub, "GET", `/v1/organisations/${UNIVERSITY.id}`, { token: ADMIN_TOKEN }),
          200,
          "serves again",
        );
        assert.equal(hub.child.exitCode, null);
      } finally {
        await relay.cut();
        await stopHub(hub);
      }
    });
  });
}
