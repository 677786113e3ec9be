/**
 * The benchmark's side of the webhook subscriber (bench/events-receiver.ts): starts the receiver process,
 * keeps every arrival it reports, and waits for the arrivals a measurement expects.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { ReceiverMessage, SecretsMessage } from "./events-receiver.ts";
import { LOOPBACK } from "./processes.ts";

export type Arrival = Extract<ReceiverMessage, { kind: "arrival" }>;

/** Milliseconds since the epoch, sub-millisecond: comparable with the receiver's times. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

export class Arrivals {
  readonly #child: ChildProcess;
  readonly baseUrl: string;
  readonly #all: Arrival[] = [];
  readonly #waiters = new Set<() => void>();

  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.baseUrl = `http://${LOOPBACK}:${port}`;
    child.on("message", (message: ReceiverMessage) => {
      if (message.kind !== "arrival") return;
      this.#all.push(message);
      for (const wake of [...this.#waiters]) wake();
    });
  }

  static async start(): Promise<Arrivals> {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "events-receiver.ts")],
      {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      },
    );
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("the webhook receiver did not start within 30 s")),
        30_000,
      );
      child.once("exit", (code) => reject(new Error(`the webhook receiver exited (${code})`)));
      child.once("message", (message: ReceiverMessage) => {
        clearTimeout(timer);
        if (message.kind === "ready") resolve(message.port);
        else reject(new Error("the webhook receiver spoke before it was ready"));
      });
    });
    return new Arrivals(child, port);
  }

  /** Tells the receiver the signing secret of each path, and waits until it has them. */
  async secrets(secrets: Readonly<Record<string, string>>): Promise<void> {
    const message: SecretsMessage = { kind: "secrets", secrets };
    await new Promise<void>((resolve, reject) =>
      this.#child.send(message, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** Every arrival so far whose index is at least `from` (use {@link count} to mark a start). */
  since(from: number): readonly Arrival[] {
    return this.#all.slice(from);
  }

  get count(): number {
    return this.#all.length;
  }

  /** Resolves once `done(arrivals since from)` holds; false after `timeoutMs` without it. */
  async waitUntil(
    from: number,
    done: (arrivals: readonly Arrival[]) => boolean,
    timeoutMs: number,
  ): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.since(from))) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const waiters = this.#waiters;
        const timer = setTimeout(wake, left);
        function wake() {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        }
        waiters.add(wake);
      });
    }
    return true;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}
