/**
 * The hubs of the events benchmark, each a child process started as `npm start` starts it, and what the
 * benchmark does through their HTTP API: organisations, tokens, persons, cards and webhook subscriptions.
 *
 * Two deployments: the embedded hub (SQLite, in-process bus) in a fresh data folder, and hubs on
 * PostgreSQL + NATS JetStream sharing a throwaway schema of `openesc_bench` and a throwaway stream, both
 * removed by {@link Deployment.stop}.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { BENCH_ADMIN_TOKEN, ROOT } from "./bench-constants.ts";
import { benchDatabaseUrl, ensureDatabase } from "./postgres-fixtures.ts";
import { freePort, LOOPBACK, type Server, startServer, stopServer } from "./processes.ts";

/** The NATS server: `BENCH_NATS_URL`, by default the local one on loopback. */
export function natsUrl(): string {
  const url = process.env["BENCH_NATS_URL"] ?? `nats://${LOOPBACK}:4222`;
  if (new URL(url).hostname !== LOOPBACK) throw new Error(`the benchmark uses ${LOOPBACK} only, not ${url}`);
  return url;
}

/** A stream name and subject prefix, and a schema name, that no other run uses. */
export function throwawayNames(): { stream: string; subjectPrefix: string; schema: string } {
  const suffix = randomBytes(5).toString("hex");
  return {
    stream: `OPENESC_BENCH_${suffix.toUpperCase()}`,
    subjectPrefix: `openesc_bench_${suffix}.events`,
    schema: `bench_events_${suffix}`,
  };
}

/** Deletes a stream (with its consumers); one already gone is fine. */
export async function deleteStream(stream: string): Promise<void> {
  const nc = await connect({ servers: natsUrl(), timeout: 3000, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 3000 });
    await jsm.streams.delete(stream).catch((error: Error) => {
      if (!/not found/i.test(error.message)) throw error;
    });
  } finally {
    await nc.close();
  }
}

