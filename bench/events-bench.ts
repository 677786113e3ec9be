/**
 * `npm run bench -- events`: event delivery (outbox → relay → bus → dispatcher → deliveries → webhook
 * sender), in one run:
 *
 * 1. change committed → webhook received, p50 and p99, on the embedded hub (SQLite + in-process bus) and on
 *    hubs on PostgreSQL + NATS: paced card changes through the HTTP API, each matched to its webhook at a
 *    receiver process on loopback; the ceiling is the round trip of the same write;
 * 2. fan-out: one change to 1,000 subscriptions, against 1,000 signed POSTs from a bare node:http client
 *    at the hub's default webhook concurrency;
 * 3. relay throughput: events/s from the outbox into the deliveries queue, against a raw insert and paged
 *    read of the same rows (SQLite, then PostgreSQL + NATS against COPY).
 *
 * Options: --changes=N (paced changes, default 500), --interval-ms=N (between changes on the embedded hub,
 * default 10), --pg-interval-ms=N (on PostgreSQL + NATS, default 20: its writes cost several times more),
 * --subscriptions=N (fan-out, default 1000), --rounds=N (measured fan-out rounds, default 3),
 * --relay-events=N (default 50,000), --pg-hubs=N (hub processes on PostgreSQL, default 2), --skip-pg,
 * --profile (hubs write V8 CPU profiles to .bench-cache/profiles/). See docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { cpus } from "node:os";
import { join } from "node:path";
import { toCloudEvent } from "../src/domain/cloud-event.ts";
import { CACHE_DIR, ROOT } from "./bench-constants.ts";
import { Arrivals } from "./events-arrivals.ts";
import {
  call,
  type Deployment,
  issueCards,
  onboard,
  startEmbedded,
  startPostgresNats,
  subscribe,
} from "./events-hubs.ts";
import {
  bareFanOut,
  type FanOutRound,
  fanOutRound,
  type LatencyResult,
  measureLatency,
  median,
} from "./events-latency.ts";
import { type RelayResult, relayPostgres, relaySqlite } from "./events-relay.ts";
import { loadAverage } from "./processes.ts";

const RUN_DIR = join(CACHE_DIR, "events-run");
const RESULTS_FILE = join(CACHE_DIR, "events-results.json");
/** The hub's default OPENESC_WEBHOOK_CONCURRENCY: the bare client keeps as many requests in flight. */
const WEBHOOK_CONCURRENCY = 64;
/** Cards the paced changes go round, so that a card changes again only long after its webhook. */
const LATENCY_CARDS = 200;
const WARMUP_CHANGES = 50;
/** More writes than this waiting at once means they queued: the hubs did not keep up with the pace. */
const QUEUED_WRITES = 10;
/** What the figures aim at (issue: event delivery). */
const AIMS = { embeddedP99Ms: 100, postgresP99Ms: 250 } as const;

const UNIVERSITY = {
  id: "920000001",
  kind: "institution",
  name: "Events Bench University",
  country: "FR",
  schacHomeOrganisation: "events-bench.example.org",
};
const SERVICE_PROVIDERS = [1, 2].map((n) => ({
  id: `events-bench-sp-${n}`,
  kind: "service-provider",
  name: `Events Bench Canteen ${n}`,
  country: "BE",
}));

interface Settings {
  readonly changes: number;
  readonly intervalMs: number;
  readonly pgIntervalMs: number;
  readonly subscriptions: number;
  readonly rounds: number;
  readonly relayEvents: number;
  readonly pgHubs: number;
  readonly skipPg: boolean;
  readonly profile: boolean;
}

function settingsOf(args: readonly string[]): Settings | string {
  const s = {
    changes: 500,
    intervalMs: 10,
    pgIntervalMs: 20,
    subscriptions: 1000,
    rounds: 3,
    relayEvents: 50_000,
    pgHubs: 2,
  };
  const keys: Record<string, keyof typeof s> = {
    "--changes": "changes",
    "--interval-ms": "intervalMs",
    "--pg-interval-ms": "pgIntervalMs",
    "--subscriptions": "subscriptions",
    "--rounds": "rounds",
    "--relay-events": "relayEvents",
    "--pg-hubs": "pgHubs",
  };
  let skipPg = false;
  let profile = false;
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    if (key === "--skip-pg" && value === undefined) skipPg = true;
    else if (key === "--profile" && value === undefined) profile = true;
    else {
      const name = key === undefined ? undefined : keys[key];
      if (!name || !value || !/^\d+$/.test(value) || Number(value) < 1) {
        return `unknown option ${arg} (known: ${Object.keys(keys).join("=N, ")}=N, --skip-pg, --profile)`;
      }
      s[name] = Number(value);
    }
  }
  if (s.subscriptions < 4) s.subscriptions = 4;
  return { ...s, skipPg, profile };
}

