/**
 * `npm run bench -- status`: the public card status (`GET /esc-rest/api/v2/cards/{escn}/status`) of a
 * hub holding 1,000,000 cards, driven by wrk with ESCNs drawn uniformly at random, against a bare
 * node:http server answering a body of the same length (the ceiling). See docs/benchmarks.md.
 *
 * Each measurement alternates hub and ceiling in slices, so that whatever else the machine does at the
 * time weighs on both alike.
 *
 * Options: --seconds=N (measured time per server and phase, default 15), --connections=N (default 32),
 * --profile (the hub writes a V8 CPU profile to .bench-cache/profiles/ when it stops).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { BENCH_ADMIN_TOKEN, CACHE_DIR, ROOT, STATUS_PREFIX, STATUS_SUFFIX } from "./bench-constants.ts";
import { type Fixture, statusFixture } from "./fixtures.ts";
import {
  assertRunning,
  cpuSecondsOf,
  freePort,
  LOOPBACK,
  loadAverage,
  memoryOf,
  type Server,
  sleep,
  startServer,
  stopServer,
} from "./processes.ts";
import { failures, findWrk, mergeRuns, runWrk, type WrkResult } from "./wrk.ts";

const RESULTS_FILE = join(CACHE_DIR, "status-results.json");
/** Measurements alternate hub and ceiling in this many slices. */
const SLICES = 3;

/** What the figures aim at (docs/benchmarks.md). */
const AIMS = { throughputRatio: 0.5, p99Ms: 10, rssMiB: 300 } as const;

interface Settings {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly threads: number;
  readonly profile: boolean;
}

class UsageError extends Error {}

function settingsOf(args: readonly string[]): Settings {
  let seconds = 15;
  let connections = 32;
  let profile = false;
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    if (key === "--seconds" && value && /^\d+$/.test(value) && Number(value) >= SLICES)
      seconds = Number(value);
    else if (key === "--connections" && value && /^\d+$/.test(value) && Number(value) >= 1)
      connections = Number(value);
    else if (key === "--profile" && value === undefined) profile = true;
    else throw new UsageError(`unknown option ${arg} (known: --seconds=N, --connections=N, --profile)`);
  }
  return { seconds, warmupSeconds: 5, connections, threads: 1, profile };
}

/** One slice of a measurement: what wrk saw, and what the server spent. */
interface Slice {
  readonly wrk: WrkResult;
  readonly cpuSeconds: number;
  readonly cacheHits: number | null;
  readonly cacheMisses: number | null;
}

/** The slices of one server in one phase, pooled. */
interface Measured {
  readonly result: WrkResult;
  readonly cpuMicrosPerRequest: number;
  readonly cacheHitRate: number | null;
  readonly slices: readonly Slice[];
}