/** Runs one statement on `openesc_bench` (creating the database first when it is missing). */
export async function benchQuery(sql: string): Promise<void> {
  await ensureDatabase();
  const client = new pg.Client({ connectionString: benchDatabaseUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** `openesc_bench` with `search_path` set to `schema`, as a hub's DATABASE_URL. */
export function schemaUrl(schema: string): string {
  const url = new URL(benchDatabaseUrl());
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

/** One deployment: its hub processes (writes go to them in turn) and what it must remove when it stops. */
export interface Deployment {
  readonly name: string;
  readonly hubs: readonly Server[];
  stop(): Promise<void>;
}

/** The embedded hub: SQLite in a fresh folder, in-process bus. */
export async function startEmbedded(runDir: string, profileDir: string | null): Promise<Deployment> {
  const dataDir = join(runDir, "embedded");
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const hub = await startHub("embedded hub", { OPENESC_DATA_DIR: dataDir }, profileDir);
  return {
    name: "embedded (SQLite + in-process bus)",
    hubs: [hub],
    async stop() {
      await stopServer(hub);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `count` hub processes on one throwaway PostgreSQL schema and one throwaway NATS stream. */
export async function startPostgresNats(
  runDir: string,
  count: number,
  profileDir: string | null,
): Promise<Deployment> {
  const names = throwawayNames();
  await benchQuery(`CREATE SCHEMA ${names.schema}`);
  const hubs: Server[] = [];
  const stop = async () => {
    for (const hub of hubs) await stopServer(hub);
    for (let i = 0; i < count; i++) rmSync(join(runDir, `pg-${i + 1}`), { recursive: true, force: true });
    await deleteStream(names.stream);
    await benchQuery(`DROP SCHEMA IF EXISTS ${names.schema} CASCADE`);
  };
  try {
    for (let i = 0; i < count; i++) {
      const dataDir = join(runDir, `pg-${i + 1}`);
      mkdirSync(dataDir, { recursive: true });
      hubs.push(
        await startHub(
          `hub ${i + 1} on PostgreSQL + NATS`,
          {
            OPENESC_DATA_DIR: dataDir,
            DATABASE_URL: schemaUrl(names.schema),
            NATS_URL: natsUrl(),
            OPENESC_NATS_STREAM: names.stream,
            OPENESC_NATS_SUBJECT_PREFIX: names.subjectPrefix,
          },
          profileDir,
        ),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name: `PostgreSQL + NATS (${count} hub process${count === 1 ? "" : "es"})`,
    hubs,
    stop,
  };
}

async function startHub(
  name: string,
  env: Record<string, string>,
  profileDir: string | null,
): Promise<Server> {
  const port = await freePort();
  return startServer({
    name,
    args: [
      ...(profileDir === null ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]),
      "--import",
      "tsx",
      join(ROOT, "src", "main.ts"),
    ],
    env: {
      ...withoutHubVariables(process.env),
      PORT: String(port),
      HOST: LOOPBACK,
      OPENESC_PUBLIC_URL: `http://${LOOPBACK}:${port}`,
      OPENESC_LOG_LEVEL: "warn",
      OPENESC_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      // The receiver listens on loopback; every other setting is the default.
      OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true",
      ...env,
    },
    port,
    readyPath: "/readyz",
  });
}

/** The hub's configuration comes from the benchmark, not from the caller's environment. */
function withoutHubVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) =>
        !name.startsWith("OPENESC_") && !["PORT", "HOST", "DATABASE_URL", "NATS_URL"].includes(name),
    ),
  );
}

/** A JSON call to a hub; throws unless it answers `expected`. */
export async function call<T>(
  baseUrl: string,
  method: string,
  path: string,
  token: string,
  body: unknown,
  expected: number,
): Promise<T> {
  const response = await fetch(baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== expected) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

/** The operator onboards an organisation and makes it a token; returns the token. */
export async function onboard(baseUrl: string, organisation: Record<string, unknown>): Promise<string> {
  const created = await call<{ id: string }>(
    baseUrl,
    "POST",
    "/v1/organisations",
    BENCH_ADMIN_TOKEN,
    organisation,
    201,
  );
  const token = await call<{ token: string }>(
    baseUrl,
    "POST",
    `/v1/organisations/${encodeURIComponent(created.id)}/tokens`,
    BENCH_ADMIN_TOKEN,
    { name: "bench" },
    201,
  );
  return token.token;
}

/** `count` persons with one active card each, issued by `issuer`; returns the ESCNs, `parallel` at a time. */
export async function issueCards(
  baseUrl: string,
  token: string,
  issuer: string,
  count: number,
  parallel = 8,
): Promise<string[]> {
  const escns: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const esi = `urn:schac:personalUniqueCode:int:esi:fr:bench${String(i).padStart(6, "0")}`;
      await call(
        baseUrl,
        "POST",
        "/esc-rest/api/v2/persons",
        token,
        {
          identifier: esi,
          identifierCode: "ESI",
          fullName: `Bench Student ${i}`,
          personOrganisationUpdateViews: [{ organisationIdentifier: issuer, academicLevel: "MASTER" }],
        },
        201,
      );
      const card = await call<{ cardNumber: string }>(
        baseUrl,
        "POST",
        "/esc-rest/api/v2/cards",
        token,
        {
          cardStatusType: "ACTIVE",
          cardType: "SMART_PASSIVE",
          issuedAt: "2026-09-01",
          expiresAt: "2030-08-31",
          issuerIdentifier: issuer,
          personIdentifier: esi,
          displayName: `Bench S. ${i}`,
        },
        201,
      );
      escns[i] = card.cardNumber;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return escns;
}

/** A webhook subscription to card updates; returns its id and signing secret. */
export async function subscribe(
  baseUrl: string,
  token: string,
  url: string,
  cards?: readonly string[],
): Promise<{ id: string; secret: string }> {
  return call(
    baseUrl,
    "POST",
    "/v1/subscriptions",
    token,
    { url, types: ["card.updated"], ...(cards === undefined ? {} : { cards }) },
    201,
  );
}
