/**
 * wrk with a bearer token: the status benchmark's random-ESCN script (bench/lua/random-escn.lua) with
 * bench/lua/bearer.lua appended, which adds `Authorization: Bearer <token>` to every request. The
 * figures come out of that script's done() and are read into bench/wrk.ts's WrkResult, so that its
 * mergeRuns() and failures() apply. Throughput runs only (no paced schedule).
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LOOPBACK } from "./processes.ts";
import { mergeRuns, type WrkResult } from "./wrk.ts";

const LUA_DIR = join(import.meta.dirname, "lua");

export interface BearerWrkOptions {
  /** `http://127.0.0.1:<port>`; nothing else is accepted. */
  readonly baseUrl: string;
  readonly pathPrefix: string;
  readonly pathSuffix: string;
  /** One 36-character ESCN per line. */
  readonly escnFile: string;
  readonly token: string;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
  /** Where the combined script is written. */
  readonly scratchDir: string;
}

export async function runBearerWrk(options: BearerWrkOptions): Promise<WrkResult> {
  const url = new URL(options.baseUrl);
  if (url.hostname !== LOOPBACK) throw new Error(`load tests target ${LOOPBACK} only, not ${url.hostname}`);
  if (!/^[\w.~+/=-]+$/.test(options.token))
    throw new Error("the bearer token holds characters wrk would mangle");
  const script = join(options.scratchDir, "wrk-bearer.lua");
  writeFileSync(
    script,
    `${readFileSync(join(LUA_DIR, "random-escn.lua"), "utf8")}\n${readFileSync(join(LUA_DIR, "bearer.lua"), "utf8")}`,
  );
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
    "0",
    options.token,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const keep = (chunk: Buffer) => {
      out += chunk.toString("utf8");
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
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
  };
  const durationSeconds = raw.duration_us / 1e6;
  // mergeRuns() of one run works out its percentiles from the reported distribution.
  return mergeRuns([
    {
      requests: raw.requests,
      durationSeconds,
      requestsPerSecond: raw.requests / durationSeconds,
      errors: raw.errors,
      latencyMs: {
        mean: raw.latency_us.mean / 1000,
        max: raw.latency_us.max / 1000,
        p50: Number.NaN,
        p90: Number.NaN,
        p99: Number.NaN,
        p999: Number.NaN,
      },
      quantilesMs: raw.quantiles_us.map(([p, us]) => [p, us / 1000] as const),
      lateSends: 0,
      maxLagMs: 0,
    },
  ]);
}
