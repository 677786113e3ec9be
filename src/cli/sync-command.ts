/**
 * `openesc sync <config.json>`: runs the connectors a configuration lists (files, a directory, a
 * database; see `connectors/sync-config.ts`), one after the other, each through the sync engine as `openesc import`
 * runs a file.
 *
 * Exit codes: 0 every run completed (rejected rows included), 1 a run failed (the others still run), 2 a
 * usage error (the configuration, an unknown organisation).
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { ConfigError, loadConfig } from "../config.ts";
import type { Source } from "../connectors/source-record.ts";
import { openConfiguredSource, SourceConfigError } from "../connectors/sources/open-configured-source.ts";
import { type ConnectorConfig, parseSyncConfig, SyncConfigError } from "../connectors/sync-config.ts";
import type { SyncEngine } from "../connectors/sync-engine.ts";
import { isOpenEscError } from "../domain/errors.ts";
import { runConnectorJob, withHubStore } from "./connector-run.ts";
import { RejectedRowsReport } from "./rejected-rows-report.ts";
import { exitWithUsageCode, isFileError, usage } from "./usage-exit.ts";

interface SyncOptions {
  dryRun?: boolean;
  report?: string;
  only?: string[];
  dataDir?: string;
}

/** Adds `sync` to the `openesc` program. */
export function registerSyncCommand(program: Command): void {
  program
    .command("sync <config>")
    .description(
      "run the connectors a JSON configuration lists (docs/connectors.md); exits with 0 when every run completed, 1 when one failed, 2 on a usage error",
    )
    .option("--dry-run", "compare and report, write nothing")
    .option("--report <file>", "write the rejected rows there, as CSV (connector,row,field,reason,locator)")
    .option("--only <name>", "run only this connector; repeatable", (value: string, all: string[] = []) => [
      ...all,
      value,
    ])
    .option("--data-dir <dir>", "the data folder holding openesc.db (default: OPENESC_DATA_DIR)")
    .exitOverride(exitWithUsageCode)
    .action(async (file: string, options: SyncOptions) => {
      process.exitCode = await runSync(file, options);
    });
}

async function runSync(file: string, options: SyncOptions): Promise<number> {
  let connectors: readonly ConnectorConfig[];
  try {
    connectors = parseSyncConfig(await readFile(file, "utf8")).connectors;
  } catch (error) {
    if (error instanceof SyncConfigError || isFileError(error))
      return usage(`${file}: ${(error as Error).message}`);
    throw error;
  }
  const unknown = (options.only ?? []).filter((name) => !connectors.some((c) => c.name === name));
  if (unknown.length > 0) return usage(`--only names no connector of ${file}: ${unknown.join(", ")}`);
  const chosen = options.only ? connectors.filter((c) => options.only?.includes(c.name)) : connectors;
  let report: RejectedRowsReport | undefined;
  try {
    const env =
      options.dataDir === undefined ? process.env : { ...process.env, OPENESC_DATA_DIR: options.dataDir };
    const config = loadConfig(env);
    return await withHubStore(config, async (engine) => {
      report =
        options.report === undefined
          ? undefined
          : await RejectedRowsReport.open(options.report, { withConnector: true });
      // Each connector runs whatever became of the one before: the worst outcome decides the exit code.
      let code = 0;
      for (const connector of chosen)
        code = Math.max(code, await runOne(engine, connector, file, options, report));
      return code;
    });
  } catch (error) {
    if (isOpenEscError(error) || error instanceof ConfigError || isFileError(error)) {
      return usage(error instanceof Error ? error.message : String(error));
    }
    throw error;
  } finally {
    await report?.close();
  }
}

/** One connector: 0 completed, 1 failed (its source too), 2 misconfigured (an unknown organisation). */
async function runOne(
  engine: SyncEngine,
  connector: ConnectorConfig,
  file: string,
  options: SyncOptions,
  report: RejectedRowsReport | undefined,
): Promise<number> {
  let source: Source;
  try {
    source = await openConfiguredSource(connector.source, dirname(resolve(file)));
  } catch (error) {
    if (!(error instanceof SourceConfigError)) throw error;
    process.stderr.write(`openesc: ${connector.name}: ${error.message}\n`);
    return 1;
  }
  try {
    const result = await runConnectorJob(
      engine,
      {
        connector: connector.name,
        organisationId: connector.organisation,
        source,
        dryRun: options.dryRun === true,
        graceDays: connector.graceDays,
        batchSize: connector.batchSize,
      },
      report,
      connector.name,
    );
    return result.state === "completed" ? 0 : 1;
  } catch (error) {
    if (!isOpenEscError(error)) throw error;
    return usage(`${connector.name}: ${error.message}`);
  }
}
