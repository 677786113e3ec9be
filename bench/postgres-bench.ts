/**
 * `npm run bench -- postgres`: the hub on PostgreSQL (issue 4), in one run:
 *
 * 1. bulk load of card rows through the hub's bulk path (`cards.insertMany`, COPY in a transaction)
 *    against a raw COPY of the same text into a table `LIKE cards INCLUDING ALL`;
 * 2. the public status endpoint of a hub on PostgreSQL against a hub on SQLite holding the same cards;
 * 3. two hub processes on the same PostgreSQL database against one, under the same total load.
 *
 * Options: --cards=N (bulk load rows, default 1,000,000), --load-seconds=N (time budget of the bulk load,
 * default 150), --status-cards=N (default 200,000), --seconds=N (measured seconds per server set, default 10),
 * --connections=N (total wrk connections, default 32). See docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { BENCH_ADMIN_TOKEN, CACHE_DIR, ROOT, STATUS_PREFIX, STATUS_SUFFIX } from "./bench-constants.ts";
import { benchDatabaseUrl, bulkLoad, ensureDatabase, statusFixture } from "./postgres-fixtures.ts";
import {
  assertRunning,
  cpuSecondsOf,
  freePort,
  LOOPBACK,
  loadAverage,
  type Server,
  startServer,
  stopServer,
} from "./processes.ts";
import { failures, findWrk, mergeRuns, runWrk, type WrkResult } from "./wrk.ts";

const RUN_DIR = join(CACHE_DIR, "postgres-run");
const RESULTS_FILE = join(CACHE_DIR, "postgres-results.json");
/** wrk processes driving each measurement (the same for every server set); connections are split. */
const WRK_PROCESSES = 2;
const SLICES = 2;

interface Settings {
  readonly cards: number;
  readonly loadSeconds: number;
  readonly statusCards: number;
  readonly seconds: number;
  readonly connections: number;
}

function settingsOf(args: readonly string[]): Settings | string {
  const s = { cards: 1_000_000, loadSeconds: 150, statusCards: 200_000, seconds: 10, connections: 32 };
  const keys: Record<string, keyof typeof s> = {
    "--cards": "cards",
    "--load-seconds": "loadSeconds",
    "--status-cards": "statusCards",
    "--seconds": "seconds",
    "--connections": "connections",
  };
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    const name = key === undefined ? undefined : keys[key];
    if (!name || !value || !/^\d+$/.test(value) || Number(value) < 1) {
      return `unknown option ${arg} (known: ${Object.keys(keys).join("=N, ")}=N)`;
    }
    s[name] = Number(value);
  }
  if (s.connections < WRK_PROCESSES) s.connections = WRK_PROCESSES;
  return s;
}

