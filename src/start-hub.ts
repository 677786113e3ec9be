import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import type { Config } from "./config.ts";
import { EMBEDDED_MASTER_KEY_FILE } from "./credentials/embedded-master-key.ts";
import { buildApp } from "./http/app.ts";
import { createBus, createServices, createStorage } from "./hub.ts";
import { systemClock } from "./ports/clock.ts";
import { bootstrapOperator } from "./services/operator-bootstrap.ts";

/** How long a stopping hub waits for requests in flight before it cuts their connections. */
const STOP_GRACE_MS = 10_000;

/** The hub cannot start for a reason outside it (a service it needs is away): said in one line. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

export interface RunningHub {
  readonly app: FastifyInstance;
  /** Stops accepting requests, finishes those in flight, closes the store. */
  stop(): Promise<void>;
}

/** Opens the store, bootstraps the operator, and listens. Used by `npm start` and `openesc serve`. */
export async function startHub(config: Config): Promise<RunningHub> {
  // First: the operator's token is written there once its hash is stored, and must not be lost in between.
  mkdirSync(config.dataDir, { recursive: true });
  const storage = createStorage(config);
  await storage.init();
  // One logger for the HTTP edge and the event bus, so that a NATS disconnect shows in the same log.
  const log = pino({ level: config.logLevel });
  const services = createServices(config, storage, systemClock, createBus(config, log));
  if (config.masterKey === null) {
    if (services.issuerKeys.available) {
      log.info(
        { file: join(config.dataDir, EMBEDDED_MASTER_KEY_FILE) },
        "issuer keys are sealed under the master key in this file (made on first need): back it up apart from the database",
      );
    } else {
      log.warn("no master key (OPENESC_MASTER_KEY or OPENESC_MASTER_KEY_FILE): credentials cannot be issued");
    }
  }
  // A connector of OPENESC_SYNC_CONFIG whose source cannot be set up stops the hub now, not at each run.
  try {
    await services.syncs.check();
  } catch (error) {
    await storage.close().catch(() => undefined);
    throw new StartupError(`OPENESC_SYNC_CONFIG: ${error instanceof Error ? error.message : String(error)}`);
  }
  const app = await buildApp({ ...config, services, logger: log });
  const { generatedSecret } = await bootstrapOperator({ storage, clock: systemClock }, config.adminToken);
  if (generatedSecret !== null) {
    const file = join(config.dataDir, "admin-token");
    writeFileSync(file, `${generatedSecret}\n`, { mode: 0o600 });
    app.log.info({ file }, "generated the operator's token; it is in this file, readable only by its owner");
  }
  // Relay, dispatch and webhooks; the expiry job. Each process takes its share of the work. Started before
  // the hub listens: the bus is there (or the start fails) before the first change can be made.
  try {
    await services.delivery.start(app.log);
  } catch (error) {
    await storage.close().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new StartupError(
      config.natsUrl === null
        ? `the event delivery could not start: ${reason}`
        : `the event bus (NATS_URL) could not be reached or set up: ${reason}`,
    );
  }
  await app.listen({ port: config.port, host: config.host });
  // Purges what is past its documented period; only the process holding the lease "retention" runs it.
  services.retention.start(config.retentionIntervalMinutes * 60_000, app.log);
  // The connectors of OPENESC_SYNC_CONFIG with a schedule; one process at a time runs each (lease `sync:<name>`).
  services.syncs.start(app.log);
  app.log.info(
    { publicUrl: config.publicUrl, dataDir: config.dataDir, store: storage.engine },
    "OpenESC hub ready",
  );
  return {
    app,
    async stop() {
      await services.syncs.stop();
      await services.retention.stop();
      // First: it ends the event streams, which the server would otherwise wait for.
      await services.delivery.stop();
      // Requests in flight get a grace period; then whatever connection is left is cut, so that a client
      // holding a socket open cannot keep the hub from stopping.
      const cut = setTimeout(() => app.server.closeAllConnections(), STOP_GRACE_MS);
      await app.close();
      clearTimeout(cut);
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
