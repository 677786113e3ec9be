import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Config, ConfigError } from "../config.ts";
import type { Source } from "../connectors/source-record.ts";
import { SyncEngine } from "../connectors/sync-engine.ts";
import type { SyncResult } from "../connectors/sync-report.ts";
import { createServices, createStorage } from "../hub.ts";
import { systemClock } from "../ports/clock.ts";
import type { Storage } from "../ports/storage.ts";
import type { RejectedRowsReport } from "./rejected-rows-report.ts";
import { type ReadProgress, SyncProgress } from "./sync-progress.ts";

/** What `import` and `sync` run for one connector. */
export interface ConnectorJob {
  readonly connector: string;
  readonly organisationId: string;
  readonly source: Source;
  readonly dryRun: boolean;
  readonly graceDays: number;
  readonly batchSize: number;
}

/**
 * The configured hub's store, opened for the length of `work`. A missing embedded store is a usage error
 * (opening it would make an empty one, which holds no organisation to import for).
 */
export async function withHubStore<T>(
  config: Config,
  work: (engine: SyncEngine, storage: Storage) => Promise<T>,
): Promise<T> {
  if (config.databaseUrl === null && !existsSync(join(config.dataDir, "openesc.db"))) {
    throw new ConfigError("OPENESC_DATA_DIR", `holds no store (no openesc.db in ${config.dataDir})`);
  }
  const raw = createStorage(config);
  await raw.init();
  try {
    const { storage } = createServices(config, raw);
    const engine = new SyncEngine(
      { storage, clock: systemClock, timeZone: config.timeZone },
      { escnPrefix: config.escnPrefix },
    );
    return await work(engine, storage);
  } finally {
    await raw.close();
  }
}

/** Runs one connector with a progress display, its problems to `report`, and prints its summary line. */
export async function runConnectorJob(
  engine: SyncEngine,
  job: ConnectorJob,
  report: RejectedRowsReport | undefined,
  reportConnector?: string,
): Promise<SyncResult> {
  const started = performance.now();
  const readable = job.source as Source & { progress?: ReadProgress };
  const progress = new SyncProgress(
    job.connector,
    typeof readable.progress === "function"
      ? () => (readable.progress as ReadProgress).call(readable)
      : undefined,
  );
  let result: SyncResult;
  try {
    result = await engine.run(job.organisationId, job.source, {
      connector: job.connector,
      dryRun: job.dryRun,
      graceDays: job.graceDays,
      batchSize: job.batchSize,
      onProgress: (summary) => progress.update(summary),
      ...(report ? { onProblem: (problem) => report.write(problem, reportConnector) } : {}),
      problemLimit: 0,
    });
  } finally {
    progress.stop();
  }
  process.stdout.write(summaryLine(job, result, (performance.now() - started) / 1000));
  if (result.state === "failed") process.stderr.write(`openesc: ${job.connector}: failed: ${result.error}\n`);
  return result;
}

/** `import: completed, 1200 rows: 1000 created, … (run 7, 2.3 s, 520 rows/s)` */
export function summaryLine(
  job: Pick<ConnectorJob, "connector">,
  result: SyncResult,
  seconds: number,
): string {
  const s = result.summary;
  const what = result.dryRun ? `dry run ${result.state} (nothing written)` : result.state;
  const counts = `${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ${s.missing} missing, ${s.ended} ended, ${s.rejected} rejected`;
  const run = result.runId === null ? "" : `run ${result.runId}, `;
  const rate = Math.round(s.rows / Math.max(seconds, 1e-3));
  return `${job.connector}: ${what}, ${s.rows} rows: ${counts} (${run}${seconds.toFixed(1)} s, ${rate} rows/s)\n`;
}
