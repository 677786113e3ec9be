/**
 * Relay throughput of the events benchmark: how many events per second the relay and the dispatcher move
 * from the outbox, through the bus, into the deliveries queue, against a raw insert and paged read of the
 * same outbox rows.
 *
 * The events are written into the outbox first (through the storage port, with a subscription that
 * matches a tenth of them); then the hub's delivery machinery starts in this process, composed as the hub
 * composes it (`createServices`, `services.delivery.start()`), and the clock runs until the dispatcher's
 * cursor reaches the last event. The webhook sender is switched off (its `runOnce` does nothing), so the
 * figure is the relay and the dispatcher alone, not the sending of the deliveries they queue.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import Database from "better-sqlite3";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { MemoryEventBus } from "../src/adapters/bus/memory/memory-event-bus.ts";
import { NatsEventBus } from "../src/adapters/bus/nats/nats-event-bus.ts";
import { PostgresStorage } from "../src/adapters/storage/postgres/postgres-storage.ts";
import { SqliteStorage } from "../src/adapters/storage/sqlite/sqlite-storage.ts";
import { loadConfig } from "../src/config.ts";
import { DISPATCH_CURSOR } from "../src/delivery/event-dispatcher.ts";
import { RELAY_CURSOR } from "../src/delivery/outbox-relay.ts";
import type { CountryCode } from "../src/domain/country-code.ts";
import { generateEscns } from "../src/domain/escn.ts";
import type { DomainEvent } from "../src/domain/events.ts";
import { type Pic, parsePic } from "../src/domain/pic.ts";
import { createServices } from "../src/hub.ts";
import { systemClock } from "../src/ports/clock.ts";
import type { EventBus } from "../src/ports/event-bus.ts";
import type { Storage } from "../src/ports/storage.ts";
import { benchQuery, deleteStream, natsUrl, throwawayNames } from "./events-hubs.ts";
import { benchDatabaseUrl } from "./postgres-fixtures.ts";
import { sleep } from "./processes.ts";

/** Issuers the events are spread over; the one subscription follows the first, so a tenth matches. */
const ISSUERS = 10;
/** Events per transaction while they are written into the outbox (not timed). */
const PREWRITE_CHUNK = 5000;
/** The page the raw read takes, as the relay's batch. */
const PAGE = 500;
const CREATED_AT = "2026-01-15T09:00:00.000Z";

export interface RelayResult {
  readonly engine: string;
  readonly events: number;
  readonly deliveries: number;
  /** Writing the events into the outbox through the port (not part of either figure). */
  readonly prewriteSeconds: number;
  readonly hubSeconds: number;
  readonly hubEventsPerSecond: number;
  /** Raw insert (COPY) and paged read, mean of one run before and one after the hub's. */
  readonly rawSeconds: number;
  readonly rawEventsPerSecond: number;
  readonly ratio: number;
}

const orgId = (i: number): Pic => parsePic(String(910_000_001 + i * 41));

interface Workload {
  readonly events: DomainEvent[];
  /** The same events as outbox rows: id, type, subject, audience, data, occurred_at. */
  readonly rows: string[][];
  readonly matching: number;
}

function workload(count: number): Workload {
  const perIssuer = Math.ceil(count / ISSUERS);
  const pools = Array.from({ length: ISSUERS }, (_, o) =>
    generateEscns(perIssuer, { prefix: "001", pic: orgId(o) }),
  );
  const occurredAt = new Date().toISOString();
  const events: DomainEvent[] = [];
  for (let i = 0; i < count; i++) {
    const issuer = orgId(i % ISSUERS);
    const escn = pools[i % ISSUERS]![Math.floor(i / ISSUERS)]!;
    events.push({
      type: "card.updated",
      subject: escn,
      audience: [issuer],
      data: { escn, issuer, status: "ACTIVE", inactiveReason: null, expiresAt: "2030-08-31", version: 2 },
      occurredAt,
    });
  }
  const rows = events.map((e) => [
    randomUUID(),
    e.type,
    e.subject,
    JSON.stringify(e.audience),
    JSON.stringify(e.data),
    e.occurredAt,
  ]);
  return { events, rows, matching: Math.ceil(count / ISSUERS) };
}