export async function runStatusBench(args: readonly string[]): Promise<number> {
  let settings: Settings;
  try {
    settings = settingsOf(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  findWrk();
  mkdirSync(CACHE_DIR, { recursive: true });
  const startedAt = new Date();
  const loadAtStart = loadAverage();

  // 1. The fixture.
  const fixture = await statusFixture(CACHE_DIR, log);
  const info = fixture.info;
  log(
    fixture.built
      ? `fixture: built (${fmt(info.cards, 0)} cards, ${info.organisations} organisations, ${fmt(info.persons, 0)} persons); the 1M cards loaded in ${info.cardLoadSeconds.toFixed(1)} s`
      : `fixture: reused from the cache (built ${info.builtAt}); the 1M cards loaded in ${info.cardLoadSeconds.toFixed(1)} s when it was built (recorded, not measured in this run)`,
  );

  // 2. The hub and its ceiling.
  const hub = await startHub(fixture, settings);
  let bare: Server | undefined;
  try {
    const sample = sampleEscns(fixture.escnFile, 200);
    const body = await sameSizeBody(hub.baseUrl, sample);
    log(`status answers: ${body.meanBytes.toFixed(1)} bytes on average over ${sample.length} cards`);
    const barePort = await freePort();
    bare = await startServer({
      name: "bare node:http",
      args: ["--import", "tsx", join(ROOT, "bench", "bare-server.ts"), String(barePort)],
      env: { ...process.env, BARE_BODY: body.text },
      port: barePort,
      readyPath: "/",
    });
    const servers = { hub, bare };

    const wrk = (server: Server, seconds: number, rate?: number) =>
      runWrk({
        baseUrl: server.baseUrl,
        pathPrefix: STATUS_PREFIX,
        pathSuffix: STATUS_SUFFIX,
        escnFile: fixture.escnFile,
        threads: settings.threads,
        connections: settings.connections,
        seconds,
        scratchDir: CACHE_DIR,
        ...(rate === undefined ? {} : { rate }),
      });
    const sliceSeconds = Math.round(settings.seconds / SLICES);
    const measure = async (rate?: number): Promise<{ hub: Measured; bare: Measured }> => {
      const slices: Record<"hub" | "bare", Slice[]> = { hub: [], bare: [] };
      for (let i = 0; i < SLICES; i++) {
        for (const name of ["hub", "bare"] as const) {
          const server = servers[name];
          const cacheBefore = name === "hub" ? await cacheStats(server.baseUrl) : undefined;
          const cpuBefore = cpuSecondsOf(server.child.pid!);
          const result = await wrk(server, sliceSeconds, rate);
          const cpuSeconds = cpuSecondsOf(server.child.pid!) - cpuBefore;
          assertRunning(server);
          checked(name, result);
          const cacheAfter = name === "hub" ? await cacheStats(server.baseUrl) : undefined;
          const slice: Slice = {
            wrk: result,
            cpuSeconds,
            cacheHits: cacheBefore && cacheAfter ? cacheAfter.hits - cacheBefore.hits : null,
            cacheMisses: cacheBefore && cacheAfter ? cacheAfter.misses - cacheBefore.misses : null,
          };
          slices[name].push(slice);
          log(`  ${name.padEnd(4)} slice ${i + 1}/${SLICES}  ${describe(result, cpuSeconds)}`);
        }
      }
      return { hub: pooled(slices.hub), bare: pooled(slices.bare) };
    };

    // 3. Peak throughput, after a warm-up of each server.
    const shape = `wrk -t${settings.threads} -c${settings.connections}`;
    log(
      `\npeak throughput: ${shape}, ${SLICES} alternating slices of ${sliceSeconds} s per server, after a warm-up`,
    );
    assertRunning(hub);
    await wrk(hub, settings.warmupSeconds);
    await wrk(bare, Math.min(3, settings.warmupSeconds));
    const peak = await measure();
    log(`  hub    ${describe(peak.hub.result)}`);
    log(`  bare   ${describe(peak.bare.result)}`);

    // 4. Latency at half the hub's peak rate, on a fixed schedule, for the hub and the ceiling alike.
    const rate = Math.max(100, Math.round(peak.hub.result.requestsPerSecond / 2 / 100) * 100);
    log(`\nlatency at ${fmt(rate, 0)} req/s (half the hub's peak) on a fixed schedule: ${shape}`);
    const paced = await measure(rate);
    log(`  hub    ${describe(paced.hub.result)}`);
    log(`  bare   ${describe(paced.bare.result)}`);

    // 5. Memory after the runs, and a check that answers are still those of the store.
    await sleep(500);
    const hubMemory = memoryOf(hub.child.pid!);
    const bareMemory = memoryOf(bare.child.pid!);
    await checkAnswers(hub.baseUrl, sampleEscns(fixture.escnFile, 50));
    const cacheEnd = await cacheStats(hub.baseUrl);
    const loadAtEnd = loadAverage();

    const ratios = {
      throughput: peak.hub.result.requestsPerSecond / peak.bare.result.requestsPerSecond,
      cpuPerRequest: peak.hub.cpuMicrosPerRequest / peak.bare.cpuMicrosPerRequest,
      p99AtHalfPeak: paced.hub.result.latencyMs.p99 / paced.bare.result.latencyMs.p99,
      rssOfBudget: hubMemory.rssMiB / AIMS.rssMiB,
      cardLoadOfRaw: info.cardLoadSeconds / info.rawCardLoadSeconds,
    };
    const results = {
      date: startedAt.toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadAtEnd,
      },
      settings: { ...settings, slices: SLICES, sliceSeconds, pacedRate: rate },
      fixture: { built: fixture.built, ...info },
      statusBytes: body.meanBytes,
      hub: {
        peak: peak.hub,
        paced: paced.hub,
        rssMiB: hubMemory.rssMiB,
        peakRssMiB: hubMemory.peakMiB,
        cache: cacheEnd ?? null,
      },
      bare: { peak: peak.bare, paced: paced.bare, rssMiB: bareMemory.rssMiB },
      ratios,
    };
    writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);

    const rows: string[][] = [
      ["figure", "hub", "ceiling", "hub ÷ ceiling", "aim"],
      [
        "throughput, req/s",
        fmt(peak.hub.result.requestsPerSecond, 0),
        `${fmt(peak.bare.result.requestsPerSecond, 0)} bare`,
        fmt(ratios.throughput, 2),
        `≥ ${AIMS.throughputRatio} ${mark(ratios.throughput >= AIMS.throughputRatio)}`,
      ],
      [
        "CPU per request at peak, µs",
        fmt(peak.hub.cpuMicrosPerRequest, 1),
        `${fmt(peak.bare.cpuMicrosPerRequest, 1)} bare`,
        fmt(ratios.cpuPerRequest, 2),
        "",
      ],
      [
        `p99 latency at ${fmt(rate, 0)} req/s, ms`,
        fmt(paced.hub.result.latencyMs.p99, 2),
        `${fmt(paced.bare.result.latencyMs.p99, 2)} bare`,
        fmt(ratios.p99AtHalfPeak, 2),
        `< ${AIMS.p99Ms} ms ${mark(paced.hub.result.latencyMs.p99 < AIMS.p99Ms)}`,
      ],
      [
        "hub RSS after the runs, MiB",
        fmt(hubMemory.rssMiB, 0),
        `${AIMS.rssMiB} budget`,
        fmt(ratios.rssOfBudget, 2),
        `< ${AIMS.rssMiB} MiB ${mark(hubMemory.rssMiB < AIMS.rssMiB)}`,
      ],
      [
        `time to load 1M cards, s${fixture.built ? "" : " (recorded)"}`,
        fmt(info.cardLoadSeconds, 1),
        `${fmt(info.rawCardLoadSeconds, 1)} raw SQLite`,
        fmt(ratios.cardLoadOfRaw, 2),
        "",
      ],
    ];
    log(`\n${table(rows)}`);
    log(
      `\nstatus cache: ${cacheEnd ? `${fmt(cacheEnd.entries, 0)} of ${fmt(cacheEnd.capacity, 0)} answers kept; hit rate ${pct(peak.hub.cacheHitRate)} at peak, ${pct(paced.hub.cacheHitRate)} paced (uniform random ESCNs: at most ${pct(cacheEnd.capacity / info.cards)})` : "the hub exposes no figures"}`,
    );
    log(
      `hub peak RSS ${fmt(hubMemory.peakMiB, 0)} MiB, bare server RSS ${fmt(bareMemory.rssMiB, 0)} MiB; ` +
        `paced sends more than 1 ms late: hub ${paced.hub.result.lateSends}, bare ${paced.bare.result.lateSends}`,
    );
    log(
      `machine: ${cpus().length} cores; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end` +
        (Math.max(loadAtStart, loadAtEnd) > cpus().length / 2
          ? " (busy: other work shared the CPUs, so absolute figures are low and noisy; ratios and CPU per request hold up better)"
          : ""),
    );
    log(`figures written to ${RESULTS_FILE.slice(ROOT.length + 1)}`);
    return 0;
  } finally {
    if (bare) await stopServer(bare);
    await stopServer(hub);
  }
}

