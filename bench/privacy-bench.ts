/**
 * `npm run bench -- privacy`: what privacy by design costs (issue 3). In one run:
 *
 * 1. The authenticated card read, `GET /esc-rest/api/v2/cards/{escn}` with an institution's bearer token
 *    and ESCNs drawn uniformly at random from its 100,000 cards, on two hubs, each on its own copy of the
 *    same store: the real hub (`src/main.ts`), and bench/privacy-hub.ts, the same composition with an
 *    audit trail that records nothing and answers serialised by JSON.stringify instead of the projecting
 *    response schemas. wrk drives them in turn with the same settings (hub, baseline, hub, baseline…), so
 *    that whatever else the machine does weighs on both alike. Cost = 1 − hub ÷ baseline throughput. After
 *    the runs, the real hub's store must hold one audit entry per card it answered with 200, as counted by
 *    the hub itself (/metrics): none dropped.
 * 2. The audit chain verification (`verifyAuditTrail`, what `openesc audit verify` runs) over a trail of
 *    1,000,000 entries, against its ceiling measured in the same run: SHA-256 (node:crypto) of the same
 *    canonical byte strings, compared with the stored hashes, and nothing else.
 *
 * See docs/benchmarks.md. Options: --seconds=N (measured time per hub, default 40, in 8 slices),
 * --connections=N (default 32), --without=audit or --without=projection (the baseline goes without that
 * one only, to tell their costs apart; default: without both).
 */
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import Database from "better-sqlite3";
import { loadConfig } from "../src/config.ts";
import { createStorage } from "../src/hub.ts";
import { verifyAuditTrail } from "../src/services/audit-verifier.ts";
import { BENCH_ADMIN_TOKEN, CACHE_DIR, ROOT } from "./bench-constants.ts";
import {
  AUDIT_ENTRY_COUNT,
  auditFixture,
  BENCH_INSTITUTION_TOKEN,
  type CardsFixture,
  cardsFixture,
} from "./privacy-fixtures.ts";
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

/** The two hubs' copies of the card store, made afresh by every run. */
const RUN_DIR = join(CACHE_DIR, "privacy-run");
const RESULTS_FILE = join(CACHE_DIR, "privacy-results.json");
const CARD_PREFIX = "/esc-rest/api/v2/cards/";
const CARD_ROUTE = "/esc-rest/api/v2/cards/:escn";
/** Measurements alternate the two hubs in this many slices. */
const SLICES = 8;
/** Verification rounds, each timing the verifier, the repository read alone, and the raw hashing. */
const VERIFY_ROUNDS = 3;
/** What the figures aim at (issue 3). */
const AIMS = { cost: 0.15 } as const;

type HubName = "hub" | "baseline";
const HUBS: readonly HubName[] = ["hub", "baseline"];

type Feature = "audit" | "projection";

interface Settings {
  /** What the baseline goes without. */
  readonly without: readonly Feature[];
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly threads: number;
}

class UsageError extends Error {}

function settingsOf(args: readonly string[]): Settings {
  let seconds = 40;
  let connections = 32;
  let without: Feature[] = ["audit", "projection"];
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    if (key === "--seconds" && value && /^\d+$/.test(value) && Number(value) >= SLICES)
      seconds = Number(value);
    else if (key === "--connections" && value && /^\d+$/.test(value) && Number(value) >= 1)
      connections = Number(value);
    else if (key === "--without" && (value === "audit" || value === "projection")) without = [value];
    else
      throw new UsageError(
        `unknown option ${arg} (known: --seconds=N (≥ ${SLICES}), --connections=N, --without=audit|projection)`,
      );
  }
  return { without, seconds, warmupSeconds: 5, connections, threads: 1 };
}

interface Slice {
  readonly wrk: WrkResult;
  readonly cpuSeconds: number;
}

interface Measured {
  readonly result: WrkResult;
  readonly cpuMicrosPerRequest: number;
  readonly slices: readonly Slice[];
}

