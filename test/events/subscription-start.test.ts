import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateEscns } from "../../src/domain/escn.ts";
import type { Pic } from "../../src/domain/pic.ts";
import {
  createCard,
  killHub,
  onboard,
  RecordingSubscriber,
  registerPerson,
  setCardStatus,
  stopHub,
  subscribe,
  waitUntil,
} from "../support/event-scenario.ts";
import { UNIVERSITY } from "../support/fixtures.ts";
import { type HubProcess, startHubProcess } from "../support/hub-process.ts";
import {
  adminQuery,
  postgresAvailability,
  TEST_DATABASE_URL,
  throwawayName,
} from "../support/postgres-server.ts";
import { ADMIN_TOKEN } from "../support/test-hub.ts";

/*
 * A subscription remembers the feed's newest position when it is made (`startAfter`) and receives every
 * later event it may see. Made while two processes commit and dispatch events, it must not miss the
 * events that commit between its reading of that position and its own commit.
 */

const availability = await postgresAvailability();
const SUBSCRIPTIONS = 20;

describe("subscriptions made while events flow (PostgreSQL, two processes)", () => {
  if (availability.skip !== false) {
    const { skip, fail } = availability;
    if (fail) {
      it("needs PostgreSQL (CI=true)", () => {
        throw new Error(skip);
      });
    } else {
      it("runs against PostgreSQL", { skip }, () => undefined);
    }
    return;
  }
  const schema = throwawayName();
  const databaseUrl = new URL(TEST_DATABASE_URL);
  databaseUrl.searchParams.set("options", `-c search_path=${schema}`);
  const folders: string[] = [];
  const hubs: HubProcess[] = [];
  const subscriber = new RecordingSubscriber();
  before(async () => {
    await adminQuery(`CREATE SCHEMA ${schema}`);
    await Promise.all(
      [0, 1].map(async () => {
        const dataDir = mkdtempSync(join(tmpdir(), "openesc-subscription-start-"));
        folders.push(dataDir);
        hubs.push(
          await startHubProcess({
            OPENESC_DATA_DIR: dataDir,
            OPENESC_ADMIN_TOKEN: ADMIN_TOKEN,
            OPENESC_LOG_LEVEL: "warn",
            OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true",
            OPENESC_EVENT_POLL_MS: "50",
            DATABASE_URL: databaseUrl.toString(),
            NATS_URL: "",
          }),
        );
      }),
    );
  });
  after(async () => {
    await Promise.all(hubs.map((hub) => stopHub(hub).catch(() => killHub(hub))));
    await subscriber.close();
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it("each receives every event after its start position", async (t) => {
    const via = (n: number) => hubs[n % hubs.length]!.baseUrl;
    const token = await onboard(via(0), ADMIN_TOKEN, UNIVERSITY);
    await subscriber.start();
    const escns: string[] = [];
    for (let i = 0; i < 6; i++) {
      const esi = `urn:schac:personalUniqueCode:int:esi:fr:start${i}`;
      await registerPerson(via(i), token, UNIVERSITY.id, esi);
      escns.push((await createCard(via(i + 1), token, UNIVERSITY.id, esi)).escn);
    }
    let writing = true;
    const writers = escns.map(async (escn, w) => {
      for (let k = 0; writing; k++) {
        await setCardStatus(via(w + k), token, escn, k % 2 === 0 ? "INACTIVE" : "ACTIVE");
      }
    });
    try {
      for (let s = 0; s < SUBSCRIPTIONS; s++) {
        // A full card set (the six cards written, and others) makes the subscription's transaction longer.
        const others = generateEscns(994, { prefix: "001", pic: UNIVERSITY.id as Pic });
        await subscribe(via(s), token, subscriber, { types: ["card.updated"], cards: [...escns, ...others] });
      }
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    // Everything dispatched: the dispatcher's cursor is at the feed's end.
    await waitUntil(
      async () => {
        const { rows } = await adminQuery(
          `SELECT (SELECT value FROM ${schema}.cursors WHERE name = 'dispatch') AS dispatched,
               (SELECT max(position) FROM ${schema}.outbox) AS latest`,
        );
        return rows[0]?.dispatched === String(rows[0]?.latest);
      },
      60_000,
      () => "the dispatcher did not reach the end of the feed",
    );
    const { rows } = await adminQuery(
      `SELECT s.start_after, array_agg(o.position ORDER BY o.position) AS missed
         FROM ${schema}.subscriptions s JOIN ${schema}.outbox o
           ON o.type = 'card.updated' AND o.position > s.start_after
         WHERE NOT EXISTS (SELECT 1 FROM ${schema}.deliveries d WHERE d.subscription_id = s.id AND d.event_id = o.id)
         GROUP BY s.id, s.start_after ORDER BY s.start_after`,
    );
    t.diagnostic(
      rows.map((r) => `started after #${r.start_after}, never got #${r.missed.join(", #")}`).join("; "),
    );
    assert.equal(rows.length, 0, `${rows.length} of ${SUBSCRIPTIONS} subscriptions missed events`);
  });
});
