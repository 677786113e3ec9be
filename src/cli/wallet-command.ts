import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import {
  exportHolderKey,
  generateHolderKey,
  importHolderKey,
  presentCredential,
  receiveCredential,
  WalletError,
} from "../credentials/holder-wallet.ts";

/**
 * `openesc wallet`: a minimal test wallet, to try issuance and verification end to end from a terminal:
 * make a holder key, receive a credential from an offer, present it to a verifier.
 */
export function registerWalletCommand(program: Command): void {
  const wallet = program
    .command("wallet")
    .description("a minimal test wallet (OpenID4VCI pre-authorized code flow)");

  wallet
    .command("key")
    .description("make a holder key (private JWK) in a file readable only by its owner")
    .requiredOption("--out <file>", "where to write the key")
    .option("--alg <alg>", "ES256 or EdDSA", "ES256")
    .action((options: { out: string; alg: string }) => {
      if (options.alg !== "ES256" && options.alg !== "EdDSA") fail("--alg must be ES256 or EdDSA");
      const key = generateHolderKey(options.alg);
      try {
        writeFileSync(options.out, `${JSON.stringify(exportHolderKey(key))}\n`, { mode: 0o600, flag: "wx" });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        fail(
          code === "EEXIST"
            ? `${options.out} exists; a holder key is never overwritten`
            : `${options.out}: ${code}`,
        );
      }
      process.stdout.write(`holder key written to ${options.out}\n`);
    });

  wallet
    .command("receive <offer>")
    .description("receive a credential: <offer> is the deep link, the credential_offer_uri or the offer JSON")
    .requiredOption("--key <file>", "the holder key (from `openesc wallet key`)")
    .option("--tx-code <code>", "the transaction code the institution handed over")
    .option("--out <file>", "where to write the credential (standard output otherwise)")
    .action(async (offer: string, options: { key: string; txCode?: string; out?: string }) => {
      const holderKey = readKey(options.key);
      try {
        const { credential } = await receiveCredential({
          offer,
          holderKey,
          ...(options.txCode !== undefined ? { txCode: options.txCode } : {}),
        });
        if (options.out) writeFileSync(options.out, `${credential}\n`, { mode: 0o600 });
        else process.stdout.write(`${credential}\n`);
      } catch (error) {
        if (error instanceof WalletError) fail(error.message);
        throw error;
      }
    });

  wallet
    .command("present <credential-file>")
    .description(
      "present a credential to a verifier: chosen disclosures and a key binding for its audience and nonce",
    )
    .requiredOption("--key <file>", "the holder key the credential is bound to")
    .requiredOption("--audience <aud>", "the verifier's identifier")
    .requiredOption("--nonce <nonce>", "the verifier's fresh nonce")
    .option("--disclose <claims>", "comma-separated claims to disclose (all when absent)")
    .action(
      async (file: string, options: { key: string; audience: string; nonce: string; disclose?: string }) => {
        const presentation = await presentCredential(readText(file, "credential"), {
          holderKey: readKey(options.key),
          audience: options.audience,
          nonce: options.nonce,
          ...(options.disclose !== undefined
            ? {
                disclose: options.disclose
                  .split(",")
                  .map((c) => c.trim())
                  .filter(Boolean),
              }
            : {}),
        });
        process.stdout.write(`${presentation}\n`);
      },
    );
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (error) {
    return fail(`cannot read the ${what} in ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

function readKey(file: string) {
  try {
    return importHolderKey(JSON.parse(readText(file, "holder key")));
  } catch {
    return fail(`${file} does not hold a holder key (make one with \`openesc wallet key\`)`);
  }
}

function fail(message: string): never {
  process.stderr.write(`openesc wallet: ${message}\n`);
  process.exit(1);
}