export async function runPrivacyBench(args: readonly string[]): Promise<number> {
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

  // 1. The data sets, both before any measurement.
  const cards = await cardsFixture(CACHE_DIR, log);
  log(
    cards.built
      ? `card store: built (${fmt(cards.info.cards, 0)} cards of one institution) in ${cards.info.buildSeconds.toFixed(1)} s`
      : `card store: reused from the cache (built ${cards.info.builtAt})`,
  );
  const trail = await auditFixture(CACHE_DIR, log);
  log(
    trail.built
      ? `audit trail: built (${fmt(trail.info.entries, 0)} entries)`
      : `audit trail: reused from the cache (${fmt(trail.info.entries, 0)} entries, built ${trail.info.builtAt})`,
  );

  // 2. The card read, on the real hub and on the baseline.
  const read = await measureCardReads(cards, settings, log);

  // 3. The chain verification and its ceiling.
  const verification = await measureVerification(trail.dataDir, log);
  const loadAtEnd = loadAverage();

  const a = read.peak.hub;
  const b = read.peak.baseline;
  const cost = 1 - a.result.requestsPerSecond / b.result.requestsPerSecond;
  const cpuCost = 1 - b.cpuMicrosPerRequest / a.cpuMicrosPerRequest;
  const verifyRatio = verification.verifier.entriesPerSecond / verification.raw.entriesPerSecond;
  const verifyCpuRatio = verification.verifier.entriesPerCpuSecond / verification.raw.entriesPerCpuSecond;
  const results = {
    date: startedAt.toISOString(),
    machine: {
      cpus: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadAtEnd,
    },
    settings: { ...settings, slices: SLICES, sliceSeconds: read.sliceSeconds, verifyRounds: VERIFY_ROUNDS },
    fixtures: { cards: { built: cards.built, ...cards.info }, audit: { built: trail.built, ...trail.info } },
    cardRead: {
      answerBytes: read.answerBytes,
      sameAnswers: read.sameAnswers,
      baselinePlainSerialisers: read.plainSerialisers,
      hub: { ...a, rssMiB: read.memory.hub },
      baseline: { ...b, rssMiB: read.memory.baseline },
      cost,
      cpuCost,
      audit: read.audit,
    },
    verification: { ...verification, ratio: verifyRatio, cpuRatio: verifyCpuRatio },
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);

  const audit = read.audit;
  const rows: string[][] = [
    ["figure", "hub", "baseline / ceiling", "ratio", "aim"],
    [
      "card read throughput, req/s",
      fmt(a.result.requestsPerSecond, 0),
      `${fmt(b.result.requestsPerSecond, 0)} ${settings.without.map((f) => `no ${f}`).join(", ")}`,
      `cost ${fmt(cost, 3)}`,
      settings.without.length === 2 ? `≤ ${AIMS.cost} ${mark(cost <= AIMS.cost)}` : "",
    ],
    [
      "card read latency p50, ms",
      fmt(a.result.latencyMs.p50, 2),
      fmt(b.result.latencyMs.p50, 2),
      fmt(a.result.latencyMs.p50 / b.result.latencyMs.p50, 2),
      "",
    ],
    [
      "card read latency p99, ms",
      fmt(a.result.latencyMs.p99, 2),
      fmt(b.result.latencyMs.p99, 2),
      fmt(a.result.latencyMs.p99 / b.result.latencyMs.p99, 2),
      "",
    ],
    [
      "CPU per card read, µs",
      fmt(a.cpuMicrosPerRequest, 1),
      fmt(b.cpuMicrosPerRequest, 1),
      `cost ${fmt(cpuCost, 3)}`,
      "",
    ],
    [
      "audit entries of card reads",
      fmt(audit.hub.cardReadEntries, 0),
      fmt(audit.baseline.cardReadEntries, 0),
      `= ${fmt(audit.hub.answered200, 0)} answered`,
      mark(audit.complete),
    ],
    [
      "audit chain verification, entries/s",
      fmt(verification.verifier.entriesPerSecond, 0),
      `${fmt(verification.raw.entriesPerSecond, 0)} raw SHA-256`,
      fmt(verifyRatio, 2),
      "",
    ],
    [
      "  the same per CPU second",
      fmt(verification.verifier.entriesPerCpuSecond, 0),
      fmt(verification.raw.entriesPerCpuSecond, 0),
      fmt(verifyCpuRatio, 2),
      "",
    ],
  ];
  log(`\n${table(rows)}`);
  log(
    `\ncost = 1 − hub ÷ baseline throughput (CPU: 1 − baseline ÷ hub CPU per request); ` +
      `${SLICES} alternating slices of ${read.sliceSeconds} s per hub, wrk -t${settings.threads} -c${settings.connections}, after a ${settings.warmupSeconds} s warm-up of each`,
  );
  log(
    `audit: the hub answered ${fmt(audit.hub.answered200, 0)} card reads with 200 (its /metrics), wrk counted ${fmt(audit.hub.wrkAnswered, 0)} ` +
      `(it leaves out those in flight when a run ends); its trail gained ${fmt(audit.hub.entries, 0)} entries, ` +
      `${fmt(audit.hub.cardReadEntries, 0)} of them card reads by the bench token: ${audit.complete ? "none dropped" : "MISMATCH"}; ` +
      `the baseline's trail gained ${fmt(audit.baseline.entries, 0)} for ${fmt(audit.baseline.answered200, 0)} answers`,
  );
  log(
    `verification of ${fmt(AUDIT_ENTRY_COUNT, 0)} entries, median of ${VERIFY_ROUNDS} rounds: verifier ${fmt(verification.verifier.seconds, 2)} s ` +
      `(CPU ${fmt(verification.verifier.cpuSeconds, 2)} s), of which reading the batches through the repository alone takes ` +
      `${fmt(verification.readOnly.seconds, 2)} s (CPU ${fmt(verification.readOnly.cpuSeconds, 2)} s); ` +
      `raw SHA-256 ${fmt(verification.raw.seconds, 2)} s (CPU ${fmt(verification.raw.cpuSeconds, 2)} s)`,
  );
  log(
    `answers: ${fmt(read.answerBytes, 0)} bytes on average, the same content from both hubs on ${read.sameAnswers} sampled cards (keys in another order); ` +
      `the baseline serialised ${read.plainSerialisers} response schemas with JSON.stringify; ` +
      `RSS after the runs: hub ${fmt(read.memory.hub, 0)} MiB, baseline ${fmt(read.memory.baseline, 0)} MiB`,
  );
  log(
    `machine: ${cpus().length} cores; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end` +
      (Math.max(loadAtStart, loadAtEnd) > cpus().length / 2
        ? " (busy: other work shared the CPUs, so absolute figures are low and noisy; the ratios hold up better)"
        : ""),
  );
  log(`figures written to ${RESULTS_FILE.slice(ROOT.length + 1)}`);
  return audit.complete ? 0 : 1;
}

