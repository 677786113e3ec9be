/** Child processes of a benchmark: servers on loopback ports, their readiness, memory and shutdown. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

export const LOOPBACK = "127.0.0.1";

/** A port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface Server {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  /** The last lines the process wrote, for error messages. */
  output(): string;
}

export interface StartOptions {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly port: number;
  /** Path answered with a 2xx once the server is ready. */
  readonly readyPath: string;
  readonly timeoutMs?: number;
}

/** Starts `node <args>` and waits until `readyPath` answers. */
export async function startServer(options: StartOptions): Promise<Server> {
  const child = spawn(process.execPath, [...options.args], {
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const baseUrl = `http://${LOOPBACK}:${options.port}`;
  const server: Server = { name: options.name, child, port: options.port, baseUrl, output: () => tail };
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${options.name} exited before it was ready (${child.exitCode ?? child.signalCode}):\n${tail}`,
      );
    }
    try {
      const response = await fetch(baseUrl + options.readyPath, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return server;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stopServer(server);
  throw new Error(`${options.name} was not ready within ${timeoutMs} ms; its output:\n${tail || "(none)"}`);
}

/** Throws, with the process's last output, when the server has exited. */
export function assertRunning(server: Server): void {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`${server.name} exited (${child.exitCode ?? child.signalCode}):\n${server.output()}`);
  }
}

/** SIGTERM, then SIGKILL if the process is still there after a few seconds. */
export async function stopServer(server: Server): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Resident set size and its peak, in MiB, from /proc/<pid>/status. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]);
  };
  return { rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024 };
}

/**
 * CPU time the process has used so far (user + system, all its threads), in seconds, from
 * /proc/<pid>/stat (in clock ticks, which Linux reports at 100 per second).
 */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The 1-minute load average, to tell whether other work shared the machine during a run. */
export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
