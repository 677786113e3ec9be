/**
 * `npm run bench -- connectors`: the connectors (issue: connectors), in one run:
 *
 * 1. the first import of a native CSV of 1,000,000 students (person, status and card on every row) into a
 *    fresh embedded store by `openesc import`, in a child process: rows per second, against raw prepared
 *    better-sqlite3 inserts of the same rows into the same schema in transactions of the same size (the
 *    ceiling), and, as context, against raw inserts of everything the engine writes for a new student
 *    (the rows, their events, audit entries and presence); the child's peak resident memory;
 * 2. a re-sync of the same file with 1 % of its rows changed, on the store of step 1: its time against
 *    the first import's;
 * 3. an LDAP sync of 100,000 entries from a throwaway slapd into a fresh store, and `LdapSource` reading
 *    alone, both against `ldapsearch` dumping the same entries.
 *
 * Options: --rows=N (rows of the CSV, default 1,000,000), --context-rows=N (rows of the second, slower
 * ceiling and of the CSV read alone, 200,000), --ldap-entries=N (100,000; 0 skips the LDAP part). See
 * docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { CsvSource } from "../src/connectors/sources/csv-source.ts";
import { CACHE_DIR, ROOT } from "./bench-constants.ts";
import { type CsvFixture, csvFixture } from "./connectors-fixtures.ts";
import { freshDataDir, gnuTimeAvailable, type ImportRun, runImport } from "./connectors-import.ts";
import {
  LDAP_PAGE_SIZE,
  ldapsearchDump,
  ldapUnavailable,
  readLdap,
  startLdapServer,
  syncLdap,
  type Timed,
} from "./connectors-ldap.ts";
import { type RawInsertResult, rawInserts } from "./connectors-raw.ts";
import { loadAverage } from "./processes.ts";

const RESULTS_FILE = join(CACHE_DIR, "connectors-results.json");
/** What the figures aim at (issue: connectors). */
const AIMS = { importRatio: 0.3, peakRssMB: 400, resyncSpeedup: 10 } as const;
/** `openesc import`'s default batch: the raw ceilings write in transactions of the same size. */
const IMPORT_BATCH = 500;

interface Settings {
  readonly rows: number;
  readonly contextRows: number;
  readonly ldapEntries: number;
}

function settingsOf(args: readonly string[]): Settings | string {
  const s = { rows: 1_000_000, contextRows: 200_000, ldapEntries: 100_000 };
  const keys: Record<string, { name: keyof typeof s; min: number }> = {
    "--rows": { name: "rows", min: 1 },
    "--context-rows": { name: "contextRows", min: 1 },
    "--ldap-entries": { name: "ldapEntries", min: 0 },
  };
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    const option = key === undefined ? undefined : keys[key];
    if (!option || !value || !/^\d+$/.test(value) || Number(value) < option.min) {
      return `unknown option ${arg} (known: --rows=N, --context-rows=N, --ldap-entries=N)`;
    }
    s[option.name] = Number(value);
  }
  return { ...s, contextRows: Math.min(s.contextRows, s.rows) };
}

interface LdapResult {
  readonly entries: number;
  readonly startSeconds: number;
  readonly ldapsearch: readonly Timed<number>[];
  readonly read: readonly Timed<{ records: number; problems: number }>[];
  readonly sync: Timed<{ rows: number; created: number; rejected: number }>;
}

