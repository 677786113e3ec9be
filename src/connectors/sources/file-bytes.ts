import { statSync } from "node:fs";
import { open } from "node:fs/promises";

/** How far a file source has read: enough for a progress bar with an estimated time left. */
export interface SourceProgress {
  readonly bytesRead: number;
  /** The file's size when reading started (or when asked, before that). */
  readonly totalBytes: number;
}

/** Bytes read at a time: large enough for throughput, small enough that memory stays flat. */
const CHUNK_BYTES = 64 * 1024;

/** A file read as a stream of chunks, counting what it has read. */
export class FileBytes {
  readonly #path: string;
  readonly #description: string;
  #bytesRead = 0;
  #totalBytes: number | undefined;

  /** `description` names the source in the message of an error: `csv:students.csv: cannot be opened`. */
  constructor(path: string, description: string) {
    this.#path = path;
    this.#description = description;
  }

  progress(): SourceProgress {
    if (this.#totalBytes === undefined) {
      try {
        this.#totalBytes = statSync(this.#path).size;
      } catch {
        return { bytesRead: this.#bytesRead, totalBytes: 0 };
      }
    }
    return { bytesRead: this.#bytesRead, totalBytes: this.#totalBytes };
  }

  /** The file's bytes, chunk by chunk; throws, naming the source, when the file cannot be opened. */
  async *chunks(): AsyncGenerator<Buffer> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#path, "r");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
      throw new Error(`${this.#description}: the file cannot be opened (${code})`, { cause: error });
    }
    try {
      this.#totalBytes = (await handle.stat()).size;
      this.#bytesRead = 0;
      const stream = handle.createReadStream({ highWaterMark: CHUNK_BYTES, autoClose: false });
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        this.#bytesRead += chunk.length;
        yield chunk;
      }
    } finally {
      await handle.close();
    }
  }
}
