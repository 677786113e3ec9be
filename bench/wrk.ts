/**
 * Runs wrk against a loopback URL with the random-ESCN script, reads the JSON its done() prints, and merges
 * several runs (slices) into one result.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LOOPBACK } from "./processes.ts";

const LUA_DIR = join(import.meta.dirname, "lua");

export interface WrkResult {
  readonly requests: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  readonly errors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly status: number;
    readonly timeout: number;
  };
  /** Milliseconds. */
  readonly latencyMs: {
    readonly mean: number;
    readonly max: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
  };
  /** The latency distribution as [percentile, ms] points (0 is the minimum, 100 the maximum). */
  readonly quantilesMs: readonly (readonly [number, number])[];
  /** Paced runs: sends that left more than 1 ms after their slot, and the largest lag in ms. */
  readonly lateSends: number;
  readonly maxLagMs: number;
}

export interface WrkOptions {
  /** `http://127.0.0.1:<port>`; nothing else is accepted. */
  readonly baseUrl: string;
  /** Request path: `pathPrefix` + a random ESCN + `pathSuffix`. */
  readonly pathPrefix: string;
  readonly pathSuffix: string;
  /** One 36-character ESCN per line. */
  readonly escnFile: string;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
  /** Total requests per second on a fixed schedule; omitted: as fast as the server answers. */
  readonly rate?: number;
  /** A bearer token every request carries (bench/lua/bearer.lua); omitted: no Authorization header. */
  readonly token?: string;
  /** Where generated scripts (paced, with a token) are written. */
  readonly scratchDir: string;
}

/** Checks that wrk is installed, with a hint when it is not. */
export function findWrk(): void {
  const found = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (found.error) {
    throw new Error("wrk is not installed: install the Debian package `wrk` (apt-get install wrk)");
  }
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const url = new URL(options.baseUrl);
  if (url.hostname !== LOOPBACK) throw new Error(`load tests target ${LOOPBACK} only, not ${url.hostname}`);
  // wrk paces only scripts that define delay(), and a header needs a change of the request template: both
  // are appended to the plain script, whose arguments they read after the path (rate, then token).
  const parts = ["random-escn.lua"];
  const extra: string[] = [];
  if (options.rate !== undefined || options.token !== undefined) {
    extra.push(String(options.rate === undefined ? 0 : options.rate / options.threads));
  }
  if (options.rate !== undefined) parts.push("paced.lua");
  if (options.token !== undefined) {
    if (!/^[\w.~+/=-]+$/.test(options.token))
      throw new Error("the bearer token holds characters wrk would mangle");
    parts.push("bearer.lua");
    extra.push(options.token);
  }
  let script = join(LUA_DIR, "random-escn.lua");
  if (parts.length > 1) {
    script = join(options.scratchDir, `wrk-${parts.map((p) => p.replace(".lua", "")).join("-")}.lua`);
    writeFileSync(script, parts.map((p) => readFileSync(join(LUA_DIR, p), "utf8")).join("\n"));
  }
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--timeout",
    "2s",
    "-s",
    script,
    `${url.origin}/`,
    "--",
    options.escnFile,
    options.pathPrefix,
    options.pathSuffix,
    ...extra,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    // wrk stops by itself after -d; this only bounds a wrk that hangs.
    const guard = setTimeout(() => child.kill("SIGKILL"), (options.seconds + 60) * 1000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(guard);
      if (code === 0) resolve(out);
      else reject(new Error(`wrk exited with ${code}:\n${out}`));
    });
  });
  const line = output.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!line) throw new Error(`wrk printed no WRK_JSON line:\n${output}`);
  const raw = JSON.parse(line.slice("WRK_JSON ".length)) as {
    requests: number;
    duration_us: number;
    errors: WrkResult["errors"];
    latency_us: { mean: number; max: number };
    quantiles_us: [number, number][];
    late_sends?: number;
    max_lag_us?: number;
  };
  const durationSeconds = raw.duration_us / 1e6;
  const quantilesMs = raw.quantiles_us.map(([p, us]) => [p, us / 1000] as const);
  return {
    requests: raw.requests,
    durationSeconds,
    requestsPerSecond: raw.requests / durationSeconds,
    errors: raw.errors,
    latencyMs: {
      mean: raw.latency_us.mean / 1000,
      max: raw.latency_us.max / 1000,
      ...percentiles([{ weight: 1, quantilesMs }]),
    },
    quantilesMs,
    lateSends: raw.late_sends ?? 0,
    maxLagMs: (raw.max_lag_us ?? 0) / 1000,
  };
}