interface AuditCount {
  /** Card reads answered with 200, by the hub's own count (/metrics). */
  readonly answered200: number;
  /** Answers wrk and the answer check counted (less: wrk leaves out requests in flight when it stops). */
  readonly wrkAnswered: number;
  /** Entries the run added to the hub's trail, and those of them that are card reads by the bench token. */
  readonly entries: number;
  readonly cardReadEntries: number;
}

interface CardReads {
  readonly sliceSeconds: number;
  readonly peak: Record<HubName, Measured>;
  readonly answerBytes: number;
  readonly sameAnswers: number;
  readonly plainSerialisers: number;
  readonly memory: Record<HubName, number>;
  readonly audit: Record<HubName, AuditCount> & {
    /** The hub wrote one card read entry per 200 answer, and the baseline one or none as it records or not. */
    readonly complete: boolean;
  };
}

async function measureCardReads(
  fixture: CardsFixture,
  settings: Settings,
  log: (line: string) => void,
): Promise<CardReads> {
  // Each hub on its own copy, so that the audit writes of one leave the other's store as it was.
  rmSync(RUN_DIR, { recursive: true, force: true });
  const dataDirs: Record<HubName, string> = {
    hub: join(RUN_DIR, "hub"),
    baseline: join(RUN_DIR, "baseline"),
  };
  for (const name of HUBS) cpSync(fixture.dataDir, dataDirs[name], { recursive: true });
  const entriesBefore = countAudit(dataDirs.hub, fixture.info.tokenId);

  const servers: Partial<Record<HubName, Server>> = {};
  try {
    servers.hub = await startHub("hub (src/main.ts)", join(ROOT, "src", "main.ts"), dataDirs.hub);
    servers.baseline = await startHub(
      "baseline (bench/privacy-hub.ts)",
      join(ROOT, "bench", "privacy-hub.ts"),
      dataDirs.baseline,
      { PRIVACY_HUB_WITHOUT: settings.without.join(",") },
    );
    const hub = servers.hub;
    const baseline = servers.baseline;
    const composed = await baselineComposition(baseline);
    const withoutProjection = settings.without.includes("projection");
    if (
      composed.auditOff !== settings.without.includes("audit") ||
      composed.plain > 0 !== withoutProjection
    ) {
      throw new Error(
        `the baseline is not composed as asked (${settings.without.join(", ")}): ${composed.line}`,
      );
    }
    const plainSerialisers = composed.plain;

    const sample = sampleEscns(fixture.escnFile, 100);
    const answers = await compareAnswers(hub.baseUrl, baseline.baseUrl, sample);
    log(
      `card answers: ${answers.meanBytes.toFixed(1)} bytes on average, the same from both hubs on ${sample.length} cards (key order aside)`,
    );

    const wrk = (server: Server, seconds: number) =>
      runWrk({
        baseUrl: server.baseUrl,
        pathPrefix: CARD_PREFIX,
        pathSuffix: "",
        escnFile: fixture.escnFile,
        token: BENCH_INSTITUTION_TOKEN,
        threads: settings.threads,
        connections: settings.connections,
        seconds,
        scratchDir: CACHE_DIR,
      });
    const wrkAnswered = { hub: sample.length, baseline: sample.length };
    const sliceSeconds = Math.round(settings.seconds / SLICES);
    log(
      `\ncard reads: wrk -t${settings.threads} -c${settings.connections}, ${SLICES} alternating slices of ${sliceSeconds} s per hub, after a warm-up`,
    );
    for (const name of HUBS) {
      const warm = await wrk(servers[name]!, settings.warmupSeconds);
      checked(name, warm);
      wrkAnswered[name] += warm.requests;
    }
    const slices: Record<HubName, Slice[]> = { hub: [], baseline: [] };
    for (let i = 0; i < SLICES; i++) {
      for (const name of HUBS) {
        const server = servers[name]!;
        const cpuBefore = cpuSecondsOf(server.child.pid!);
        const result = await wrk(server, sliceSeconds);
        const cpuSeconds = cpuSecondsOf(server.child.pid!) - cpuBefore;
        assertRunning(server);
        checked(name, result);
        wrkAnswered[name] += result.requests;
        slices[name].push({ wrk: result, cpuSeconds });
        log(`  ${name.padEnd(8)} slice ${i + 1}/${SLICES}  ${describe(result, cpuSeconds)}`);
      }
    }
    const peak = { hub: pooled(slices.hub), baseline: pooled(slices.baseline) };
    log(`  hub       ${describe(peak.hub.result)}`);
    log(`  baseline  ${describe(peak.baseline.result)}`);

    await sleep(500);
    const memory = {
      hub: memoryOf(hub.child.pid!).rssMiB,
      baseline: memoryOf(baseline.child.pid!).rssMiB,
    };
    const answered = { hub: await answered200(hub.baseUrl), baseline: await answered200(baseline.baseUrl) };
    // Stopping flushes the reads still waiting in the group commit; then the stores are read.
    for (const name of HUBS) await stopServer(servers[name]!);
    const counted = (name: HubName): AuditCount => {
      const after = countAudit(dataDirs[name], fixture.info.tokenId);
      return {
        answered200: answered[name],
        wrkAnswered: wrkAnswered[name],
        entries: after.total - entriesBefore.total,
        cardReadEntries: after.cardReads - entriesBefore.cardReads,
      };
    };
    const audit = { hub: counted("hub"), baseline: counted("baseline") };
    const baselineRecords = !settings.without.includes("audit");
    return {
      sliceSeconds,
      peak,
      answerBytes: answers.meanBytes,
      sameAnswers: sample.length,
      plainSerialisers,
      memory,
      audit: {
        ...audit,
        complete:
          audit.hub.cardReadEntries === audit.hub.answered200 &&
          audit.baseline.entries === (baselineRecords ? audit.baseline.answered200 : 0) &&
          audit.baseline.cardReadEntries === audit.baseline.entries,
      },
    };
  } finally {
    for (const name of HUBS) {
      const server = servers[name];
      if (server) await stopServer(server);
    }
  }
}

