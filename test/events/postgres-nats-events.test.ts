/**
 * The event suites again, with every in-process hub on PostgreSQL (a throwaway schema each) and NATS
 * JetStream (a throwaway stream each): the same deliveries, order and walls on the clustered setup.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { natsAvailability } from "../support/nats-server.ts";
import { postgresAvailability } from "../support/postgres-server.ts";
import { startTestHub } from "../support/test-hub.ts";

const postgres = await postgresAvailability();
const nats = await natsAvailability();
const missing = [postgres, nats].find((a) => a.skip !== false);

if (missing === undefined) {
  process.env["OPENESC_TEST_STORE"] = "postgres";
  process.env["OPENESC_TEST_BUS"] = "nats";
  describe("the in-process hubs of the event suites below", () => {
    it("keep their state in PostgreSQL and carry events on NATS", async () => {
      const hub = await startTestHub();
      try {
        assert.equal(hub.services.storage.engine, "postgres");
        assert.equal(hub.services.delivery.bus.kind, "nats");
      } finally {
        await hub.close();
      }
    });
  });
  await import("./webhook-delivery.test.ts");
  await import("./event-audience.test.ts");
  await import("./event-feed.test.ts");
  await import("./subscriptions-api.test.ts");
  // Status lists follow verdicts from the bus: revocation on the clustered setup.
  await import("../credentials/credential-lifecycle.test.ts");
  await import("../credentials/credential-revocation.test.ts");
  // The mirror to an ESC Router: its own consumer group, and its queue on PostgreSQL.
  await import("../connectors/esc-router-mirror.test.ts");
} else {
  const { skip, fail } = missing as { skip: string; fail: boolean };
  describe("event suites on PostgreSQL and NATS", () => {
    before(() => {
      if (fail) throw new Error(skip);
    });
    it("run when PostgreSQL and NATS answer", { skip: fail ? false : skip }, () => undefined);
  });
}