/**
 * Several runs as one: requests and durations add up, and the latency percentiles are those of the
 * runs' distributions pooled (each weighted by its number of requests, interpolated between the
 * reported points).
 */
export function mergeRuns(runs: readonly WrkResult[]): WrkResult {
  if (runs.length === 0) throw new Error("no run to merge");
  const sum = (f: (r: WrkResult) => number) => runs.reduce((total, r) => total + f(r), 0);
  const requests = sum((r) => r.requests);
  const durationSeconds = sum((r) => r.durationSeconds);
  const parts = runs.map((r) => ({ weight: r.requests, quantilesMs: r.quantilesMs }));
  const grid = runs[0]!.quantilesMs.map(([p]) => p);
  return {
    requests,
    durationSeconds,
    requestsPerSecond: requests / durationSeconds,
    errors: {
      connect: sum((r) => r.errors.connect),
      read: sum((r) => r.errors.read),
      write: sum((r) => r.errors.write),
      status: sum((r) => r.errors.status),
      timeout: sum((r) => r.errors.timeout),
    },
    latencyMs: {
      mean: sum((r) => r.latencyMs.mean * r.requests) / Math.max(1, requests),
      max: Math.max(...runs.map((r) => r.latencyMs.max)),
      ...percentiles(parts),
    },
    quantilesMs: grid.map((p) => [p, pooledQuantile(parts, p)] as const),
    lateSends: sum((r) => r.lateSends),
    maxLagMs: Math.max(...runs.map((r) => r.maxLagMs)),
  };
}

interface Part {
  readonly weight: number;
  readonly quantilesMs: readonly (readonly [number, number])[];
}

function percentiles(parts: readonly Part[]) {
  return {
    p50: pooledQuantile(parts, 50),
    p90: pooledQuantile(parts, 90),
    p99: pooledQuantile(parts, 99),
    p999: pooledQuantile(parts, 99.9),
  };
}

/** The share (0–100) of a run's requests at or below `ms`, from its reported points. */
function cdf(points: readonly (readonly [number, number])[], ms: number): number {
  let below = 0;
  for (let i = 0; i < points.length; i++) {
    const [p, v] = points[i]!;
    if (v > ms) {
      if (i === 0) return 0;
      const [p0, v0] = points[i - 1]!;
      return v === v0 ? p0 : p0 + ((p - p0) * (ms - v0)) / (v - v0);
    }
    below = p;
  }
  return below;
}

/** The latency at percentile `p` of the pooled runs: the smallest ms whose pooled share reaches p. */
function pooledQuantile(parts: readonly Part[], p: number): number {
  const total = parts.reduce((t, part) => t + part.weight, 0);
  if (total === 0) return 0;
  const share = (ms: number) =>
    parts.reduce((t, part) => t + part.weight * cdf(part.quantilesMs, ms), 0) / total;
  let low = Math.min(...parts.map((part) => part.quantilesMs[0]![1]));
  let high = Math.max(...parts.map((part) => part.quantilesMs.at(-1)![1]));
  for (let i = 0; i < 60 && high - low > 1e-4; i++) {
    const mid = (low + high) / 2;
    if (share(mid) >= p) high = mid;
    else low = mid;
  }
  return high;
}

/** Requests that did not get a 2xx answer or no answer at all. */
export function failures(result: WrkResult): number {
  const e = result.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}