export async function runPostgresBench(args: readonly string[]): Promise<number> {
  const settings = settingsOf(args);
  if (typeof settings === "string") {
    process.stderr.write(`${settings}\n`);
    return 2;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  findWrk();
  mkdirSync(RUN_DIR, { recursive: true });
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  await ensureDatabase();

  // 1. Bulk load.
  log(
    `bulk load: ${fmt(settings.cards, 0)} card rows in transactions of 50,000, hub bulk path vs raw COPY (budget ${settings.loadSeconds} s)`,
  );
  const load = await bulkLoad(settings.cards, 50_000, settings.loadSeconds, log);
  log(
    `  hub ${fmt(load.hubRowsPerSecond, 0)} rows/s, raw COPY ${fmt(load.rawRowsPerSecond, 0)} rows/s, ratio ${fmt(load.ratio, 2)} over ${fmt(load.rows, 0)} rows` +
      (load.stoppedByBudget ? ` (stopped by the time budget before ${fmt(load.requestedRows, 0)})` : ""),
  );

  // 2. The status fixture and the hubs.
  const fixture = await statusFixture(CACHE_DIR, settings.statusCards, log);
  log(
    `status fixture: ${fmt(fixture.cards, 0)} cards on PostgreSQL and SQLite (${fixture.built ? "built now" : `reused, built ${fixture.builtAt}`})`,
  );
  const servers: Server[] = [];
  try {
    const sqliteHub = await startHub("hub on SQLite", { OPENESC_DATA_DIR: fixture.sqliteDataDir });
    servers.push(sqliteHub);
    const pgHub = await startHub("hub on PostgreSQL", {
      OPENESC_DATA_DIR: join(RUN_DIR, "pg-1"),
      DATABASE_URL: benchDatabaseUrl(),
    });
    servers.push(pgHub);
    const sliceSeconds = Math.max(2, Math.round(settings.seconds / SLICES));
    const drive = (targets: readonly Server[], seconds: number) =>
      driveAll(targets, seconds, settings.connections, fixture.escnFile);

    log(
      `\npublic status, ${WRK_PROCESSES} wrk processes × -c${settings.connections / WRK_PROCESSES}, uniform random ESCNs, ${SLICES} alternating slices of ${sliceSeconds} s, status cache off on both`,
    );
    await drive([sqliteHub], 3);
    await drive([pgHub], 3);
    const statusSlices: Record<"sqlite" | "pg", Measured[]> = { sqlite: [], pg: [] };
    for (let i = 0; i < SLICES; i++) {
      for (const [name, hub] of [
        ["sqlite", sqliteHub],
        ["pg", pgHub],
      ] as const) {
        const m = await drive([hub], sliceSeconds);
        statusSlices[name].push(m);
        log(`  ${name.padEnd(6)} slice ${i + 1}/${SLICES}  ${describe(m.result)}`);
      }
    }
    const sqliteStatus = mergeRuns(statusSlices.sqlite.map((m) => m.result));
    const pgStatus = mergeRuns(statusSlices.pg.map((m) => m.result));
    await stopServer(sqliteHub);

    // 3. Scaling: a second hub process on the same database.
    const pgHub2 = await startHub("second hub on PostgreSQL", {
      OPENESC_DATA_DIR: join(RUN_DIR, "pg-2"),
      DATABASE_URL: benchDatabaseUrl(),
    });
    servers.push(pgHub2);
    log(
      `\nscaling: one hub process vs two on the same database, the same ${WRK_PROCESSES} wrk processes (split across both ports for two)`,
    );
    await drive([pgHub2], 3);
    const scaleSlices: Record<"one" | "two", Measured[]> = { one: [], two: [] };
    for (let i = 0; i < SLICES; i++) {
      for (const [name, targets] of [
        ["one", [pgHub]],
        ["two", [pgHub, pgHub2]],
      ] as const) {
        const m = await drive(targets, sliceSeconds);
        scaleSlices[name].push(m);
        log(`  ${name.padEnd(3)} slice ${i + 1}/${SLICES}  ${describe(m.result)}; CPU ${m.cpuNote}`);
      }
    }
    const one = mergeRuns(scaleSlices.one.map((m) => m.result));
    const two = mergeRuns(scaleSlices.two.map((m) => m.result));
    const loadAtEnd = loadAverage();

    const ratios = {
      bulkLoad: load.ratio,
      statusPgOverSqlite: pgStatus.requestsPerSecond / sqliteStatus.requestsPerSecond,
      statusP99PgOverSqlite: pgStatus.latencyMs.p99 / sqliteStatus.latencyMs.p99,
      scaling: two.requestsPerSecond / one.requestsPerSecond,
    };
    const results = {
      date: startedAt.toISOString(),
      machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd },
      settings: { ...settings, wrkProcesses: WRK_PROCESSES, slices: SLICES, sliceSeconds },
      bulkLoad: load,
      status: { cards: fixture.cards, fixtureBuilt: fixture.built, sqlite: sqliteStatus, postgres: pgStatus },
      scaling: { one, two },
      ratios,
    };
    writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);

    const rows: string[][] = [
      ["figure", "measured", "reference", "ratio", "aim"],
      [
        `bulk load of ${fmt(load.rows, 0)} cards, rows/s`,
        `${fmt(load.hubRowsPerSecond, 0)} hub`,
        `${fmt(load.rawRowsPerSecond, 0)} raw COPY`,
        fmt(ratios.bulkLoad, 2),
        `≥ 0.5 ${ratios.bulkLoad >= 0.5 ? "ok" : "MISSED"}`,
      ],
      [
        `status, ${fmt(fixture.cards, 0)} cards, req/s`,
        `${fmt(pgStatus.requestsPerSecond, 0)} PG`,
        `${fmt(sqliteStatus.requestsPerSecond, 0)} SQLite`,
        fmt(ratios.statusPgOverSqlite, 2),
        "",
      ],
      [
        "status p99 at peak, ms",
        `${fmt(pgStatus.latencyMs.p99, 2)} PG`,
        `${fmt(sqliteStatus.latencyMs.p99, 2)} SQLite`,
        fmt(ratios.statusP99PgOverSqlite, 2),
        "",
      ],
      [
        "status on PG, req/s",
        `${fmt(two.requestsPerSecond, 0)} two hubs`,
        `${fmt(one.requestsPerSecond, 0)} one hub`,
        fmt(ratios.scaling, 2),
        `< 2 on ${cpus().length} cores`,
      ],
    ];
    log(`\n${table(rows)}`);
    log(
      `machine: ${cpus().length} cores; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end` +
        (Math.max(loadAtStart, loadAtEnd) > cpus().length / 2
          ? " (busy: absolute figures are low and noisy)"
          : ""),
    );
    log(`figures written to ${RESULTS_FILE.slice(ROOT.length + 1)}`);
    return 0;
  } finally {
    for (const server of servers) await stopServer(server);
  }
}

