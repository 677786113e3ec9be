/**
 * `openesc mirror report --organisation <id>`: what an organisation's mirror to its ESC Router has done,
 * read from the store: the report `GET /v1/mirror` answers, and the refusals of `GET /v1/mirror/refusals`.
 *
 * Exit codes: 0 the report was printed, 2 a usage error (no such mirror, no store).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { ConfigError, loadConfig } from "../config.ts";
import { createServices, createStorage } from "../hub.ts";
import { exitWithUsageCode } from "./usage-exit.ts";

interface ReportOptions {
  organisation: string;
  limit: number;
  dataDir?: string;
}

/** Adds `mirror` to the `openesc` program. */
export function registerMirrorCommand(program: Command): void {
  program
    .command("mirror")
    .description("the mirror of organisations to ESC Routers (OPENESC_MIRRORS, docs/connectors.md)")
    .command("report")
    .description("print an organisation's mirror report and its latest refusals, as JSON")
    .requiredOption("--organisation <id>", "the mirrored organisation (its PIC)")
    .option("--limit <n>", "refusals shown at most", refusalLimit, 100)
    .option("--data-dir <dir>", "the data folder holding openesc.db (default: OPENESC_DATA_DIR)")
    .exitOverride(exitWithUsageCode)
    .action(async (options: ReportOptions) => {
      const env =
        options.dataDir === undefined ? process.env : { ...process.env, OPENESC_DATA_DIR: options.dataDir };
      process.exitCode = await printReport(loadConfig(env), options);
    });
}

async function printReport(config: ReturnType<typeof loadConfig>, options: ReportOptions): Promise<number> {
  // Opening a missing store would make an empty one, and report an empty queue.
  if (config.databaseUrl === null && !existsSync(join(config.dataDir, "openesc.db"))) {
    throw new ConfigError("OPENESC_DATA_DIR", `holds no store (no openesc.db in ${config.dataDir})`);
  }
  const storage = createStorage(config);
  await storage.init();
  try {
    const { mirrors } = createServices(config, storage);
    const report = await mirrors.reportFor(options.organisation);
    const refusals = await mirrors.refusalsFor(options.organisation, { after: 0, limit: options.limit });
    const shown = refusals.items.map((job) => ({
      kind: job.kind,
      subject: job.subject,
      operation: job.operation,
      status: job.lastStatus,
      code: job.lastCode,
      message: job.lastMessage,
      refusedAt: job.settledAt,
    }));
    process.stdout.write(
      `${JSON.stringify({ ...report, refusals: shown, moreRefusals: refusals.next !== null }, null, 2)}\n`,
    );
    return 0;
  } finally {
    await storage.close();
  }
}

function refusalLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new InvalidArgumentError("must be a whole number from 1 to 10000");
  }
  return n;
}