async function startHub(
  name: string,
  entry: string,
  dataDir: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Server> {
  const port = await freePort();
  return startServer({
    name,
    args: ["--import", "tsx", entry],
    env: {
      ...withoutHubVariables(process.env),
      PORT: String(port),
      HOST: LOOPBACK,
      OPENESC_DATA_DIR: dataDir,
      OPENESC_PUBLIC_URL: `http://${LOOPBACK}:${port}`,
      OPENESC_LOG_LEVEL: "warn",
      OPENESC_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      ...extraEnv,
    },
    port,
    readyPath: "/readyz",
  });
}

/** The hubs' configuration comes from the benchmark, not from the caller's environment. */
function withoutHubVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) =>
        !name.startsWith("OPENESC_") && !["PORT", "HOST", "DATABASE_URL", "NATS_URL"].includes(name),
    ),
  );
}

/** What the baseline says of itself once it listens: audit recording on or off, plain serialisers. */
async function baselineComposition(
  server: Server,
): Promise<{ auditOff: boolean; plain: number; line: string }> {
  for (let i = 0; i < 50; i++) {
    const match =
      /privacy-hub: audit recording (on|off); (\d+) response serialisers use JSON\.stringify/.exec(
        server.output(),
      );
    if (match?.[1] && match[2])
      return { auditOff: match[1] === "off", plain: Number(match[2]), line: match[0] };
    await sleep(100);
  }
  throw new Error(`the baseline did not say how it is composed; its output:\n${server.output()}`);
}