async function startHub(fixture: Fixture, settings: Settings): Promise<Server> {
  const port = await freePort();
  const profileDir = join(CACHE_DIR, "profiles");
  if (settings.profile) mkdirSync(profileDir, { recursive: true });
  const cacheSize = process.env["OPENESC_STATUS_CACHE_SIZE"];
  return startServer({
    name: "hub",
    args: [
      ...(settings.profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
      "--import",
      "tsx",
      join(ROOT, "src", "main.ts"),
    ],
    env: {
      ...withoutHubVariables(process.env),
      PORT: String(port),
      HOST: LOOPBACK,
      OPENESC_DATA_DIR: fixture.dataDir,
      OPENESC_PUBLIC_URL: `http://${LOOPBACK}:${port}`,
      OPENESC_LOG_LEVEL: "warn",
      OPENESC_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      // The one hub setting a caller may vary, to see what the cache's size does.
      ...(cacheSize === undefined ? {} : { OPENESC_STATUS_CACHE_SIZE: cacheSize }),
    },
    port,
    readyPath: "/readyz",
  });
}

/** The hub's configuration comes from the benchmark, not from the caller's environment. */
function withoutHubVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) => !name.startsWith("OPENESC_") && !["PORT", "HOST", "DATABASE_URL"].includes(name),
    ),
  );
}

