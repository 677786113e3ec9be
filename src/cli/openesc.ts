import { Command, InvalidArgumentError } from "commander";
import { ConfigError, loadConfig } from "../config.ts";
import { isOpenEscError } from "../domain/errors.ts";
import { escnPic, escnPrefix, escnTimestamp, generateEscns, parseEscn } from "../domain/escn.ts";
import { parseEsi } from "../domain/esi.ts";
import { parsePic } from "../domain/pic.ts";
import { serveUntilSignalled } from "../start-hub.ts";

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

  return program;
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