/** Both hubs answer the same cards with 200 and the same content: only the work behind them differs. */
async function compareAnswers(
  hubUrl: string,
  baselineUrl: string,
  escns: readonly string[],
): Promise<{ meanBytes: number }> {
  let total = 0;
  for (const escn of escns) {
    const [hub, baseline] = await Promise.all(
      [hubUrl, baselineUrl].map(async (base) => {
        const response = await fetch(`${base}${CARD_PREFIX}${escn}`, {
          headers: { authorization: `Bearer ${BENCH_INSTITUTION_TOKEN}` },
        });
        return { status: response.status, text: await response.text() };
      }),
    );
    if (hub?.status !== 200 || baseline?.status !== 200) {
      throw new Error(`card ${escn}: hub ${hub?.status} ${hub?.text}; baseline ${baseline?.status}`);
    }
    // fast-json-stringify writes the keys in the schema's order, JSON.stringify in the view's: same bytes
    // otherwise.
    const view = JSON.parse(hub.text) as { cardNumber?: string };
    if (hub.text.length !== baseline.text.length || !isDeepStrictEqual(view, JSON.parse(baseline.text))) {
      throw new Error(`card ${escn}: the hubs answer differently:\n${hub.text}\n${baseline.text}`);
    }
    if (view.cardNumber !== escn) {
      throw new Error(`card ${escn}: the answer is about another card: ${hub.text}`);
    }
    total += Buffer.byteLength(hub.text);
  }
  return { meanBytes: total / escns.length };
}