/** The organisations, the subscription, both cursors at the feed's end, then the events, through the port. */
async function prepare(
  storage: Storage,
  work: Workload,
): Promise<{ subscriptionId: string; prewriteSeconds: number }> {
  const subscriptionId = randomUUID();
  await storage.transaction(async (tx) => {
    for (let o = 0; o < ISSUERS; o++) {
      await tx.organisations.insert({
        id: orgId(o),
        kind: "institution",
        name: `Relay Bench University ${o + 1}`,
        country: "FR" as CountryCode,
        schacHomeOrganisation: `relay-bench-${o + 1}.example.org`,
        erasmusCode: null,
        website: null,
        colours: { main: null, secondary: null, contrast: null, qr: null },
        showDisplayName: false,
        serves: [],
        processors: [],
        createdAt: CREATED_AT,
        updatedAt: CREATED_AT,
      });
    }
    await tx.subscriptions.insert({
      id: subscriptionId,
      organisationId: orgId(0),
      url: "http://127.0.0.1:9/never-called",
      secret: `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
      description: "relay benchmark",
      types: null,
      issuer: null,
      cardSet: false,
      state: "active",
      startAfter: 0,
      createdAt: CREATED_AT,
      updatedAt: CREATED_AT,
    });
    const latest = String(await tx.outbox.latestPosition());
    await tx.cursors.set(RELAY_CURSOR, latest);
    await tx.cursors.set(DISPATCH_CURSOR, latest);
  });
  const started = performance.now();
  for (let from = 0; from < work.events.length; from += PREWRITE_CHUNK) {
    const chunk = work.events.slice(from, from + PREWRITE_CHUNK);
    await storage.transaction((tx) => tx.outbox.append(chunk));
  }
  return { subscriptionId, prewriteSeconds: (performance.now() - started) / 1000 };
}

/** Starts the delivery machinery as the hub composes it and times it until the dispatcher has every event. */
async function runMachinery(
  storage: Storage,
  bus: EventBus,
  dataDir: string,
  subscriptionId: string,
  expected: number,
): Promise<{ seconds: number; deliveries: number }> {
  const last = await storage.read.outbox.latestPosition();
  const config = loadConfig({ OPENESC_DATA_DIR: dataDir, OPENESC_LOG_LEVEL: "silent" });
  const services = createServices(config, storage, systemClock, bus);
  // The figure is the relay and the dispatcher: the deliveries they queue stay queued.
  services.delivery.sender.runOnce = async () => false;
  const failures: string[] = [];
  const log = {
    error: (details: object, message: string) => failures.push(`${message} ${JSON.stringify(details)}`),
  };
  const started = performance.now();
  try {
    await services.delivery.start(log);
    const deadline = Date.now() + 240_000;
    while (Number((await storage.read.cursors.get(DISPATCH_CURSOR)) ?? "0") < last) {
      if (Date.now() > deadline)
        throw new Error(`the dispatcher did not reach position ${last} within 240 s: ${failures.join("; ")}`);
      await sleep(5);
    }
    const seconds = (performance.now() - started) / 1000;
    const deliveries = (await storage.read.deliveries.countByState(subscriptionId)).pending;
    if (deliveries !== expected)
      throw new Error(`the dispatcher queued ${deliveries} deliveries, not ${expected}`);
    return { seconds, deliveries };
  } finally {
    await services.delivery.stop();
  }
}

/** The embedded store and in-process bus, against better-sqlite3 inserting and reading the same rows. */
export async function relaySqlite(runDir: string, count: number): Promise<RelayResult> {
  const dir = join(runDir, "relay-sqlite");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const work = workload(count);
    const storage = new SqliteStorage({ file: join(dir, "openesc.db") });
    await storage.init();
    try {
      const { subscriptionId, prewriteSeconds } = await prepare(storage, work);
      const rawBefore = rawSqlite(join(dir, "raw-1.db"), work.rows);
      const hub = await runMachinery(storage, new MemoryEventBus(), dir, subscriptionId, work.matching);
      const rawAfter = rawSqlite(join(dir, "raw-2.db"), work.rows);
      return result("SQLite + in-process bus", count, hub, prewriteSeconds, (rawBefore + rawAfter) / 2);
    } finally {
      await storage.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** PostgreSQL (throwaway schema) and NATS (throwaway stream), against COPY and a paged read of the same rows. */
export async function relayPostgres(runDir: string, count: number): Promise<RelayResult> {
  const names = throwawayNames();
  const dir = join(runDir, "relay-pg");
  mkdirSync(dir, { recursive: true });
  await benchQuery(`CREATE SCHEMA ${names.schema}`);
  const storage = new PostgresStorage({ connectionString: benchDatabaseUrl(), schema: names.schema });
  try {
    await storage.init();
    const work = workload(count);
    const { subscriptionId, prewriteSeconds } = await prepare(storage, work);
    const rawBefore = await rawPostgres(names.schema, "raw_outbox_1", work.rows);
    const bus = new NatsEventBus({
      servers: natsUrl(),
      stream: names.stream,
      subjectPrefix: names.subjectPrefix,
    });
    const hub = await runMachinery(storage, bus, dir, subscriptionId, work.matching);
    const rawAfter = await rawPostgres(names.schema, "raw_outbox_2", work.rows);
    return result("PostgreSQL + NATS", count, hub, prewriteSeconds, (rawBefore + rawAfter) / 2);
  } finally {
    await storage.close().catch(() => undefined);
    await deleteStream(names.stream);
    await benchQuery(`DROP SCHEMA IF EXISTS ${names.schema} CASCADE`);
    rmSync(dir, { recursive: true, force: true });
  }
}

function result(
  engine: string,
  events: number,
  hub: { seconds: number; deliveries: number },
  prewriteSeconds: number,
  rawSeconds: number,
): RelayResult {
  const hubEventsPerSecond = events / hub.seconds;
  const rawEventsPerSecond = events / rawSeconds;
  return {
    engine,
    events,
    deliveries: hub.deliveries,
    prewriteSeconds,
    hubSeconds: hub.seconds,
    hubEventsPerSecond,
    rawSeconds,
    rawEventsPerSecond,
    ratio: hubEventsPerSecond / rawEventsPerSecond,
  };
}

/**
 * The rows inserted in one transaction with a bare prepared statement into a file holding only the
 * outbox table (same definition and pragmas as the hub's), then read back in pages; seconds.
 */
function rawSqlite(file: string, rows: readonly string[][]): number {
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("secure_delete = ON");
    db.pragma("cache_size = -32768");
    db.exec(`CREATE TABLE outbox (
      position INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL,
      subject TEXT NOT NULL,
      audience TEXT NOT NULL,
      data TEXT NOT NULL,
      occurred_at TEXT NOT NULL)`);
    const insert = db.prepare(
      "INSERT INTO outbox (id, type, subject, audience, data, occurred_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const page = db.prepare("SELECT * FROM outbox WHERE position > ? ORDER BY position LIMIT ?");
    const started = performance.now();
    db.transaction(() => {
      for (const row of rows) insert.run(...row);
    })();
    let read = 0;
    for (let after = 0; ; ) {
      const got = page.all(after, PAGE) as { position: number }[];
      if (got.length === 0) break;
      read += got.length;
      after = got[got.length - 1]!.position;
    }
    const seconds = (performance.now() - started) / 1000;
    if (read !== rows.length) throw new Error(`raw SQLite read ${read} rows, not ${rows.length}`);
    return seconds;
  } finally {
    db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
  }
}

/** COPY of the rows into a table `LIKE outbox INCLUDING ALL`, then read back in pages; seconds. */
async function rawPostgres(schema: string, table: string, rows: readonly string[][]): Promise<number> {
  const client = new pg.Client({ connectionString: benchDatabaseUrl(), options: `-c search_path=${schema}` });
  await client.connect();
  try {
    await client.query(`CREATE TABLE ${table} (LIKE outbox INCLUDING ALL)`);
    const text = rows.map((row) => `${row.map(copyText).join("\t")}\n`);
    const started = performance.now();
    await pipeline(
      Readable.from(text),
      client.query(copyFrom(`COPY ${table} (id, type, subject, audience, data, occurred_at) FROM STDIN`)),
    );
    let read = 0;
    for (let after = 0; ; ) {
      const { rows: got } = await client.query<{ position: string }>(
        `SELECT * FROM ${table} WHERE position > $1 ORDER BY position LIMIT $2`,
        [after, PAGE],
      );
      if (got.length === 0) break;
      read += got.length;
      after = Number(got[got.length - 1]!.position);
    }
    const seconds = (performance.now() - started) / 1000;
    if (read !== rows.length) throw new Error(`raw PostgreSQL read ${read} rows, not ${rows.length}`);
    return seconds;
  } finally {
    await client.end();
  }
}

/** A value in COPY's text format. */
function copyText(value: string): string {
  return value.replace(/[\\\n\r\t]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t",
  );
}
