/**
 * `openesc import <file> --organisation <id>`: brings one organisation's students in line with a file
 * (the native CSV or JSON Lines, docs/connectors.md), through the sync engine: only what changed is
 * written, a student no longer in the file is ended after the grace period, rejected rows go to a report.
 *
 * Exit codes: 0 the run completed (rejected rows included), 1 it failed, 2 a usage error.
 */
import { existsSync, statSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { ConfigError, loadConfig } from "../config.ts";
import {
  FILE_FORMATS,
  type FileFormat,
  formatOfFile,
  openSource,
} from "../connectors/sources/open-file-source.ts";
import { isOpenEscError } from "../domain/errors.ts";
import { runConnectorJob, withHubStore } from "./connector-run.ts";
import { RejectedRowsReport } from "./rejected-rows-report.ts";
import { exitWithUsageCode, isFileError, usage } from "./usage-exit.ts";

interface ImportOptions {
  organisation: string;
  format?: string;
  dryRun?: boolean;
  report?: string;
  graceDays: number;
  batchSize: number;
  connector: string;
  dataDir?: string;
}

/** Adds `import` to the `openesc` program. */
export function registerImportCommand(program: Command): void {
  program
    .command("import <file>")
    .description(
      "bring an organisation's students in line with a file (CSV or JSON Lines): writes only what changed; a student no longer in the file is ended after the grace period; exits with 0 when the run completed, 1 when it failed, 2 on a usage error",
    )
    .requiredOption("--organisation <id>", "the organisation (PIC) whose students the file lists")
    .option("--format <format>", `${FILE_FORMATS.join(" or ")} (default: from the file name)`)
    .option("--dry-run", "compare and report, write nothing")
    .option("--report <file>", "write the rejected rows there, as CSV (row,field,reason,locator)")
    .option(
      "--grace-days <n>",
      "days a student may be missing from the file before being ended",
      wholeNumber,
      30,
    )
    .option("--batch-size <n>", "records per transaction", wholeNumber, 500)
    .option("--connector <name>", "the name the run is recorded under, which remembers who it saw", "import")
    .option("--data-dir <dir>", "the data folder holding openesc.db (default: OPENESC_DATA_DIR)")
    .exitOverride(exitWithUsageCode)
    .action(async (file: string, options: ImportOptions) => {
      process.exitCode = await runImport(file, options);
    });
}

async function runImport(file: string, options: ImportOptions): Promise<number> {
  const format = (options.format ?? formatOfFile(file)) as FileFormat | undefined;
  if (format === undefined || !(FILE_FORMATS as readonly string[]).includes(format)) {
    return usage(`--format must be ${FILE_FORMATS.join(" or ")} (the file name does not say which)`);
  }
  if (!existsSync(file) || !statSync(file).isFile()) return usage(`${file}: no such file`);
  if (options.batchSize < 1) return usage("--batch-size must be at least 1");
  let report: RejectedRowsReport | undefined;
  try {
    const env =
      options.dataDir === undefined ? process.env : { ...process.env, OPENESC_DATA_DIR: options.dataDir };
    const config = loadConfig(env);
    return await withHubStore(config, async (engine) => {
      report = options.report === undefined ? undefined : await RejectedRowsReport.open(options.report);
      const result = await runConnectorJob(
        engine,
        {
          connector: options.connector,
          organisationId: options.organisation,
          source: openSource(file, format),
          dryRun: options.dryRun === true,
          graceDays: options.graceDays,
          batchSize: options.batchSize,
        },
        report,
      );
      return result.state === "completed" ? 0 : 1;
    });
  } catch (error) {
    // An unknown organisation, a bad configuration, a report that cannot be written: the command's fault.
    if (isOpenEscError(error) || error instanceof ConfigError || isFileError(error)) {
      return usage(error instanceof Error ? error.message : String(error));
    }
    throw error;
  } finally {
    await report?.close();
  }
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError("must be a whole number");
  return n;
}