/** How many card reads the hub answered with 200, by its own count (the request histogram at /metrics). */
async function answered200(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let count = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("openesc_http_request_duration_seconds_count{")) continue;
    const labels = line.slice(line.indexOf("{") + 1, line.lastIndexOf("}"));
    if (
      labels.includes(`route="${CARD_ROUTE}"`) &&
      labels.includes('status="200"') &&
      labels.includes('method="GET"')
    ) {
      count += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return count;
}

/** Entries in a hub's trail: all, and the card reads made with the bench token. */
function countAudit(dataDir: string, tokenId: string): { total: number; cardReads: number } {
  const db = new Database(join(dataDir, "openesc.db"), { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        `SELECT count(*) AS total,
           coalesce(sum(action = 'read' AND subject_type = 'card' AND token_id = ?), 0) AS cardReads
         FROM audit_log`,
      )
      .get(tokenId) as { total: number; cardReads: number };
    return row;
  } finally {
    db.close();
  }
}

interface Timed {
  /** Wall-clock seconds, median of the rounds. */
  readonly seconds: number;
  readonly entriesPerSecond: number;
  /** CPU seconds of this process (user + system), median of the rounds: less disturbed by other work. */
  readonly cpuSeconds: number;
  readonly entriesPerCpuSecond: number;
  readonly rounds: readonly { readonly seconds: number; readonly cpuSeconds: number }[];
}

interface Verification {
  readonly entries: number;
  readonly verifier: Timed;
  /** The verifier's reads alone: `readAfter` in its batches of 5,000, without checking anything. */
  readonly readOnly: Timed;
  readonly raw: Timed;
}

