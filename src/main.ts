import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig } from "./config.ts";
import { buildApp } from "./http/app.ts";
import { createServices, createStorage } from "./hub.ts";
import { systemClock } from "./ports/clock.ts";
import { bootstrapOperator } from "./services/operator-bootstrap.ts";

/** Starts the hub: configuration, store, services, HTTP; stops cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const storage = createStorage(config);
  await storage.init();
  const services = createServices(config, storage);
  const app = await buildApp({ ...config, services });
  const { generatedSecret } = await bootstrapOperator(
    { storage, clock: systemClock, timeZone: config.timeZone },
    config.adminToken,
  );
  if (generatedSecret !== null) {
    const file = join(config.dataDir, "admin-token");
    writeFileSync(file, `${generatedSecret}\n`, { mode: 0o600 });
    app.log.info({ file }, "generated the operator's token; it is in this file, readable only by its owner");
  }
  const stop = async (signal: string) => {
    app.log.info({ signal }, "stopping");
    await app.close();
    await storage.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    { publicUrl: config.publicUrl, dataDir: config.dataDir, store: storage.engine },
    "OpenESC hub ready",
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
