import type { CommanderError } from "commander";

/** Prints a usage error the way every `openesc` command does, and gives its exit code, 2. */
export function usage(message: string): number {
  process.stderr.write(`openesc: ${message}\n`);
  return 2;
}

/** Whether `error` came from the file system (a file that cannot be read or written). */
export function isFileError(error: unknown): boolean {
  return typeof (error as NodeJS.ErrnoException | undefined)?.syscall === "string";
}

/** Commander's own refusals (a missing argument, an unknown option) end with 2; `--help` with 0. */
export function exitWithUsageCode(error: CommanderError): never {
  const informational = error.code === "commander.helpDisplayed" || error.code === "commander.help";
  process.exit(informational ? 0 : 2);
}
