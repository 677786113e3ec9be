/**
 * `npm run bench -- credentials`: verifiable credentials (issue: credentials), in one run:
 *
 * 1. credentials issued per second, end to end through the hub's OpenID4VCI endpoints in process, and
 *    the library alone (`issueEscCredential`); ceiling: a raw node:crypto ES256 signature of a signing
 *    input as long as the credential's;
 * 2. offline verifications per second (`PresentationVerifier`, warm caches, key binding), for holders the
 *    verifier has seen before and for new holders; ceiling: the two raw ES256 checks a presentation holds;
 * 3. a 1,000,000-entry status list: compressed sizes, the time to sign it again after one change (ceiling:
 *    deflate of the same bytes plus one raw ES256 signature), and how long the event loop is blocked then;
 * 4. card change → re-signed status list served, on a hub with delivery running, over loopback;
 *    reference: the PATCH's own round trip.
 *
 * Options: --seconds=N (timed seconds per side for 1 and 2, default 5), --students=N (50),
 * --presentations=N (distinct presentations of warm holders, 2000), --new-holders=N (presentations of new
 * holders, 6000), --runs=N (re-signing runs, 11), --changes=N (20), --poll-ms=N (pause between two GETs of
 * the list, 5). See docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { CACHE_DIR, ROOT } from "./bench-constants.ts";
import { type BenchHub, enrolStudent, onboard, startBenchHub, UNIVERSITY } from "./credentials-hub.ts";
import {
  type IssuanceResult,
  issueEndToEnd,
  issueLibrary,
  type SliceSettings,
} from "./credentials-issuance.ts";
import { type LatencyResult, measureChangeToServed } from "./credentials-latency.ts";
import { median } from "./credentials-measure.ts";
import { type LoopProbe, measureStatusList, type StatusListResult } from "./credentials-status-list.ts";
import { measureVerification, type VerificationResult } from "./credentials-verification.ts";
import { loadAverage } from "./processes.ts";

const RESULTS_FILE = join(CACHE_DIR, "credentials-results.json");
/** What the figures aim at (issue: credentials). */
const AIMS = { verificationRatio: 0.6, changeToServedMs: 1000 } as const;
/** The change → served hub runs with the settings of the credential tests: a 1 s ttl, fast event loops. */
const LATENCY_HUB_ENV = { OPENESC_STATUS_LIST_TTL_SECONDS: "1", OPENESC_EVENT_POLL_MS: "50" };

interface Settings {
  readonly seconds: number;
  readonly students: number;
  readonly presentations: number;
  readonly newHolders: number;
  readonly runs: number;
  readonly changes: number;
  readonly pollMs: number;
}

function settingsOf(args: readonly string[]): Settings | string {
  const s = {
    seconds: 5,
    students: 50,
    presentations: 2000,
    newHolders: 6000,
    runs: 11,
    changes: 20,
    pollMs: 5,
  };
  const keys: Record<string, keyof typeof s> = {
    "--seconds": "seconds",
    "--students": "students",
    "--presentations": "presentations",
    "--new-holders": "newHolders",
    "--runs": "runs",
    "--changes": "changes",
    "--poll-ms": "pollMs",
  };
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    const name = key === undefined ? undefined : keys[key];
    if (!name || !value || !/^\d+$/.test(value) || Number(value) < 1) {
      return `unknown option ${arg} (known: ${Object.keys(keys).join("=N, ")}=N)`;
    }
    s[name] = Number(value);
  }
  return s;
}

