import { describe, it } from "node:test";
import { PostgresStorage } from "../../src/adapters/storage/postgres/postgres-storage.ts";
import {
  adminQuery,
  postgresAvailability,
  TEST_DATABASE_URL,
  throwawayName,
} from "../support/postgres-server.ts";
import { storageConformance } from "./storage.suite.ts";

const availability = await postgresAvailability();

if (availability.skip === false) {
  storageConformance("postgres", async () => {
    // A schema of its own per run, dropped afterwards: runs never see each other's rows.
    const schema = throwawayName();
    await adminQuery(`CREATE SCHEMA ${schema}`);
    const storage = new PostgresStorage({
      connectionString: TEST_DATABASE_URL,
      poolSize: 10,
      statementTimeoutMs: 30_000,
      schema,
    });
    try {
      await storage.init();
    } catch (error) {
      await adminQuery(`DROP SCHEMA ${schema} CASCADE`);
      throw error;
    }
    return {
      storage,
      async cleanup() {
        await storage.close();
        await adminQuery(`DROP SCHEMA ${schema} CASCADE`);
      },
    };
  });
} else if (availability.fail) {
  describe("storage conformance: postgres", () => {
    it("needs the PostgreSQL server (CI=true)", () => {
      throw new Error(availability.skip);
    });
  });
} else {
  describe("storage conformance: postgres", () => {
    it("runs against PostgreSQL", { skip: availability.skip }, () => undefined);
  });
}