/** What one deployment measured. */
interface DeploymentResult {
  readonly name: string;
  readonly aimP99Ms: number;
  readonly latency: LatencyResult;
  /** Per change: [sent, ms after the first send; write round trip; webhook − answer], for a look at outliers. */
  readonly series: readonly (readonly [number, number, number | null])[];
  readonly fanOut: { readonly hub: FanOutRound[]; readonly bareMs: number[] };
}

export async function runEventsBench(args: readonly string[]): Promise<number> {
  const settings = settingsOf(args);
  if (typeof settings === "string") {
    process.stderr.write(`${settings}\n`);
    return 2;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  mkdirSync(RUN_DIR, { recursive: true });
  const profileDir = settings.profile ? join(CACHE_DIR, "profiles") : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  const arrivals = await Arrivals.start();
  const deployments: DeploymentResult[] = [];
  const relays: RelayResult[] = [];
  try {
    const plans: { aim: number; intervalMs: number; start: () => Promise<Deployment> }[] = [
      {
        aim: AIMS.embeddedP99Ms,
        intervalMs: settings.intervalMs,
        start: () => startEmbedded(RUN_DIR, profileDir),
      },
    ];
    if (!settings.skipPg) {
      plans.push({
        aim: AIMS.postgresP99Ms,
        intervalMs: settings.pgIntervalMs,
        start: () => startPostgresNats(RUN_DIR, settings.pgHubs, profileDir),
      });
    }
    for (const plan of plans) {
      const deployment = await plan.start();
      try {
        deployments.push(await measureDeployment(deployment, plan, arrivals, settings, log));
      } finally {
        await deployment.stop();
      }
    }

    log(
      "\nrelay throughput: outbox → bus → deliveries queue, webhook sender off; ceiling: raw insert + paged read",
    );
    relays.push(await relaySqlite(RUN_DIR, settings.relayEvents));
    log(`  ${describeRelay(relays[0]!)}`);
    if (!settings.skipPg) {
      relays.push(await relayPostgres(RUN_DIR, settings.relayEvents));
      log(`  ${describeRelay(relays[1]!)}`);
    }
  } finally {
    await arrivals.stop();
  }

  const loadAtEnd = loadAverage();
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        date: startedAt.toISOString(),
        machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd },
        settings,
        deployments,
        relays,
      },
      null,
      2,
    )}\n`,
  );

  const rows: string[][] = [["figure", "measured", "ceiling", "ratio", "aim"]];
  for (const d of deployments) {
    const l = d.latency;
    const short = d.name.startsWith("embedded") ? "embedded" : "PG+NATS";
    rows.push(
      [
        `${short}: change → webhook p50, ms`,
        fmt(l.fromSendMs.p50, 1),
        `${fmt(l.roundTripMs.p50, 1)} write RT`,
        fmt(l.fromSendMs.p50 / l.roundTripMs.p50, 2),
        "",
      ],
      [
        `${short}: change → webhook p99, ms`,
        fmt(l.fromSendMs.p99, 1),
        `${fmt(l.roundTripMs.p99, 1)} write RT`,
        fmt(l.fromSendMs.p99 / l.roundTripMs.p99, 2),
        `< ${d.aimP99Ms} ms ${l.missing === 0 && l.fromSendMs.p99 < d.aimP99Ms ? "ok" : "MISSED"}`,
      ],
    );
    const hub = median(d.fanOut.hub.map((r) => r.fromAnswerMs));
    const bare = median(d.fanOut.bareMs);
    rows.push([
      `${short}: fan-out to ${fmt(settings.subscriptions, 0)}, ms`,
      fmt(hub, 0),
      `${fmt(bare, 0)} bare POSTs`,
      fmt(hub / bare, 2),
      "",
    ]);
  }
  for (const r of relays) {
    rows.push([
      `relay ${r.engine.startsWith("SQLite") ? "SQLite" : "PG+NATS"}, events/s`,
      fmt(r.hubEventsPerSecond, 0),
      `${fmt(r.rawEventsPerSecond, 0)} ${r.engine.startsWith("SQLite") ? "raw insert+read" : "raw COPY+read"}`,
      fmt(r.ratio, 3),
      "",
    ]);
  }
  log(`\n${table(rows)}`);
  log(
    "change → webhook is measured from just before the PATCH is sent (an upper bound: the commit comes later);" +
      " from its 2xx answer (the commit acknowledged, a lower bound) it is:",
  );
  for (const d of deployments) {
    const l = d.latency;
    log(
      `  ${d.name}: p50 ${fmt(l.fromAnswerMs.p50, 1)} ms, p99 ${fmt(l.fromAnswerMs.p99, 1)} ms, max ${fmt(l.fromAnswerMs.max, 1)} ms` +
        ` (${l.changes} changes, one every ${l.intervalMs} ms; at most ${l.maxInFlight} in flight; ${l.missing} missing, ${l.lateSends} sent late, ${l.badSignatures} bad signatures)`,
    );
  }
  log(
    "fan-out is the median over the rounds, from the change's 2xx answer to the last subscription's webhook;" +
      ` the ceiling is the bare client's first send to last answer with ${WEBHOOK_CONCURRENCY} in flight`,
  );
  log(
    `machine: ${cpus().length} cores; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end` +
      (Math.max(loadAtStart, loadAtEnd) > cpus().length / 2 ? " (busy: absolute figures are noisy)" : ""),
  );
  log(`figures written to ${RESULTS_FILE.slice(ROOT.length + 1)}`);
  return 0;
}

