/**
 * `openesc verify [file]`: checks a presented European Student Card (SD-JWT VC with key binding), from a
 * file or stdin. Fetched issuer metadata and status lists are kept in a cache folder, so that a later run
 * with `--offline` can verify while what it holds is fresh.
 *
 * Exit codes: 0 valid, 1 not valid, 2 a usage error.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Command, CommanderError } from "commander";
import { FileVerifierCache } from "../credentials/file-verifier-cache.ts";
import { PresentationVerifier, type VerificationResult } from "../credentials/presentation-verifier.ts";

interface VerifyOptions {
  audience: string;
  nonce: string;
  trust?: string[];
  cacheDir: string;
  offline?: boolean;
  allowHttp?: boolean;
  json?: boolean;
}

/** Adds `verify` to the `openesc` program. */
export function registerVerifyCommand(program: Command): void {
  program
    .command("verify [file]")
    .description(
      "verify a presented European Student Card (SD-JWT VC with key binding) from a file or stdin; exits with 0 when valid, 1 when not, 2 on a usage error",
    )
    .requiredOption("--audience <aud>", "the verifier identifier the key binding JWT must name (aud)")
    .requiredOption("--nonce <nonce>", "the nonce the key binding JWT must carry")
    .option("--trust <pem-file>", "a trusted CA certificate (PEM); repeatable", collect)
    .option("--cache-dir <dir>", "where fetched issuer metadata and status lists are kept", defaultCacheDir())
    .option("--offline", "never fetch; verify with the cache alone while it is fresh")
    .option("--allow-http", "accept http: issuers and status lists (local testing only)")
    .option("--json", "print the verification result as JSON")
    .exitOverride(exitWithUsageCode)
    .action(async (file: string | undefined, options: VerifyOptions) => {
      process.exitCode = await runVerify(file, options);
    });
}

async function runVerify(file: string | undefined, options: VerifyOptions): Promise<number> {
  let verifier: PresentationVerifier;
  let presentation: string;
  try {
    const trustAnchors = await Promise.all((options.trust ?? []).map(readCertificates));
    verifier = new PresentationVerifier({
      trustAnchors,
      cache: await FileVerifierCache.open(options.cacheDir),
      allowHttp: options.allowHttp === true,
      ...(options.offline ? { fetch: refuseToFetch } : {}),
    });
    presentation = (
      file === undefined || file === "-" ? await readStdin() : await readFile(file, "utf8")
    ).trim();
  } catch (error) {
    process.stderr.write(`openesc: ${(error as Error).message}\n`);
    return 2;
  }
  const result = await verifier.verify(presentation, { audience: options.audience, nonce: options.nonce });
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : describe(result));
  return result.valid ? 0 : 1;
}

async function readCertificates(path: string): Promise<string> {
  const pem = await readFile(path, "utf8");
  try {
    new X509Certificate(pem);
  } catch {
    throw new Error(`--trust ${path} holds no PEM certificate`);
  }
  return pem;
}

function describe(result: VerificationResult): string {
  if (!result.valid) return `not valid: ${result.reason}: ${result.message}\n`;
  // The issuer's identifier is said once; the `issuer` claim (its name) comes with the claims.
  const lines = ["valid", `issued by: ${result.issuer}`, `expires: ${result.expiresAt}`];
  for (const [name, value] of Object.entries(result.claims)) {
    lines.push(`${name}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

async function refuseToFetch(url: string): Promise<never> {
  throw new Error(`offline, ${url} was not fetched`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "openesc", "verifier");
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Commander ends a usage error with 1, which here means "not valid". */
function exitWithUsageCode(error: CommanderError): never {
  const informational = error.code === "commander.helpDisplayed" || error.code === "commander.help";
  process.exit(informational ? 0 : 2);
}
