import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import type { Config } from "./config.ts";
import { buildApp } from "./http/app.ts";
import { createBus, createServices, createStorage } from "./hub.ts";
import { systemClock } from "./ports/clock.ts";
import { bootstrapOperator } from "./services/operator-bootstrap.ts";

export interface RunningHub {
  readonly app: FastifyInstance;
  /** Stops accepting requests, finishes those in flight, closes the store. */
  stop(): Promise<void>;
}

/** Opens the store, bootstraps the operator, and listens. Used by `npm start` and `openesc serve`. */
export async function startHub(config: Config): Promise<RunningHub> {
  const storage = createStorage(config);
  await storage.init();
  // One logger for the HTTP edge and the event bus, so that a NATS disconnect shows in the same log.
  const log = pino({ level: config.logLevel });
  const services = createServices(config, storage, systemClock, createBus(config, log));
  const app = await buildApp({ ...config, services, logger: log });
  const { generatedSecret } = await bootstrapOperator({ storage, clock: systemClock }, config.adminToken);
  if (generatedSecret !== null) {
    const file = join(config.dataDir, "admin-token");
    writeFileSync(file, `${generatedSecret}\n`, { mode: 0o600 });
    app.log.info({ file }, "generated the operator's token; it is in this file, readable only by its owner");
  }
  await app.listen({ port: config.port, host: config.host });
  // Purges what is past its documented period; only the process holding the lease "retention" runs it.
  services.retention.start(config.retentionIntervalMinutes * 60_000, app.log);
  // Relay, dispatch and webhooks; the expiry job. Each process takes its share of the work.
  await services.delivery.start(app.log);
  app.log.info(
    { publicUrl: config.publicUrl, dataDir: config.dataDir, store: storage.engine },
    "OpenESC hub ready",
  );
  return {
    app,
    async stop() {
      await services.retention.stop();
      // First: it ends the event streams, which the server would otherwise wait for.
      await services.delivery.stop();
      await app.close();
      await storage.close();
    },
  };
}

/** Runs the hub until SIGINT or SIGTERM. */
export async function serveUntilSignalled(config: Config): Promise<void> {
  const hub = await startHub(config);
  const stop = async (signal: string) => {
    hub.app.log.info({ signal }, "stopping");
    await hub.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}
