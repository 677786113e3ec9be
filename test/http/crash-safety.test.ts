import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import type { Escn } from "../../src/domain/escn.ts";
import { cardPayload, ESI, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { exited, type HubProcess, startHubProcess } from "../support/hub-process.ts";
import { ADMIN_TOKEN } from "../support/test-hub.ts";

async function call(hub: HubProcess, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${hub.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("a hub killed with SIGKILL in the middle of writes", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "openesc-crash-"));
  const env = { OPENESC_DATA_DIR: dataDir, OPENESC_ADMIN_TOKEN: ADMIN_TOKEN, OPENESC_LOG_LEVEL: "warn" };
  let hub: HubProcess | undefined;
  after(async () => {
    hub?.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("loses no acknowledged write and no event, and serves them again after restart", async () => {
    hub = await startHubProcess(env);
    assert.equal((await call(hub, "POST", "/v1/organisations", ADMIN_TOKEN, UNIVERSITY)).status, 201);
    const token = (
      await call(hub, "POST", `/v1/organisations/${UNIVERSITY.id}/tokens`, ADMIN_TOKEN, { name: "sis" })
    ).body["token"] as string;
    assert.equal(
      (await call(hub, "POST", "/esc-rest/api/v2/persons", token, personPayload(ESI, UNIVERSITY.id))).status,
      201,
    );

    // Four writers issue cards until the hub dies under them; every 201 is a promise the hub made.
    const acknowledged: string[] = [];
    let killed = false;
    const writer = async () => {
      while (!killed) {
        try {
          const answer = await call(
            hub as HubProcess,
            "POST",
            "/esc-rest/api/v2/cards",
            token,
            cardPayload(ESI, UNIVERSITY.id),
          );
          if (answer.status === 201) acknowledged.push(answer.body["cardNumber"] as string);
        } catch {
          return; // the connection died with the hub
        }
      }
    };
    const writers = [writer(), writer(), writer(), writer()];
    const deadline = Date.now() + 90_000;
    while (acknowledged.length < 100) {
      assert.ok(Date.now() < deadline, `only ${acknowledged.length} cards acknowledged in 90 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    hub.child.kill("SIGKILL");
    killed = true;
    await exited(hub.child);
    await Promise.all(writers);

    const storage = new SqliteStorage({ file: join(dataDir, "openesc.db") });
    await storage.init();
    try {
      const events = await storage.read.outbox.readAfter(0, 1_000_000);
      const cardEvents = new Set(events.filter((e) => e.type === "card.created").map((e) => e.subject));
      for (const escn of acknowledged) {
        assert.ok(await storage.read.cards.findByEscn(escn as Escn), `acknowledged card ${escn} survived`);
        assert.ok(cardEvents.has(escn), `the event of ${escn} survived with it`);
      }
      // No event without its write either: every card.created event names a stored card.
      for (const escn of cardEvents)
        assert.ok(await storage.read.cards.findByEscn(escn as Escn), `event ${escn} has its card`);
      const positions = events.map((e) => e.position);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
      );
    } finally {
      await storage.close();
    }

    hub = await startHubProcess(env);
    for (const escn of acknowledged.slice(-5)) {
      const status = await fetch(`${hub.baseUrl}/esc-rest/api/v2/cards/${escn}/status`);
      assert.equal(status.status, 200);
    }
    hub.child.kill("SIGTERM");
    await exited(hub.child);
  });
});