interface Measured {
  readonly result: WrkResult;
  readonly cpuNote: string;
}

/** WRK_PROCESSES wrk processes in parallel, process k against targets[k % targets.length]. */
async function driveAll(
  targets: readonly Server[],
  seconds: number,
  connections: number,
  escnFile: string,
): Promise<Measured> {
  const cpuBefore = targets.map((t) => cpuSecondsOf(t.child.pid!));
  const runs = await Promise.all(
    Array.from({ length: WRK_PROCESSES }, (_, k) =>
      runWrk({
        baseUrl: targets[k % targets.length]!.baseUrl,
        pathPrefix: STATUS_PREFIX,
        pathSuffix: STATUS_SUFFIX,
        escnFile,
        threads: 1,
        connections: Math.floor(connections / WRK_PROCESSES),
        seconds,
        scratchDir: RUN_DIR,
      }),
    ),
  );
  const cpu = targets.map((t, i) => cpuSecondsOf(t.child.pid!) - cpuBefore[i]!);
  for (const target of targets) assertRunning(target);
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const failed = runs.reduce((n, r) => n + failures(r), 0);
  if (failed > 0)
    throw new Error(`${failed} of ${requests} requests failed: ${JSON.stringify(runs.map((r) => r.errors))}`);
  // Parallel runs: requests add up over the same wall time (mergeRuns adds durations, meant for runs in turn).
  const merged = mergeRuns(runs);
  const wall = Math.max(...runs.map((r) => r.durationSeconds));
  const result: WrkResult = { ...merged, durationSeconds: wall, requestsPerSecond: requests / wall };
  const cpuNote = cpu.map((s) => `${fmt((s / Math.max(1, requests)) * 1e6 * targets.length, 0)}`).join("+");
  return {
    result,
    cpuNote: `${cpuNote} µs/req per process, ${cpu.map((s) => fmt(s / wall, 2)).join("+")} cores`,
  };
}

async function startHub(name: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  if (env["OPENESC_DATA_DIR"]) mkdirSync(env["OPENESC_DATA_DIR"], { recursive: true });
  return startServer({
    name,
    args: ["--import", "tsx", join(ROOT, "src", "main.ts")],
    env: {
      ...withoutHubVariables(process.env),
      PORT: String(port),
      HOST: LOOPBACK,
      OPENESC_PUBLIC_URL: `http://${LOOPBACK}:${port}`,
      OPENESC_LOG_LEVEL: "warn",
      OPENESC_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      // Off on both: PostgreSQL hubs run without it anyway (shared store), so the engines compare as such.
      OPENESC_STATUS_CACHE_SIZE: "0",
      ...env,
    },
    port,
    readyPath: "/readyz",
  });
}

function withoutHubVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) => !name.startsWith("OPENESC_") && !["PORT", "HOST", "DATABASE_URL"].includes(name),
    ),
  );
}

function describe(result: WrkResult): string {
  const l = result.latencyMs;
  return `${fmt(result.requestsPerSecond, 0)} req/s; latency ms p50 ${fmt(l.p50, 2)}  p99 ${fmt(l.p99, 2)}  max ${fmt(l.max, 2)}`;
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? "").length)));
  return rows
    .map((row, i) => {
      const cells = row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)));
      const text = cells.join("   ").trimEnd();
      return i === 0 ? `${text}\n${"-".repeat(text.length)}` : text;
    })
    .join("\n");
}
