import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import { storageConformance } from "./storage.suite.ts";

storageConformance("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openesc-conformance-"));
  const storage = new SqliteStorage({ file: join(dir, "openesc.db") });
  await storage.init();
  return {
    storage,
    async cleanup() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
