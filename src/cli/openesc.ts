import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Command, InvalidArgumentError } from "commander";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import { isOpenEscError } from "../domain/errors.ts";
import { escnPic, escnPrefix, escnTimestamp, generateEscns, parseEscn } from "../domain/escn.ts";
import { parseEsi } from "../domain/esi.ts";
import { parsePic } from "../domain/pic.ts";
import { createServices, createStorage } from "../hub.ts";
import { verifyAuditTrail } from "../services/audit-verifier.ts";
import { serveUntilSignalled } from "../start-hub.ts";
import { registerImportCommand } from "./import-command.ts";
import { registerMirrorCommand } from "./mirror-command.ts";
import { registerSyncCommand } from "./sync-command.ts";
import { registerVerifyCommand } from "./verify-command.ts";
import { registerWalletCommand } from "./wallet-command.ts";

/** The `openesc` command: run the hub and work with identifiers offline. */
export function buildCli(): Command {
  const program = new Command("openesc")
    .description("OpenESC, the European Student Card exchange hub")
    .showHelpAfterError();

  program
    .command("serve")
    .description("run the hub (configuration from OPENESC_* variables, see docs/configuration.md)")
    .action(async () => serveUntilSignalled(loadConfig()));

  program
    .command("config")
    .description("check the configuration from the environment and print it (the admin token redacted)")
    .action(() => {
      const config = loadConfig();
      process.stdout.write(
        `${JSON.stringify({ ...config, adminToken: config.adminToken ? "(set)" : null }, null, 2)}\n`,
      );
    });

  const escn = program.command("escn").description("European Student Card Numbers");
  escn
    .command("generate")
    .description("print fresh ESCNs for an issuer, one per line")
    .requiredOption("--pic <pic>", "the issuer's 9-digit PIC")
    .option("--prefix <prefix>", "3-digit issuing-server prefix", "001")
    .option("--count <n>", "how many", positiveInteger, 1)
    .action((options: { pic: string; prefix: string; count: number }) => {
      const escns = generateEscns(options.count, {
        prefix: options.prefix,
        pic: parsePic(options.pic, "--pic"),
      });
      process.stdout.write(`${escns.join("\n")}\n`);
    });
  escn
    .command("inspect <escn>")
    .description("check an ESCN and show what it carries")
    .action((value: string) => {
      const parsed = parseEscn(value, "escn");
      const info = {
        escn: parsed,
        prefix: escnPrefix(parsed),
        pic: escnPic(parsed),
        timestamp: escnTimestamp(parsed).toISOString(),
      };
      process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    });

  program
    .command("esi <esi>")
    .description("check a European Student Identifier and show its form and matching key")
    .action((value: string) => {
      const { form, scope, key } = parseEsi(value, "esi");
      process.stdout.write(`${JSON.stringify({ form, scope, key }, null, 2)}\n`);
    });

  const audit = program.command("audit").description("the hash-chained audit trail");
  audit
    .command("verify")
    .description("check the audit trail's hash chain; names the first broken link and exits with 1")
    .option("--data-dir <dir>", "the data folder holding openesc.db (default: OPENESC_DATA_DIR)")
    .action(async (options: { dataDir?: string }) => {
      const env =
        options.dataDir === undefined ? process.env : { ...process.env, OPENESC_DATA_DIR: options.dataDir };
      process.exitCode = await verifyAudit(loadConfig(env));
    });

  program
    .command("retention")
    .description("the purge of what is past its documented period (docs/privacy.md#retention)")
    .command("run")
    .description(
      "purge once now and print what was purged; exits with 1, purging nothing, while another process holds the lease",
    )
    .option("--data-dir <dir>", "the data folder holding openesc.db (default: OPENESC_DATA_DIR)")
    .action(async (options: { dataDir?: string }) => {
      const env =
        options.dataDir === undefined ? process.env : { ...process.env, OPENESC_DATA_DIR: options.dataDir };
      process.exitCode = await runRetention(loadConfig(env));
    });

  registerImportCommand(program);
  registerMirrorCommand(program);
  registerSyncCommand(program);
  registerVerifyCommand(program);
  registerWalletCommand(program);

  return program;
}

/** `openesc retention run`: 0 after a run, 1 when another process holds the lease "retention". */
async function runRetention(config: Config): Promise<number> {
  if (config.databaseUrl === null && !existsSync(join(config.dataDir, "openesc.db"))) {
    throw new ConfigError("OPENESC_DATA_DIR", `holds no store (no openesc.db in ${config.dataDir})`);
  }
  const storage = createStorage(config);
  await storage.init();
  try {
    const { retention } = createServices(config, storage);
    const report = await retention.runOnce();
    // Gives the lease up, so that a hub started next takes it at once.
    await retention.stop();
    if (!report.ran) {
      process.stderr.write(
        "openesc: another process holds the retention lease (a running hub purges on its own); nothing was purged\n",
      );
      return 1;
    }
    const { ran: _, ...purged } = report;
    process.stdout.write(`${JSON.stringify(purged, null, 2)}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}

/** `openesc audit verify`: 0 when the chain holds, 1 when it is broken. */
async function verifyAudit(config: Config): Promise<number> {
  // Opening a missing store would create an empty one, and an empty trail verifies.
  if (config.databaseUrl === null && !existsSync(join(config.dataDir, "openesc.db"))) {
    throw new ConfigError("OPENESC_DATA_DIR", `holds no store (no openesc.db in ${config.dataDir})`);
  }
  const storage = createStorage(config);
  await storage.init();
  try {
    const started = performance.now();
    const result = await verifyAuditTrail(storage);
    const seconds = Math.max((performance.now() - started) / 1000, 1e-6);
    if (result.broken) {
      process.stdout.write(`audit trail broken at entry #${result.broken.seq}: ${result.broken.reason}\n`);
      return 1;
    }
    const span = result.entries === 0 ? "" : ` from #${result.firstSeq} to #${result.lastSeq}`;
    const rate = Math.round(result.entries / seconds);
    process.stdout.write(`audit trail intact: ${result.entries} entries${span} (${rate} entries/s)\n`);
    return 0;
  } finally {
    await storage.close();
  }
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new InvalidArgumentError("must be a whole number from 1 to 100000");
  return n;
}

/** Runs the CLI; a refused value or a bad configuration ends with a one-line message and exit code 2. */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await buildCli().parseAsync([...argv]);
  } catch (error) {
    if (isOpenEscError(error) || error instanceof ConfigError) {
      process.stderr.write(`openesc: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runCli(process.argv);