/** Wall-clock and CPU seconds of `work`. */
async function timing<T>(
  work: () => T | Promise<T>,
): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { value, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function measureVerification(dataDir: string, log: (line: string) => void): Promise<Verification> {
  log(`\naudit chain verification: ${VERIFY_ROUNDS} rounds of verifier, repository read alone, raw SHA-256`);
  const prepared = canonicalBytes(join(dataDir, "openesc.db"));
  // The store as `openesc audit verify` opens it.
  const storage = createStorage(loadConfig({ OPENESC_DATA_DIR: dataDir }));
  await storage.init();
  type Round = { seconds: number; cpuSeconds: number };
  const rounds = { verifier: [] as Round[], readOnly: [] as Round[], raw: [] as Round[] };
  const show = (r: Round) => `${fmt(r.seconds, 2)} s (CPU ${fmt(r.cpuSeconds, 2)} s)`;
  try {
    for (let round = 1; round <= VERIFY_ROUNDS; round++) {
      const verified = await timing(() => verifyAuditTrail(storage));
      if (verified.value.broken || verified.value.entries !== prepared.entries) {
        throw new Error(
          `the verifier checked ${verified.value.entries} entries: ${JSON.stringify(verified.value.broken)}`,
        );
      }
      const read = await timing(() => readAll(storage));
      if (read.value !== prepared.entries) throw new Error(`the repository read ${read.value} entries`);
      const raw = await timing(() => hashAll(prepared));
      rounds.verifier.push(verified);
      rounds.readOnly.push(read);
      rounds.raw.push(raw);
      log(
        `  round ${round}/${VERIFY_ROUNDS}  verifier ${show(verified)}, read alone ${show(read)}, raw SHA-256 ${show(raw)}`,
      );
    }
  } finally {
    await storage.close();
  }
  const timed = (of: Round[]): Timed => {
    const seconds = median(of.map((r) => r.seconds));
    const cpuSeconds = median(of.map((r) => r.cpuSeconds));
    return {
      seconds,
      entriesPerSecond: prepared.entries / seconds,
      cpuSeconds,
      entriesPerCpuSecond: prepared.entries / cpuSeconds,
      rounds: of.map(({ seconds, cpuSeconds }) => ({ seconds, cpuSeconds })),
    };
  };
  return {
    entries: prepared.entries,
    verifier: timed(rounds.verifier),
    readOnly: timed(rounds.readOnly),
    raw: timed(rounds.raw),
  };
}

async function readAll(storage: ReturnType<typeof createStorage>): Promise<number> {
  const audit = storage.read.audit;
  let after = (await audit.anchor()).seq;
  let count = 0;
  for (;;) {
    const batch = await audit.readAfter(after, 5000);
    count += batch.length;
    const last = batch.at(-1);
    if (last) after = last.seq;
    if (batch.length < 5000) return count;
  }
}

/** What each entry's hash covers, as bytes (`auditHash`: previous hash, "\n", canonical JSON), in chunks. */
interface Prepared {
  readonly entries: number;
  readonly chunks: readonly { readonly bytes: Buffer; readonly offsets: Int32Array }[];
  /** The stored hashes, 32 bytes each, in order. */
  readonly hashes: Buffer;
}

function canonicalBytes(file: string): Prepared {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const total = (db.prepare("SELECT count(*) AS n FROM audit_log").get() as { n: number }).n;
    const hashes = Buffer.alloc(total * 32);
    const chunks: { bytes: Buffer; offsets: Int32Array }[] = [];
    const rows = db
      .prepare(
        `SELECT prev_hash, seq, at, organisation_id, token_id, action, purpose, subject_type, subject, person_id, hash
         FROM audit_log ORDER BY seq`,
      )
      .raw()
      .iterate() as IterableIterator<unknown[]>;
    let pending: string[] = [];
    let n = 0;
    const close = () => {
      const offsets = new Int32Array(pending.length + 1);
      let size = 0;
      for (let i = 0; i < pending.length; i++) {
        size += Buffer.byteLength(pending[i]!);
        offsets[i + 1] = size;
      }
      const bytes = Buffer.allocUnsafe(size);
      for (let i = 0; i < pending.length; i++) bytes.write(pending[i]!, offsets[i]!);
      chunks.push({ bytes, offsets });
      pending = [];
    };
    for (const [prevHash, ...fields] of rows) {
      const hash = fields.pop() as string;
      pending.push(`${String(prevHash)}\n${JSON.stringify(fields)}`);
      hashes.write(hash, n * 32, "hex");
      n++;
      if (pending.length === 10_000) close();
    }
    if (pending.length > 0) close();
    if (n !== total) throw new Error(`read ${n} of ${total} audit entries`);
    return { entries: n, chunks, hashes };
  } finally {
    db.close();
  }
}

/** The ceiling: one SHA-256 per entry over its bytes, compared with the stored hash. */
function hashAll(prepared: Prepared): void {
  let k = 0;
  for (const { bytes, offsets } of prepared.chunks) {
    for (let i = 0; i + 1 < offsets.length; i++, k++) {
      const digest = createHash("sha256")
        .update(bytes.subarray(offsets[i]!, offsets[i + 1]!))
        .digest();
      if (digest.compare(prepared.hashes, k * 32, k * 32 + 32) !== 0) {
        throw new Error(`raw hashing: entry ${k + 1} does not match its stored hash`);
      }
    }
  }
}

function pooled(slices: readonly Slice[]): Measured {
  const result = mergeRuns(slices.map((s) => s.wrk));
  const cpu = slices.reduce((t, s) => t + s.cpuSeconds, 0);
  return { result, cpuMicrosPerRequest: (cpu / Math.max(1, result.requests)) * 1e6, slices };
}

function sampleEscns(file: string, n: number): string[] {
  const all = readFileSync(file, "utf8");
  const count = Math.floor(all.length / 37);
  return Array.from({ length: n }, () => {
    const i = Math.floor(Math.random() * count);
    return all.slice(i * 37, i * 37 + 36);
  });
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
    `p99 ${fmt(l.p99, 2)}  max ${fmt(l.max, 2)}${cpu}`
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
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