export async function runConnectorsBench(args: readonly string[]): Promise<number> {
  const settings = settingsOf(args);
  if (typeof settings === "string") {
    process.stderr.write(`${settings}\n`);
    return 2;
  }
  if (!gnuTimeAvailable()) {
    process.stderr.write(
      "/usr/bin/time (GNU time) is needed for the import's peak memory: apt-get install time\n",
    );
    return 2;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  const benchStarted = performance.now();

  log(
    `fixture: a native CSV of ${fmt(settings.rows, 0)} students, and the same with 1 % of its rows changed`,
  );
  const fixture = csvFixture(CACHE_DIR, settings.rows, log);
  log(
    `  ${fixture.built ? "made" : "reused"} ${fixture.path.slice(ROOT.length + 1)} (${fmt(fixture.bytes / 1e6, 0)} MB;` +
      ` ${fmt(fixture.changedRows, 0)} rows changed in the second) in ${fmt(fixture.buildSeconds, 1)} s`,
  );

  log(`\nceiling: raw prepared inserts of person, link, status and card, ${IMPORT_BATCH} rows a transaction`);
  const plain = await rawInserts(fixture.path, settings.rows, IMPORT_BATCH, "plain");
  log(`  ${describeRaw(plain)}`);

  log("\nfirst import: openesc import into a fresh embedded store (child process, GNU time)");
  const dataDir = await freshDataDir();
  let first: ImportRun;
  let resync: ImportRun;
  let storeBytes: number;
  try {
    first = await runImport(
      dataDir.path,
      fixture.path,
      every(6, (line) => log(`  ${line}`)),
    );
    log(`  ${describeImport(first)}`);
    check(first, { created: settings.rows });
    storeBytes = dataDir.bytes();
    log(`  the store holds ${fmt(storeBytes / 1e9, 2)} GB (the file and its write-ahead log)`);
    log("\nre-sync: the same file with 1 % of its rows changed, on that store");
    resync = await runImport(
      dataDir.path,
      fixture.changedPath,
      every(6, (line) => log(`  ${line}`)),
    );
    log(`  ${describeImport(resync)}`);
    check(resync, { updated: fixture.changedRows, unchanged: settings.rows - fixture.changedRows });
  } finally {
    dataDir.remove();
  }

  log(
    `\ncontext: raw inserts of everything the engine writes for a new student, the first ${fmt(settings.contextRows, 0)} rows`,
  );
  const everything = await rawInserts(fixture.path, settings.contextRows, IMPORT_BATCH, "everything");
  log(`  ${describeRaw(everything)}`);
  const firstRows = rateOver(first!, settings.contextRows);
  log(
    `  the first import's own first ${fmt(firstRows.rows, 0)} rows (from its progress lines): ${fmt(firstRows.seconds, 1)} s,` +
      ` ${fmt(firstRows.rowsPerSecond, 0)} rows/s`,
  );
  const csvAlone = await readCsvAlone(fixture, settings.contextRows);
  log(
    `  CsvSource reading the changed file alone: ${fmt(csvAlone.rowsPerSecond, 0)} rows/s over ${fmt(csvAlone.rows, 0)} rows` +
      ` (at that rate the whole file takes ${fmt(settings.rows / csvAlone.rowsPerSecond, 1)} s)`,
  );

  let ldap: LdapResult | string;
  const unavailable = settings.ldapEntries === 0 ? "--ldap-entries=0" : ldapUnavailable();
  if (unavailable !== null) {
    ldap = unavailable;
    log(`\nLDAP: skipped (${unavailable})`);
  } else {
    log(
      `\nLDAP: ${fmt(settings.ldapEntries, 0)} student entries in a throwaway slapd (slapadd), pages of ${LDAP_PAGE_SIZE}`,
    );
    ldap = await measureLdap(settings.ldapEntries, log);
  }

  const loadAtEnd = loadAverage();
  const totalSeconds = (performance.now() - benchStarted) / 1000;
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        date: startedAt.toISOString(),
        machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd },
        settings,
        totalSeconds,
        fixture,
        plain,
        first: first!,
        storeBytes: storeBytes!,
        resync: resync!,
        everything,
        firstRows,
        csvAlone,
        ldap,
      },
      null,
      2,
    )}\n`,
  );
  log(`\n${table(rows(plain, everything, firstRows, first!, resync!, ldap))}`);
  log(
    `machine: ${cpus().length} cores; load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end` +
      (Math.max(loadAtStart, loadAtEnd) > cpus().length / 2 ? " (busy: absolute figures are noisy)" : "") +
      `; the run took ${fmt(totalSeconds / 60, 1)} min`,
  );
  log(`figures written to ${RESULTS_FILE.slice(ROOT.length + 1)}`);
  return 0;
}

async function measureLdap(entries: number, log: (line: string) => void): Promise<LdapResult> {
  const { server, startSeconds } = await startLdapServer(entries);
  try {
    log(`  slapadd and start: ${fmt(startSeconds, 1)} s`);
    const ldapsearch: Timed<number>[] = [];
    const read: Timed<{ records: number; problems: number }>[] = [];
    // In turn, so that whatever else the machine does weighs on both alike.
    for (let round = 0; round < 2; round++) {
      ldapsearch.push(await ldapsearchDump(server));
      read.push(await readLdap(server));
    }
    ldapsearch.push(await ldapsearchDump(server));
    for (const dump of ldapsearch) {
      if (dump.value !== entries) throw new Error(`ldapsearch dumped ${dump.value} entries of ${entries}`);
    }
    for (const r of read) {
      if (r.value.records !== entries)
        throw new Error(`LdapSource read ${r.value.records} records of ${entries}`);
    }
    log(
      `  ldapsearch: ${ldapsearch.map((d) => fmt(d.seconds, 2)).join(", ")} s; LdapSource alone:` +
        ` ${read.map((r) => fmt(r.seconds, 2)).join(", ")} s`,
    );
    const sync = await syncLdap(server);
    if (sync.value.created !== entries)
      throw new Error(`the LDAP sync created ${sync.value.created} of ${entries}`);
    log(
      `  LDAP sync into a fresh store: ${fmt(sync.seconds, 1)} s, ${fmt(entries / sync.seconds, 0)} entries/s` +
        ` (${sync.value.created} created, ${sync.value.rejected} rejected)`,
    );
    return { entries, startSeconds, ldapsearch, read, sync };
  } finally {
    await server.stop();
  }
}

/** `CsvSource` reading the changed file's first `rows` rows, doing nothing with them. */
async function readCsvAlone(
  fixture: CsvFixture,
  rows: number,
): Promise<{ rows: number; rowsPerSecond: number }> {
  const started = performance.now();
  let read = 0;
  for await (const _ of new CsvSource({ path: fixture.changedPath }).items()) {
    if (++read >= rows) break;
  }
  return { rows: read, rowsPerSecond: read / ((performance.now() - started) / 1000) };
}

function check(
  run: ImportRun,
  expected: Partial<Pick<ImportRun, "created" | "updated" | "unchanged">>,
): void {
  for (const [key, value] of Object.entries(expected)) {
    const got = run[key as keyof typeof expected];
    if (got !== value) throw new Error(`expected ${value} ${key}, the run says: ${run.summary}`);
  }
  if (run.rejected !== 0) throw new Error(`the run rejected rows: ${run.summary}`);
}

function rows(
  plain: RawInsertResult,
  everything: RawInsertResult,
  firstRows: Rate,
  first: ImportRun,
  resync: ImportRun,
  ldap: LdapResult | string,
): string[][] {
  const importRate = first.rows / first.runSeconds;
  const ratio = importRate / plain.rowsPerSecond;
  const peakMB = (first.peakRssMiB * 1024 * 1024) / 1e6;
  const resyncPeakMB = (resync.peakRssMiB * 1024 * 1024) / 1e6;
  const speedup = first.runSeconds / resync.runSeconds;
  const out: string[][] = [
    ["figure", "measured", "ceiling", "ratio", "aim"],
    [
      "first import, rows/s",
      fmt(importRate, 0),
      `${fmt(plain.rowsPerSecond, 0)} raw inserts`,
      fmt(ratio, 3),
      `≥ ${AIMS.importRatio} ${ratio >= AIMS.importRatio ? "ok" : "MISSED"}`,
    ],
    [
      `first ${fmt(firstRows.rows, 0)} rows ÷ raw incl. events, audit`,
      fmt(firstRows.rowsPerSecond, 0),
      `${fmt(everything.rowsPerSecond, 0)} (first ${fmt(everything.rows, 0)})`,
      fmt(firstRows.rowsPerSecond / everything.rowsPerSecond, 3),
      "",
    ],
    [
      "first import, peak RSS, MB",
      fmt(peakMB, 0),
      "",
      "",
      `< ${AIMS.peakRssMB} ${peakMB < AIMS.peakRssMB ? "ok" : "MISSED"}`,
    ],
    [
      "re-sync 1 % changed, s",
      fmt(resync.runSeconds, 1),
      `first import ${fmt(first.runSeconds, 1)} s`,
      `${fmt(speedup, 2)}×`,
      `≥ ${AIMS.resyncSpeedup}× ${speedup >= AIMS.resyncSpeedup ? "ok" : "MISSED"}`,
    ],
    ["re-sync, peak RSS, MB", fmt(resyncPeakMB, 0), "", "", ""],
  ];
  if (typeof ldap === "string") {
    out.push(["LDAP", "skipped", "", "", ""]);
    return out;
  }
  const dump = median(ldap.ldapsearch.map((d) => d.seconds));
  const read = median(ldap.read.map((r) => r.seconds));
  out.push(
    [
      `LDAP sync of ${fmt(ldap.entries, 0)}, s`,
      fmt(ldap.sync.seconds, 1),
      `ldapsearch ${fmt(dump, 2)} s`,
      fmt(dump / ldap.sync.seconds, 3),
      "",
    ],
    ["LdapSource alone, s", fmt(read, 2), `ldapsearch ${fmt(dump, 2)} s`, fmt(dump / read, 2), ""],
  );
  return out;
}

interface Rate {
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
}

/** The import's rate over its first `rows` rows or a few more: its first progress line past them. */
function rateOver(run: ImportRun, rows: number): Rate {
  const step = run.progress.find((s) => s.rows >= rows) ?? { rows: run.rows, seconds: run.runSeconds };
  return { rows: step.rows, seconds: step.seconds, rowsPerSecond: step.rows / step.seconds };
}

/** `log` for one call in `n`, the first included. */
function every(n: number, log: (line: string) => void): (line: string) => void {
  let calls = 0;
  return (line) => {
    if (calls++ % n === 0) log(line);
  };
}

function describeRaw(r: RawInsertResult): string {
  return `${fmt(r.rows, 0)} rows in ${fmt(r.seconds, 1)} s of transactions: ${fmt(r.rowsPerSecond, 0)} rows/s`;
}

function describeImport(r: ImportRun): string {
  return (
    `${r.rows} rows (${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged) in ${fmt(r.runSeconds, 1)} s:` +
    ` ${fmt(r.rows / r.runSeconds, 0)} rows/s; process ${fmt(r.wallSeconds, 1)} s wall, ${fmt(r.cpuSeconds, 1)} s CPU,` +
    ` peak RSS ${fmt(r.peakRssMiB, 0)} MiB`
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
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
