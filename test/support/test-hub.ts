import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { NatsEventBus } from "../../src/adapters/bus/nats/nats-event-bus.ts";
import { PostgresStorage } from "../../src/adapters/storage/postgres/postgres-storage.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import { buildApp } from "../../src/http/app.ts";
import type { HubServices } from "../../src/http/hub-services.ts";
import { createServices, createStorage } from "../../src/hub.ts";
import { type Clock, systemClock } from "../../src/ports/clock.ts";
import type { EventBus } from "../../src/ports/event-bus.ts";
import { bootstrapOperator } from "../../src/services/operator-bootstrap.ts";
import { deleteStream, NATS_TEST_URL, throwawayStream } from "./nats-server.ts";
import { adminQuery, TEST_DATABASE_URL, throwawayName } from "./postgres-server.ts";

export const ADMIN_TOKEN = "oesc_test-admin-token-0123456789abcdefghijklmnop";
/** The master key of hubs on a shared store (PostgreSQL), where none is made for them. */
export const TEST_MASTER_KEY = "8f3c2a1b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";

export interface TestHub {
  readonly app: FastifyInstance;
  readonly services: HubServices;
  readonly config: Config;
  readonly dataDir: string;
  /** Sends a request in-process; `token` becomes the bearer token. */
  request(options: InjectOptions & { token?: string }): Promise<LightMyRequestResponse>;
  /** The operator onboards an organisation and makes it a token; returns the token. */
  onboard(organisation: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/**
 * Which store the in-process hubs use: the embedded default, or PostgreSQL in a throwaway schema when
 * `OPENESC_TEST_STORE=postgres` (set by `test/http/postgres-http.test.ts` to run HTTP suites on it too).
 */
function testStore(config: Config): { storage: ReturnType<typeof createStorage>; schema: string | null } {
  if (process.env["OPENESC_TEST_STORE"] !== "postgres")
    return { storage: createStorage(config), schema: null };
  const schema = throwawayName();
  return { storage: new PostgresStorage({ connectionString: TEST_DATABASE_URL, schema }), schema };
}

/**
 * The bus of the in-process hubs: the in-process one, or NATS JetStream on a throwaway stream when
 * `OPENESC_TEST_BUS=nats` (set by `test/events/postgres-nats-events.test.ts` to run the event suites there).
 */
function natsTestBus(): { bus: EventBus; stream?: string } | undefined {
  if (process.env["OPENESC_TEST_BUS"] !== "nats") return undefined;
  const { stream, subjectPrefix } = throwawayStream();
  return {
    bus: new NatsEventBus({ servers: NATS_TEST_URL, stream, subjectPrefix, timeoutMs: 5000 }),
    stream,
  };
}

/** A real hub on a throwaway store (SQLite file, or PostgreSQL schema), for in-process HTTP tests. */
export async function startTestHub(
  options: {
    clock?: Clock;
    env?: Record<string, string>;
    /** Runs the relay, dispatcher, webhook sender and expiry job, as a served hub does. */
    delivery?: boolean;
    bus?: EventBus;
  } = {},
): Promise<TestHub> {
  const dataDir = mkdtempSync(join(tmpdir(), "openesc-test-"));
  const config = loadConfig({
    OPENESC_DATA_DIR: dataDir,
    OPENESC_ADMIN_TOKEN: ADMIN_TOKEN,
    OPENESC_PUBLIC_URL: "https://hub.example.org",
    OPENESC_LOG_LEVEL: "silent",
    ...(process.env["OPENESC_TEST_STORE"] === "postgres" ? { OPENESC_MASTER_KEY: TEST_MASTER_KEY } : {}),
    ...options.env,
  });
  const clock = options.clock ?? systemClock;
  const { storage, schema } = testStore(config);
  await storage.init();
  await bootstrapOperator({ storage, clock }, ADMIN_TOKEN);
  const testBus = options.bus ? { bus: options.bus, stream: undefined } : natsTestBus();
  const services = createServices(config, storage, clock, testBus?.bus);
  const app = await buildApp({ ...config, services, logger: false });
  await app.ready();
  if (options.delivery) await services.delivery.start();
  const request = (opts: InjectOptions & { token?: string }) => {
    const { token, ...rest } = opts;
    const headers = { ...(rest.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
    return app.inject({ ...rest, headers });
  };
  return {
    app,
    services,
    config,
    dataDir,
    request,
    async onboard(organisation) {
      const created = await request({
        method: "POST",
        url: "/v1/organisations",
        token: ADMIN_TOKEN,
        payload: organisation,
      });
      if (created.statusCode !== 201)
        throw new Error(`onboarding failed: ${created.statusCode} ${created.body}`);
      const id = created.json<{ id: string }>().id;
      const token = await request({
        method: "POST",
        url: `/v1/organisations/${encodeURIComponent(id)}/tokens`,
        token: ADMIN_TOKEN,
        payload: { name: "test" },
      });
      if (token.statusCode !== 201) throw new Error(`token failed: ${token.statusCode} ${token.body}`);
      return token.json<{ token: string }>().token;
    },
    async close() {
      // Started by the tests that run scheduled syncs (after onboarding the organisations they sync).
      await services.syncs.stop();
      await services.delivery.stop();
      // As a stopping hub does (src/start-hub.ts), with a shorter grace: a client's kept-alive socket
      // must not hold a test up.
      const cut = setTimeout(() => app.server.closeAllConnections(), 1000);
      await app.close();
      clearTimeout(cut);
      await storage.close();
      if (schema !== null) await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      if (testBus?.stream) await deleteStream(testBus.stream);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A clock the test moves by hand. */
export function fixedClock(iso: string): Clock & { set(iso: string): void } {
  let now = new Date(iso);
  return {
    now: () => new Date(now),
    set(next: string) {
      now = new Date(next);
    },
  };
}
