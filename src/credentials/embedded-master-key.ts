import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MASTER_KEY_FILE_VARIABLE, type MasterKey, readMasterKey } from "./master-key.ts";

/** The master key file the embedded hub keeps in its data directory when none is configured. */
export const EMBEDDED_MASTER_KEY_FILE = "master.key";

/**
 * The embedded hub's master key: read from `<dataDir>/master.key`, made there (owner-only) on first start.
 * It lives beside the database it protects, so it guards against a copied database file, not a copied
 * directory; a production hub sets `OPENESC_MASTER_KEY` or `OPENESC_MASTER_KEY_FILE` and backs it up apart.
 */
export function embeddedMasterKey(dataDir: string): { key: MasterKey; created: boolean } {
  const file = join(dataDir, EMBEDDED_MASTER_KEY_FILE);
  let created = false;
  mkdirSync(dataDir, { recursive: true });
  try {
    // `wx`: two processes starting at once on one directory end with one key, never two.
    writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return { key: readMasterKey({ [MASTER_KEY_FILE_VARIABLE]: file }), created };
}