export async function runCredentialsBench(args: readonly string[]): Promise<number> {
  const settings = settingsOf(args);
  if (typeof settings === "string") {
    process.stderr.write(`${settings}\n`);
    return 2;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  // Slices of one second, in turn with the ceiling, after half a second of warm-up of each.
  const slices: SliceSettings = { slices: settings.seconds, sliceMs: 1000, warmupMs: 500 };

  log("issuance and verification: a hub with the default settings, in this process");
  let issuance: IssuanceResult[];
  let verification: VerificationResult;
  let t0 = performance.now();
  await withHub({}, async (hub) => {
    const token = await onboard(hub, UNIVERSITY);
    const students = [];
    for (let n = 0; n < settings.students; n++) students.push(await enrolStudent(hub, token, n));
    log(`  enrolled ${students.length} students with a card and consent in ${seconds(t0)} s`);
    const endToEnd = await issueEndToEnd(hub, token, students, slices);
    log(`  ${describeIssuance(endToEnd.result)}`);
    const library = await issueLibrary(hub.baseUrl, slices);
    log(`  ${describeIssuance(library)}`);
    issuance = [endToEnd.result, library];
    t0 = performance.now();
    verification = await measureVerification(hub, endToEnd.credentials, settings, slices);
    const v = verification;
    log(
      `  raw pairs of ES256 checks of ${v.issuerSigningInputBytes} + ${v.keyBindingSigningInputBytes} bytes,` +
        ` in turn with each verification figure`,
    );
    for (const [name, f] of [
      ["warm holders", v.warm],
      ["new holders", v.newHolders],
    ] as const) {
      log(
        `  offline verification, ${name}: ${fmt(f.verified.perSecond, 0)}/s over ${fmt(f.verified.operations, 0)}` +
          ` (${fmt(f.presentations, 0)} distinct presentations of ${fmt(f.presentationBytes, 0)} bytes from` +
          ` ${fmt(f.credentials, 0)} credentials, ${fmt(f.holderKeys, 0)} holder keys); raw pairs` +
          ` ${fmt(f.rawPairs.perSecond, 0)}/s; ratio ${fmt(f.ratio, 2)}; fetches: ${f.fetchesToWarm} to warm,` +
          ` ${f.fetchesWhileTimed} while timed`,
      );
    }
    log(
      `  (made the new holders' keys, credentials and presentations in ${fmt(v.newHolders.prepareSeconds, 1)} s;` +
        ` ${seconds(t0)} s for verification in all)`,
    );
  });

  t0 = performance.now();
  log("\nstatus list of 1,000,000 entries (2 bits), in this process");
  const statusList = await measureStatusList("https://hub.example.org", settings.runs);
  for (const size of statusList.sizes) {
    log(
      `  ${size.fill}: ${fmt(size.packedBytes, 0)} bytes packed, ${fmt(size.deflatedBytes, 0)} deflated,` +
        ` lst ${fmt(size.lstBytes, 0)} bytes, token ${fmt(size.tokenBytes, 0)} bytes`,
    );
  }
  const r = statusList.resign;
  log(
    `  re-signing after one change: median ${fmt(r.medianMs, 1)} ms over ${r.runs} runs` +
      ` (min ${fmt(Math.min(...r.resignMs), 1)}, max ${fmt(Math.max(...r.resignMs), 1)});` +
      ` ceiling median ${fmt(r.ceilingMedianMs, 1)} ms (deflate alone ${fmt(median(r.deflateMs), 1)});` +
      ` ratio ${fmt(r.ratio, 2)} (${seconds(t0)} s)`,
  );
  const gaps = (probes: readonly LoopProbe[]) => probes.map((p) => fmt(p.longestGapMs, 1)).join(", ");
  log(
    `  event loop, longest gap between two 1 ms timers: during a re-sign (encodeAsync) ${gaps(statusList.loopDuringResign)} ms` +
      ` (re-signs of ${statusList.loopDuringResign.map((p) => fmt(p.ms, 0)).join(", ")} ms);` +
      ` idle for as long ${gaps(statusList.loopIdle)} ms; during a synchronous encode()` +
      ` ${fmt(statusList.loopDuringSyncEncode.longestGapMs, 1)} ms`,
  );

  log(
    `\nchange → served: a hub with delivery, ${Object.entries(LATENCY_HUB_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}, over loopback`,
  );
  let latency: LatencyResult;
  t0 = performance.now();
  await withHub(LATENCY_HUB_ENV, async (hub) => {
    const token = await onboard(hub, UNIVERSITY);
    latency = await measureChangeToServed(hub, token, settings.changes, settings.pollMs);
    const l = latency;
    log(
      `  ${l.changes} changes (suspend / resume in turn): from send p50 ${fmt(l.fromSendMs.p50, 1)} p95` +
        ` ${fmt(l.fromSendMs.p95, 1)} max ${fmt(l.fromSendMs.max, 1)} ms; from answer p50 ${fmt(l.fromAnswerMs.p50, 1)}` +
        ` p95 ${fmt(l.fromAnswerMs.p95, 1)} max ${fmt(l.fromAnswerMs.max, 1)} ms; PATCH round trip p50` +
        ` ${fmt(l.patchMs.p50, 1)} p95 ${fmt(l.patchMs.p95, 1)} max ${fmt(l.patchMs.max, 1)} ms` +
        ` (${l.polls} GETs of a list of ${fmt(l.listEntries, 0)} entries, ${fmt(l.listBytes, 0)} bytes; ${seconds(t0)} s)`,
    );
  });

  const loadAtEnd = loadAverage();
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        date: startedAt.toISOString(),
        machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd },
        settings,
        issuance: issuance!,
        verification: verification!,
        statusList,
        latency: latency!,
      },
      null,
      2,
    )}\n`,
  );
  log(`\n${table(rows(issuance!, verification!, statusList, latency!))}`);
  log(
    `machine: ${cpus().length} cores; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end` +
      (Math.max(loadAtStart, loadAtEnd) > cpus().length / 2 ? " (busy: absolute figures are noisy)" : ""),
  );
  log(`figures written to ${RESULTS_FILE.slice(ROOT.length + 1)}`);
  return 0;
}

function rows(
  issuance: readonly IssuanceResult[],
  v: VerificationResult,
  s: StatusListResult,
  l: LatencyResult,
): string[][] {
  const out: string[][] = [["figure", "measured", "ceiling", "ratio", "aim"]];
  for (const i of issuance) {
    out.push([
      `issued/s, ${i.name.startsWith("end") ? "end to end" : "library"}`,
      fmt(i.issued.perSecond, 0),
      `${fmt(i.rawSigns.perSecond, 0)} raw signs`,
      fmt(i.ratio, 3),
      "",
    ]);
  }
  for (const [name, f] of [
    ["warm holders", v.warm],
    ["new holders", v.newHolders],
  ] as const) {
    out.push([
      `offline verifications/s, ${name}`,
      fmt(f.verified.perSecond, 0),
      `${fmt(f.rawPairs.perSecond, 0)} raw pairs`,
      fmt(f.ratio, 2),
      `≥ ${AIMS.verificationRatio} ${f.ratio >= AIMS.verificationRatio ? "ok" : "MISSED"}`,
    ]);
  }
  const realistic = s.sizes[1]!;
  out.push(
    [
      "1M list token, empty, bytes",
      fmt(s.sizes[0]!.tokenBytes, 0),
      `lst ${fmt(s.sizes[0]!.lstBytes, 0)}`,
      "",
      "",
    ],
    [
      "1M list token, realistic, bytes",
      fmt(realistic.tokenBytes, 0),
      `lst ${fmt(realistic.lstBytes, 0)}`,
      "",
      "",
    ],
    [
      "1M list re-sign, median ms",
      fmt(s.resign.medianMs, 1),
      `${fmt(s.resign.ceilingMedianMs, 1)} deflate+sign`,
      fmt(s.resign.ratio, 2),
      "",
    ],
    [
      "1M list re-sign, loop blocked, ms",
      fmt(longestGapOf(s.loopDuringResign), 1),
      `idle ${fmt(longestGapOf(s.loopIdle), 1)}; sync ${fmt(s.loopDuringSyncEncode.longestGapMs, 1)}`,
      "",
      "",
    ],
  );
  for (const [name, key] of [
    ["p50", "p50"],
    ["p95", "p95"],
    ["max", "max"],
  ] as const) {
    out.push([
      `change → served ${name}, ms`,
      fmt(l.fromSendMs[key], 1),
      `${fmt(l.patchMs[key], 1)} PATCH RT`,
      fmt(l.fromSendMs[key] / l.patchMs[key], 2),
      key === "max"
        ? ""
        : `< ${AIMS.changeToServedMs} ms ${l.fromSendMs[key] < AIMS.changeToServedMs ? "ok" : "MISSED"}`,
    ]);
  }
  return out;
}

const longestGapOf = (probes: readonly LoopProbe[]) => Math.max(...probes.map((p) => p.longestGapMs));

async function withHub(env: Readonly<Record<string, string>>, work: (hub: BenchHub) => Promise<void>) {
  const hub = await startBenchHub(env);
  try {
    await work(hub);
  } finally {
    await hub.stop();
  }
}

function describeIssuance(i: IssuanceResult): string {
  return (
    `issued ${i.name}: ${fmt(i.issued.perSecond, 1)}/s (${fmt(i.issued.operations, 0)} credentials of` +
    ` ${fmt(i.credentialBytes, 0)} bytes, ${fmt((1000 * i.issued.seconds) / i.issued.operations, 2)} ms each);` +
    ` raw ES256 signs of ${fmt(i.signingInputBytes, 0)} bytes ${fmt(i.rawSigns.perSecond, 0)}/s; ratio ${fmt(i.ratio, 3)}`
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
