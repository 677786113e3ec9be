import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { InvalidValueError, OpenEscError } from "../domain/errors.ts";
import { labelledSource } from "./labelled-source.ts";
import type { Source, SourceItem } from "./source-record.ts";
import { type FileFormat, openSource } from "./sources/open-file-source.ts";
import type { SyncEngine } from "./sync-engine.ts";
import type { SyncResult } from "./sync-report.ts";
import { UPLOAD_CONNECTOR } from "./upload-connector.ts";
import { onWrites } from "./written-changes.ts";

export interface UploadImportOptions {
  /** Where uploads wait while they are imported (`<data dir>/uploads`); made when first needed. */
  readonly directory: string;
  /** The largest file taken, in bytes (`OPENESC_IMPORT_MAX_BYTES`). */
  readonly maxBytes: number;
  /** Problems kept in the answer (1000 by default); the count of rejected rows is always exact. */
  readonly problemLimit?: number;
  /** Told when an import has written, so that answers kept in memory (the public status) are dropped. */
  readonly onChanged?: () => void;
}

/** A file as it arrives: its bytes (a stream), and the native format they are in. */
export interface Upload {
  readonly bytes: AsyncIterable<Buffer>;
  readonly format: FileFormat;
}

/** The first problems of an import answered to the uploader: 1,000, like a run keeps by default. */
const PROBLEM_LIMIT = 1000;

/**
 * One-off imports of a file uploaded to the API, in one of the native formats (docs/connectors.md). The
 * bytes go to a temporary file as they arrive, never held whole in memory, and only once the whole file is
 * there (and no larger than `maxBytes`) does the sync engine read it, like `openesc import` reads a file;
 * the file is then deleted, whatever happened. So an upload cut short or too large writes nothing.
 *
 * An upload is recorded under the connector `upload` and withdraws no one: the engine neither remembers
 * whom it saw nor ends anyone missing from it. Ending the students who left takes a configured connector,
 * which reads the whole population every time.
 *
 * ```ts
 * const imports = new UploadImport(engine, { directory: "/var/lib/openesc/uploads", maxBytes: 256 << 20 });
 * const result = await imports.run("999888777", { bytes: part.file, format: "csv" }, { dryRun: false, tokenId });
 * ```
 */
export class UploadImport {
  readonly maxBytes: number;
  readonly #engine: SyncEngine;
  readonly #directory: string;
  readonly #problemLimit: number;
  readonly #onChanged: () => void;

  constructor(engine: SyncEngine, options: UploadImportOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) {
      throw new TypeError("maxBytes must be a positive whole number of bytes");
    }
    this.#engine = engine;
    this.#directory = options.directory;
    this.maxBytes = options.maxBytes;
    this.#problemLimit = options.problemLimit ?? PROBLEM_LIMIT;
    this.#onChanged = options.onChanged ?? (() => undefined);
  }

  /**
   * Receives `upload` and imports it for the organisation. Rejects with `BODY_TOO_LARGE` past `maxBytes`,
   * and with `VALIDATION_FAILED` (field `file`, the source's reason) when the file cannot be read at all
   * (a CSV without the required columns, an empty one): in both cases nothing is written, not even a run.
   * A file that breaks off further on fails the run, which keeps what its batches wrote, as any run does.
   */
  async run(
    organisationId: string,
    upload: Upload,
    options: { readonly dryRun: boolean; readonly tokenId: string | null },
  ): Promise<SyncResult> {
    await mkdir(this.#directory, { recursive: true, mode: 0o700 });
    const file = join(this.#directory, `upload-${randomUUID()}.${upload.format}`);
    let started = false;
    let close = async (): Promise<unknown> => undefined;
    try {
      await this.#receive(upload.bytes, file);
      const read = await opened(labelledSource(openSource(file, upload.format), `upload:${upload.format}`));
      close = read.close;
      const source = read.source;
      started = !options.dryRun;
      return await this.#engine.run(organisationId, source, {
        connector: UPLOAD_CONNECTOR,
        dryRun: options.dryRun,
        withdraw: false,
        tokenId: options.tokenId,
        problemLimit: this.#problemLimit,
        ...(options.dryRun ? {} : { onProgress: onWrites(this.#onChanged) }),
      });
    } finally {
      // A run that failed may have written some batches.
      if (started) this.#onChanged();
      await close();
      await rm(file, { force: true });
    }
  }

  /** Writes the bytes to `file` as they come, counting them; past the limit, stops and refuses. */
  async #receive(bytes: AsyncIterable<Buffer>, file: string): Promise<void> {
    const max = this.maxBytes;
    let size = 0;
    await pipeline(
      bytes,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > max) {
            throw new OpenEscError("BODY_TOO_LARGE", `file: is larger than the ${max} bytes the hub takes`, {
              issues: [{ field: "file", reason: `must be at most ${max} bytes (OPENESC_IMPORT_MAX_BYTES)` }],
            });
          }
          yield chunk;
        }
      },
      createWriteStream(file, { flags: "wx", mode: 0o600 }),
    );
  }
}

/**
 * The source with its first item already read: a file that cannot be read at all (no header, not the
 * format) fails here, before the engine records a run, as a 400 with the source's reason. `close` lets
 * the file go, however far the source was read.
 */
async function opened(source: Source): Promise<{ source: Source; close: () => Promise<unknown> }> {
  const iterator = source.items()[Symbol.asyncIterator]();
  let first: IteratorResult<SourceItem>;
  try {
    first = await iterator.next();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const short = reason.replace(/^upload:\w+: /, "").slice(0, 1000);
    throw new InvalidValueError("VALIDATION_FAILED", "file", short);
  }
  const close = async () => iterator.return?.();
  return {
    source: {
      description: source.description,
      async *items(): AsyncGenerator<SourceItem> {
        try {
          for (let next = first; !next.done; next = await iterator.next()) yield next.value;
        } finally {
          await close();
        }
      },
    },
    close,
  };
}