function pooled(slices: readonly Slice[]): Measured {
  const result = mergeRuns(slices.map((s) => s.wrk));
  const cpu = slices.reduce((t, s) => t + s.cpuSeconds, 0);
  const hits = slices.reduce((t, s) => t + (s.cacheHits ?? 0), 0);
  const misses = slices.reduce((t, s) => t + (s.cacheMisses ?? 0), 0);
  const known = slices.every((s) => s.cacheHits !== null) && hits + misses > 0;
  return {
    result,
    cpuMicrosPerRequest: (cpu / Math.max(1, result.requests)) * 1e6,
    cacheHitRate: known ? hits / (hits + misses) : null,
    slices,
  };
}

function sampleEscns(file: string, n: number): string[] {
  const all = readFileSync(file, "utf8");
  const count = Math.floor(all.length / 37);
  return Array.from({ length: n }, () => {
    const i = Math.floor(Math.random() * count);
    return all.slice(i * 37, i * 37 + 36);
  });
}

/** A real status answer, padded to the mean length of a sample of answers. */
async function sameSizeBody(
  baseUrl: string,
  escns: readonly string[],
): Promise<{ text: string; meanBytes: number }> {
  let total = 0;
  let shortest: string | undefined;
  for (const escn of escns) {
    const response = await fetch(`${baseUrl}${STATUS_PREFIX}${escn}${STATUS_SUFFIX}`);
    const text = await response.text();
    if (response.status !== 200) throw new Error(`status of ${escn}: ${response.status} ${text}`);
    total += Buffer.byteLength(text);
    if (shortest === undefined || text.length < shortest.length) shortest = text;
  }
  const meanBytes = total / escns.length;
  const view = JSON.parse(shortest ?? "{}") as Record<string, unknown>;
  let text = JSON.stringify(view);
  const pad = Math.round(meanBytes) - Buffer.byteLength(text);
  if (pad > 0) {
    text = JSON.stringify({ ...view, issuerName: `${String(view["issuerName"])}${" ".repeat(pad)}` });
  }
  return { text, meanBytes };
}

/** After the load, answers are still the store's. */
async function checkAnswers(baseUrl: string, escns: readonly string[]): Promise<void> {
  for (const escn of escns) {
    const response = await fetch(`${baseUrl}${STATUS_PREFIX}${escn}${STATUS_SUFFIX}`);
    const view = (await response.json()) as { cardNumber?: string };
    if (response.status !== 200 || view.cardNumber !== escn) {
      throw new Error(`status of ${escn} after the load: ${response.status} ${JSON.stringify(view)}`);
    }
  }
}

interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly entries: number;
  readonly capacity: number;
}

/** The status cache's counters, from the hub's /metrics; undefined when it does not expose them. */
async function cacheStats(baseUrl: string): Promise<CacheStats | undefined> {
  const response = await fetch(`${baseUrl}/metrics`);
  const text = await response.text();
  const value = (name: string): number | undefined => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  };
  const hits = value("openesc_status_cache_hits_total");
  const misses = value("openesc_status_cache_misses_total");
  const entries = value("openesc_status_cache_entries");
  const capacity = value("openesc_status_cache_capacity");
  if (hits === undefined || misses === undefined || entries === undefined || capacity === undefined) {
    return undefined;
  }
  return { hits, misses, entries, capacity };
}

function checked(name: string, result: WrkResult): void {
  const failed = failures(result);
  if (failed > 0) {
    throw new Error(
      `${name}: ${failed} of ${result.requests} requests failed: ${JSON.stringify(result.errors)}`,
    );
  }
}

function describe(result: WrkResult, cpuSeconds?: number): string {
  const l = result.latencyMs;
  const cpu =
    cpuSeconds === undefined
      ? ""
      : `; ${fmt((cpuSeconds / Math.max(1, result.requests)) * 1e6, 1)} µs CPU/req`;
  return (
    `${fmt(result.requestsPerSecond, 0)} req/s; latency ms p50 ${fmt(l.p50, 2)}  p90 ${fmt(l.p90, 2)}  ` +
    `p99 ${fmt(l.p99, 2)}  p99.9 ${fmt(l.p999, 2)}  max ${fmt(l.max, 2)}${cpu}`
  );
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function pct(value: number | null): string {
  return value === null ? "n/a" : `${(value * 100).toFixed(1)}%`;
}

function mark(ok: boolean): string {
  return ok ? "ok" : "MISSED";
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
