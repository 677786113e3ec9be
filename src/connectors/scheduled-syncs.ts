import type { Clock } from "../ports/clock.ts";
import type { Storage } from "../ports/storage.ts";
import { LeaderLock } from "../services/leader-lock.ts";
import { failingSource, labelledSource, scrubbed } from "./labelled-source.ts";
import type { Source } from "./source-record.ts";
import { openConfiguredSource, type SourceConfig } from "./sources/open-configured-source.ts";
import type { ConnectorConfig } from "./sync-config.ts";
import type { SyncEngine } from "./sync-engine.ts";
import type { SyncResult } from "./sync-report.ts";
import { onWrites } from "./written-changes.ts";

export interface ScheduledSyncsOptions {
  /** The connectors of `OPENESC_SYNC_CONFIG`; those without `everyMinutes` are listed but never run here. */
  readonly connectors: readonly ConnectorConfig[];
  /** The configuration's folder: a file source's relative `path` is read from there. */
  readonly baseDir: string;
  /** Who this process is when it takes a connector's lease. */
  readonly holder: string;
  /** Told when a run has written, so that answers kept in memory (the public status) are dropped. */
  readonly onChanged?: () => void;
}

/** Where each run is reported (a pino logger fits). */
export interface ScheduledSyncLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** What asking for a run did: the run's result, or why there was none. */
export type ScheduledRun =
  | { readonly ran: true; readonly result: SyncResult }
  | { readonly ran: false; readonly reason: "held-elsewhere" | "stopped" };

/** A configured option whose value is a secret, by its name. */
const SECRET_OPTION = /pass|secret|token|credential|key/i;
/** How often a run renews its lease, as a share of the lease's length. */
const RENEWALS_PER_LEASE = 3;

/**
 * The connectors of the hub's sync configuration, run on their schedules: each connector every
 * `everyMinutes` minutes, counted from the start of its last run in the store (any process's), so that a
 * restart neither repeats a run nor skips one. Processes sharing a store take turns through one lease per
 * connector (`sync:<name>`): only its holder runs the connector, and keeps the lease from one run to the
 * next (the lease lasts two periods, and a long run renews it), so that another process takes over only
 * when the holder stops or dies.
 *
 * A run that fails (a source that cannot be reached or read, a store that fails) is recorded `failed` with
 * its reason, cleared of the source's secrets, and logged; the schedule goes on. A connector whose
 * organisation is not registered cannot be recorded: that is logged, at every turn.
 *
 * ```ts
 * const syncs = new ScheduledSyncs(engine, { storage, clock }, { connectors, baseDir, holder });
 * await syncs.check();
 * syncs.start(log);
 * ```
 */
export class ScheduledSyncs {
  readonly #engine: SyncEngine;
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #options: ScheduledSyncsOptions;
  readonly #locks = new Map<string, LeaderLock>();
  readonly #running = new Map<string, Promise<ScheduledRun>>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** Turns under way, which {@link stop} waits for before the store closes. */
  readonly #turns = new Set<Promise<void>>();
  #log: ScheduledSyncLog | undefined;
  #started = false;
  #stopped = false;

