import type { RecordProblem } from "./source-record.ts";
import type { SyncSummary } from "./sync-report.ts";

export interface SyncOptions {
  /**
   * The connector's name (`import`, or a configured connector's): which persons it saw is remembered per
   * connector and organisation, so that one connector's source never withdraws another's students.
   */
  readonly connector: string;
  /** Compare and report, write nothing (not even the run's record). */
  readonly dryRun?: boolean;
  /** Days a person may be missing from the source before their status is ended (30 by default). */
  readonly graceDays?: number;
  /** Records per transaction (500 by default). */
  readonly batchSize?: number;
  /** Told the counts so far after each batch and every `batchSize` rows read. */
  readonly onProgress?: (summary: SyncSummary) => void;
  /** Told each problem as it is found (a report file streams them); awaited. */
  readonly onProblem?: (problem: RecordProblem) => void | Promise<void>;
  /** Problems kept in the result (1000 by default); the count of rejected rows is always exact. */
  readonly problemLimit?: number;
  /**
   * Whether the run remembers whom it found and withdraws those missing (true by default). False for a
   * file uploaded once (`POST /v1/imports`): it writes what it holds, and ends no one.
   */
  readonly withdraw?: boolean;
  /** The API token the run acts through, for its audit entries; absent (null) for a connector the operator runs. */
  readonly tokenId?: string | null;
}
