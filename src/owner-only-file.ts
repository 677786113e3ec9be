import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { ConfigError } from "./config-error.ts";

/**
 * Reads a file that holds a secret (a key, tokens) named by the configuration variable `variable`, refusing
 * one that is missing, not a file, or open to group or others: a secret in a world-readable file is no
 * longer a secret. The messages name the path and the variable, never the content.
 *
 * @example
 * const text = readOwnerOnlyFile(env.OPENESC_MASTER_KEY_FILE, "OPENESC_MASTER_KEY_FILE");
 */
export function readOwnerOnlyFile(path: string, variable: string): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? "unknown error"})`;
    throw new ConfigError(variable, `names ${path}, which ${why}`);
  }
  try {
    // fstat on the open descriptor, so the file checked is the file read.
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigError(variable, `names ${path}, which is not a file`);
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
      throw new ConfigError(
        variable,
        `names ${path}, which group or others may access (mode ${mode}); make it owner-only (chmod 600)`,
      );
    }
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}
