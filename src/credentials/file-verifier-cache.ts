/**
 * A {@link VerifierCache} in a folder, so that `openesc verify` can run offline on what an earlier run
 * fetched. One file per key, named by the SHA-256 of the key (a URL), so that no URL can choose a path.
 *
 * @example
 * const cache = await FileVerifierCache.open(join(homedir(), ".cache/openesc/verifier"));
 * const verifier = new PresentationVerifier({ cache });
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { VerifierCache } from "./presentation-verifier.ts";

export class FileVerifierCache implements VerifierCache {
  readonly directory: string;

  private constructor(directory: string) {
    this.directory = directory;
  }

  /** Opens the folder, creating it readable by the user alone (what a verifier saw is nobody else's). */
  static async open(directory: string): Promise<FileVerifierCache> {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    return new FileVerifierCache(directory);
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.#fileOf(key), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async set(key: string, value: string): Promise<void> {
    const file = this.#fileOf(key);
    // Written aside and renamed, so a concurrent run never reads half an entry.
    const partial = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(partial, value, { mode: 0o600 });
    await rename(partial, file);
  }

  #fileOf(key: string): string {
    return join(this.directory, `${createHash("sha256").update(key).digest("hex")}.json`);
  }
}