async function measureDeployment(
  deployment: Deployment,
  plan: { readonly aim: number; readonly intervalMs: number },
  arrivals: Arrivals,
  settings: Settings,
  log: (line: string) => void,
): Promise<DeploymentResult> {
  const targets = deployment.hubs.map((hub) => hub.baseUrl);
  const base = targets[0]!;
  log(`\n${deployment.name}: ${targets.join(", ")}`);

  // The cast: one university issuing the cards, two service providers following some of them.
  let t0 = performance.now();
  const university = await onboard(base, UNIVERSITY);
  const providers = await Promise.all(SERVICE_PROVIDERS.map((sp) => onboard(base, sp)));
  const escns = await issueCards(base, university, UNIVERSITY.id, LATENCY_CARDS + settings.rounds + 1);
  const latencyCards = escns.slice(0, LATENCY_CARDS);
  const fanOutCards = escns.slice(LATENCY_CARDS);
  log(`  set up 3 organisations and ${escns.length} cards in ${seconds(t0)} s`);

  // 1. Change committed → webhook received.
  const latency = await subscribe(base, university, `${arrivals.baseUrl}/latency`);
  await arrivals.secrets({ "/latency": latency.secret });
  const paced = (changes: number, label: string) =>
    measureLatency({
      targets,
      token: university,
      escns: latencyCards,
      changes,
      intervalMs: plan.intervalMs,
      arrivals,
      path: "/latency",
      label,
      timeoutMs: 30_000,
    });
  await paced(WARMUP_CHANGES, "warm-up");
  const { result, changes } = await paced(settings.changes, "measured");
  const first = Math.min(...changes.map((c) => c.sentAt));
  const round = (ms: number) => Math.round(ms * 100) / 100;
  const series = changes.map(
    (c) =>
      [
        round(c.sentAt - first),
        round(c.answeredAt - c.sentAt),
        c.receivedAt === null ? null : round(c.receivedAt - c.answeredAt),
      ] as const,
  );
  log(
    `  change → webhook, ${result.changes} changes one every ${result.intervalMs} ms to ${targets.length === 1 ? "the hub" : `${targets.length} hubs in turn`}:` +
      ` from send p50 ${fmt(result.fromSendMs.p50, 1)} p99 ${fmt(result.fromSendMs.p99, 1)} ms;` +
      ` from answer p50 ${fmt(result.fromAnswerMs.p50, 1)} p99 ${fmt(result.fromAnswerMs.p99, 1)} ms;` +
      ` write round trip p50 ${fmt(result.roundTripMs.p50, 1)} p99 ${fmt(result.roundTripMs.p99, 1)} ms` +
      (result.missing > 0 ? `; ${result.missing} webhooks MISSING after 30 s` : ""),
  );
  if (result.maxInFlight > QUEUED_WRITES) {
    log(
      `  the writes queued: up to ${result.maxInFlight} waited for their answer at once (${fmt(result.answeredPerSecond, 0)} of` +
        ` ${fmt(result.offeredPerSecond, 0)} changes/s answered), so these latencies include queueing in the hubs`,
    );
  }
  await call(base, "DELETE", `/v1/subscriptions/${latency.id}`, university, undefined, 204);

  // 2. Fan-out: half the subscriptions the issuer's (full events), the rest the providers' card sets.
  t0 = performance.now();
  const owners = [university, ...providers];
  const secrets = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < settings.subscriptions; i = next++) {
      const owner = i < settings.subscriptions / 2 ? 0 : 1 + (i % providers.length);
      const path = `/fan-out/${i}`;
      const created = await subscribe(
        base,
        owners[owner]!,
        arrivals.baseUrl + path,
        owner === 0 ? undefined : fanOutCards,
      );
      secrets.set(path, created.secret);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await arrivals.secrets(Object.fromEntries(secrets));
  log(
    `  made ${fmt(settings.subscriptions, 0)} subscriptions in ${seconds(t0)} s (3 organisations, all matching)`,
  );

  const paths = new Set(secrets.keys());
  const agent = new Agent({ keepAlive: true, maxSockets: WEBHOOK_CONCURRENCY });
  const bareBody = JSON.stringify(
    toCloudEvent(
      {
        id: "00000000-0000-4000-8000-000000000000",
        position: 1,
        type: "card.updated",
        subject: "bare",
        audience: [UNIVERSITY.id],
        data: {
          escn: fanOutCards[0]!,
          issuer: UNIVERSITY.id,
          status: "ACTIVE",
          inactiveReason: null,
          expiresAt: "2030-08-31",
          version: 2,
        },
        occurredAt: new Date().toISOString(),
      },
      "full",
      base,
    ),
  );
  const hubRounds: FanOutRound[] = [];
  const bareRounds: number[] = [];
  try {
    // Round 0 warms both up (connections, compiled code) and is not counted.
    for (let round = 0; round <= settings.rounds; round++) {
      const hub = await fanOutRound({
        target: targets[round % targets.length]!,
        token: university,
        escn: fanOutCards[round]!,
        label: `fan-out ${round}`,
        arrivals,
        paths,
        timeoutMs: 60_000,
      });
      if (hub.received !== paths.size) {
        throw new Error(
          `fan-out round ${round}: ${hub.received} of ${paths.size} subscriptions got the webhook in 60 s`,
        );
      }
      const bare = await bareFanOut({
        receiverUrl: arrivals.baseUrl,
        secrets,
        body: bareBody,
        eventId: `00000000-0000-4000-8000-${String(round).padStart(12, "0")}`,
        concurrency: WEBHOOK_CONCURRENCY,
        agent,
      });
      log(
        `  fan-out ${round === 0 ? "warm-up" : `round ${round}/${settings.rounds}`}: hub ${fmt(hub.fromAnswerMs, 0)} ms from answer` +
          ` (${fmt(hub.fromSendMs, 0)} from send, first after ${fmt(hub.firstMs, 1)}), bare ${fmt(bare, 0)} ms` +
          (hub.badSignatures > 0 ? `; ${hub.badSignatures} BAD SIGNATURES` : ""),
      );
      if (round > 0) {
        hubRounds.push(hub);
        bareRounds.push(bare);
      }
    }
  } finally {
    agent.destroy();
  }
  return {
    name: deployment.name,
    aimP99Ms: plan.aim,
    latency: result,
    series,
    fanOut: { hub: hubRounds, bareMs: bareRounds },
  };
}

function describeRelay(r: RelayResult): string {
  return (
    `${r.engine}: ${fmt(r.events, 0)} events (${fmt(r.deliveries, 0)} deliveries queued) in ${fmt(r.hubSeconds, 2)} s = ` +
    `${fmt(r.hubEventsPerSecond, 0)} events/s; raw ${fmt(r.rawSeconds, 2)} s = ${fmt(r.rawEventsPerSecond, 0)} events/s; ` +
    `ratio ${fmt(r.ratio, 3)} (events written into the outbox beforehand in ${fmt(r.prewriteSeconds, 2)} s, not counted)`
  );
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
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
