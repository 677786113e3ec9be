import cliProgress from "cli-progress";
import type { SyncSummary } from "../connectors/sync-report.ts";

/** How far the source has read, when it can tell (file sources: bytes of the file). */
export type ReadProgress = () => { readonly bytesRead: number; readonly totalBytes: number };

/** Seconds between plain progress lines when stderr is not a terminal. */
const PLAIN_EVERY_MS = 5000;

/**
 * Shows a run's progress on stderr: a bar (rows, rows/s, and the time left when the source knows how far
 * it has read) on a terminal, a plain line every few seconds otherwise (a log file, a CI job).
 */
export class SyncProgress {
  readonly #label: string;
  readonly #read: ReadProgress | undefined;
  readonly #stream: NodeJS.WriteStream;
  readonly #started = performance.now();
  readonly #bar: cliProgress.SingleBar | undefined;
  #lastLine = performance.now();

  constructor(label: string, read: ReadProgress | undefined, stream: NodeJS.WriteStream = process.stderr) {
    this.#label = label;
    this.#read = read;
    this.#stream = stream;
    if (stream.isTTY) {
      this.#bar = new cliProgress.SingleBar(
        {
          stream,
          format: read
            ? `${label} [{bar}] {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}`
            : `${label} {rows} rows | {rate} rows/s | {duration_formatted}`,
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(read ? Math.max(read().totalBytes, 1) : 1, 0, { rows: 0, rate: 0 });
    }
  }

  update(summary: SyncSummary): void {
    const rate = Math.round(summary.rows / this.#seconds());
    const read = this.#read?.();
    if (this.#bar) {
      this.#bar.update(read ? read.bytesRead : 0, { rows: summary.rows, rate });
      return;
    }
    const now = performance.now();
    if (now - this.#lastLine < PLAIN_EVERY_MS) return;
    this.#lastLine = now;
    let left = "";
    if (read && read.totalBytes > 0 && read.bytesRead > 0) {
      const seconds = (this.#seconds() * (read.totalBytes - read.bytesRead)) / read.bytesRead;
      left = `, ${Math.round((100 * read.bytesRead) / read.totalBytes)}% read, about ${Math.ceil(seconds)} s left`;
    }
    this.#stream.write(`openesc: ${this.#label}: ${summary.rows} rows, ${rate} rows/s${left}\n`);
  }

  stop(): void {
    if (!this.#bar) return;
    const read = this.#read?.();
    if (read) this.#bar.update(read.totalBytes);
    this.#bar.stop();
  }

  /** Seconds since the start, never zero. */
  #seconds(): number {
    return Math.max((performance.now() - this.#started) / 1000, 1e-3);
  }
}
