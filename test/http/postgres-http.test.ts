/**
 * The HTTP suites that do not depend on the embedded store's file, run again with every in-process hub on
 * PostgreSQL (a throwaway schema each): the same hub, the same answers, whichever store holds the data.
 * The credential suites that need no events come along; those that do run in postgres-nats-events.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { postgresAvailability } from "../support/postgres-server.ts";
import { startTestHub } from "../support/test-hub.ts";

const availability = await postgresAvailability();

if (availability.skip === false) {
  process.env["OPENESC_TEST_STORE"] = "postgres";
  describe("the in-process hubs of the suites below", () => {
    it("keep their state in PostgreSQL", async () => {
      const hub = await startTestHub();
      try {
        assert.equal(hub.services.storage.engine, "postgres");
      } finally {
        await hub.close();
      }
    });
  });
  await import("./new-user-journey.test.ts");
  await import("./native-api.test.ts");
  await import("./esc-router-v2-conformance.test.ts");
  await import("./consent.test.ts");
  await import("./audit.test.ts");
  await import("./bad-input.test.ts");
  await import("../credentials/credential-offers.test.ts");
  await import("../credentials/openid4vci-endpoints.test.ts");
  await import("../credentials/issuer-keys.test.ts");
  await import("../credentials/credential-verification.test.ts");
  await import("../connectors/import-api.test.ts");
} else {
  const { skip, fail } = availability;
  describe("HTTP suites on PostgreSQL", () => {
    before(() => {
      if (fail) throw new Error(skip);
    });
    it("run when PostgreSQL answers", { skip: fail ? false : skip }, () => undefined);
  });
}