  constructor(engine: SyncEngine, ctx: { storage: Storage; clock: Clock }, options: ScheduledSyncsOptions) {
    this.#engine = engine;
    this.#storage = ctx.storage;
    this.#clock = ctx.clock;
    this.#options = options;
    for (const connector of options.connectors) {
      if (connector.everyMinutes === null) continue;
      const ttlMs = 2 * connector.everyMinutes * 60_000;
      this.#locks.set(
        connector.name,
        new LeaderLock(ctx.storage, ctx.clock, `sync:${connector.name}`, { ttlMs, holder: options.holder }),
      );
    }
  }

  /** The configured connectors of an organisation, in the configuration's order. */
  of(organisationId: string): readonly ConnectorConfig[] {
    return this.#options.connectors.filter((c) => c.organisation === organisationId);
  }

  /**
   * Sets up every connector's source without reading it, so that an option that is wrong (or a kind this
   * installation lacks) stops the hub at start rather than failing every run. Rejects naming the connector.
   */
  async check(): Promise<void> {
    for (const connector of this.#options.connectors) {
      try {
        await openConfiguredSource(connector.source, this.#options.baseDir);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`connector ${connector.name}: ${scrubbed(reason, secretsOf(connector.source))}`);
      }
    }
  }

  /** Runs each scheduled connector when it is due, from now until {@link stop}. */
  start(log?: ScheduledSyncLog): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#log = log;
    for (const connector of this.#options.connectors) {
      if (connector.everyMinutes !== null) this.#schedule(connector, 0);
    }
  }

  /** Stops the schedule, waits for the runs under way, and gives their leases up for another process. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all([...this.#turns]);
    await Promise.all([...this.#running.values()].map((run) => run.catch(() => undefined)));
    await Promise.all([...this.#locks.values()].map((lock) => lock.release().catch(() => undefined)));
  }

  /**
   * Runs a scheduled connector now, when this process holds (or takes) its lease; a run of it already under
   * way in this process is joined, not repeated. Rejects only when the run cannot start (an organisation
   * that is not registered, or holds no students).
   */
  runNow(name: string): Promise<ScheduledRun> {
    const connector = this.#options.connectors.find((c) => c.name === name);
    const lock = this.#locks.get(name);
    if (!connector || !lock) throw new TypeError(`no scheduled connector ${name}`);
    let run = this.#running.get(name);
    if (!run) {
      run = this.#run(connector, lock).finally(() => this.#running.delete(name));
      this.#running.set(name, run);
    }
    return run;
  }

  #schedule(connector: ConnectorConfig, delayMs: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      const turn = this.#turn(connector).finally(() => this.#turns.delete(turn));
      this.#turns.add(turn);
    }, delayMs);
    timer.unref();
    this.#timers.set(connector.name, timer);
  }

  /** One turn of a connector's schedule: run it if it is due, then come back when it is due next. */
  async #turn(connector: ConnectorConfig): Promise<void> {
    const periodMs = (connector.everyMinutes ?? 0) * 60_000;
    let nextMs = periodMs;
    const about = { connector: connector.name, organisation: connector.organisation };
    try {
      const dueInMs = await this.#dueIn(connector, periodMs);
      if (dueInMs > 0) {
        nextMs = dueInMs;
      } else {
        const outcome = await this.runNow(connector.name);
        if (outcome.ran) this.#report(connector, outcome.result);
      }
    } catch (error) {
      this.#log?.error({ ...about, err: error }, "scheduled sync could not run; the next turn tries again");
    }
    this.#schedule(connector, nextMs);
  }

  /** Milliseconds until the connector is due: a period after its last run started, in any process. */
  async #dueIn(connector: ConnectorConfig, periodMs: number): Promise<number> {
    const [last] = await this.#storage.read.connectorRuns.listRecent(
      connector.name,
      connector.organisation,
      1,
    );
    if (!last) return 0;
    return Date.parse(last.startedAt) + periodMs - this.#clock.now().getTime();
  }

  async #run(connector: ConnectorConfig, lock: LeaderLock): Promise<ScheduledRun> {
    if (this.#stopped) return { ran: false, reason: "stopped" };
    if (!(await lock.acquire())) return { ran: false, reason: "held-elsewhere" };
    // A run longer than the lease keeps it: another process must not start the same connector meanwhile.
    const renewEveryMs = (2 * (connector.everyMinutes ?? 1) * 60_000) / RENEWALS_PER_LEASE;
    const renewal = setInterval(() => void lock.acquire().catch(() => undefined), renewEveryMs);
    renewal.unref();
    const onChanged = this.#options.onChanged ?? (() => undefined);
    try {
      const result = await this.#engine.run(connector.organisation, await this.#source(connector), {
        connector: connector.name,
        graceDays: connector.graceDays,
        batchSize: connector.batchSize,
        // The problems are not kept: a scheduled run's problems are in no report, and they may name a row.
        problemLimit: 0,
        onProgress: onWrites(onChanged),
      });
      return { ran: true, result };
    } finally {
      clearInterval(renewal);
      // A run that failed may have written some batches.
      onChanged();
    }
  }

  /**
   * The connector's source, under a description without a server's absolute path and with its failures
   * cleared of its secrets; one that cannot be set up becomes a source that fails, so that the run is
   * recorded failed with the reason.
   */
  async #source(connector: ConnectorConfig): Promise<Source> {
    const secrets = secretsOf(connector.source);
    const path = connector.source["path"];
    const label = typeof path === "string" ? `${connector.source.kind}:${path}` : undefined;
    try {
      const source = await openConfiguredSource(connector.source, this.#options.baseDir);
      return labelledSource(source, label ?? source.description, secrets);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return failingSource(label ?? connector.source.kind, scrubbed(reason, secrets));
    }
  }

  #report(connector: ConnectorConfig, result: SyncResult): void {
    const details = {
      connector: connector.name,
      organisation: connector.organisation,
      runId: result.runId,
      state: result.state,
      ...result.summary,
    };
    if (result.state === "completed") this.#log?.info(details, "scheduled sync");
    else this.#log?.warn({ ...details, error: result.error }, "scheduled sync failed");
  }
}

/** The secrets among a source's options: passwords and the like, and the password of any URL. */
function secretsOf(source: SourceConfig): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(source)) {
    if (typeof value !== "string") continue;
    if (SECRET_OPTION.test(name)) secrets.push(value);
    try {
      const password = new URL(value).password;
      if (password !== "") secrets.push(password, decodeURIComponent(password));
    } catch {
      // Not a URL.
    }
  }
  return secrets.filter((s) => s.length > 0);
}
