/**
 * The import as an operator runs it: `openesc import <file> --organisation <pic> --data-dir <dir>` (the
 * `bin/openesc.js` command, the sync engine with `CsvSource`, its defaults), a child process timed from
 * start to exit under GNU time, which reports its peak resident memory. The store is a fresh embedded one
 * (migrations applied, the bench institution onboarded) in a temporary folder.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStorage } from "../src/adapters/storage/sqlite/sqlite-storage.ts";
import { ROOT } from "./bench-constants.ts";
import { addBenchInstitution, BENCH_PIC } from "./connectors-fixtures.ts";

const GNU_TIME = "/usr/bin/time";

/** A data folder holding a fresh store with the bench institution; `remove()` deletes it. */
export interface BenchDataDir {
  readonly path: string;
  /** The store file's size with its write-ahead log, in bytes. */
  bytes(): number;
  remove(): void;
}

export async function freshDataDir(): Promise<BenchDataDir> {
  const path = mkdtempSync(join(tmpdir(), "openesc-bench-import-"));
  const file = join(path, "openesc.db");
  const storage = new SqliteStorage({ file });
  await storage.init();
  await addBenchInstitution(storage);
  await storage.close();
  const size = (name: string) => (existsSync(name) ? statSync(name).size : 0);
  return {
    path,
    bytes: () => size(file) + size(`${file}-wal`),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

export interface ImportRun {
  readonly file: string;
  /** The command's summary line. */
  readonly summary: string;
  readonly rows: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly rejected: number;
  /** The run as the command times it (from the store opened to the summary). */
  readonly runSeconds: number;
  /** The process, from spawn to exit (start-up and closing the store included). */
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  /** The command's progress lines (one every 5 s): rows done, and seconds since the run started. */
  readonly progress: readonly { readonly rows: number; readonly seconds: number }[];
}

/** Whether GNU time is there to report the child's peak memory. */
export const gnuTimeAvailable = (): boolean => existsSync(GNU_TIME);

/** Runs `openesc import` on `file`; `progress` receives the command's periodic progress lines. */
export async function runImport(
  dataDir: string,
  file: string,
  progress: (line: string) => void,
): Promise<ImportRun> {
  const timeFile = join(dataDir, "time.txt");
  const env: NodeJS.ProcessEnv = {};
  // The command's settings come from here alone: no store, bus or level of the caller's environment.
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("OPENESC_") && key !== "DATABASE_URL" && key !== "NATS_URL") env[key] = value;
  }
  env["OPENESC_LOG_LEVEL"] = "warn";
  const args = [
    "-f",
    "%e %U %S %M",
    "-o",
    timeFile,
    process.execPath,
    join(ROOT, "bin", "openesc.js"),
    "import",
    file,
    "--organisation",
    BENCH_PIC,
    "--data-dir",
    dataDir,
  ];
  const started = performance.now();
  const child = spawn(GNU_TIME, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const steps: { rows: number; seconds: number }[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    stderr = (stderr + text).slice(-4000);
    for (const line of text.split("\n")) {
      if (!line.startsWith("openesc: ")) continue;
      progress(line);
      // `openesc: import: 104000 rows, 1971 rows/s, …`: the rate is over the run so far.
      const step = /: (\d+) rows, (\d+) rows\/s/.exec(line);
      if (step && Number(step[2]) > 0) {
        steps.push({ rows: Number(step[1]), seconds: Number(step[1]) / Number(step[2]) });
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const wallSeconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`openesc import exited with ${code}:\n${stdout}${stderr}`);
  const [elapsed, user, system, maxKiB] = readFileSync(timeFile, "utf8").trim().split(/\s+/).map(Number);
  rmSync(timeFile);
  const summary = stdout.trim().split("\n").at(-1) ?? "";
  const counts =
    /completed, (\d+) rows: (\d+) created, (\d+) updated, (\d+) unchanged, \d+ missing, \d+ ended, (\d+) rejected \(run \d+, ([\d.]+) s/.exec(
      summary,
    );
  if (!counts) throw new Error(`openesc import did not complete: ${summary}\n${stderr}`);
  const n = (i: number) => Number(counts[i]);
  return {
    file,
    summary,
    rows: n(1),
    created: n(2),
    updated: n(3),
    unchanged: n(4),
    rejected: n(5),
    runSeconds: n(6),
    wallSeconds: Number.isFinite(elapsed) ? (elapsed as number) : wallSeconds,
    cpuSeconds: (user ?? 0) + (system ?? 0),
    peakRssMiB: (maxKiB ?? 0) / 1024,
    progress: steps,
  };
}
