import type { ConnectorRunCounts } from "../ports/storage.ts";
import type { RecordProblem } from "./source-record.ts";

/** What a run did: rows read, and per record created, updated, unchanged or rejected; persons missing and ended. */
export type SyncSummary = ConnectorRunCounts;

/** How a run ended, with its summary and the first of its problems. */
export interface SyncResult {
  /** The run's number in the store; null for a dry run, which records nothing. */
  readonly runId: number | null;
  readonly dryRun: boolean;
  /** `failed` when the source could not be read to its end or the store failed: nothing was withdrawn. */
  readonly state: "completed" | "failed";
  readonly summary: SyncSummary;
  /** The first problems, up to the run's `problemLimit`; every one went to `onProblem` as it was found. */
  readonly problems: readonly RecordProblem[];
  /** Why the run failed; null when it completed. */
  readonly error: string | null;
}

/** The counts of a run as it goes, and the problems it keeps for its result. */
export class SyncTally {
  rows = 0;
  created = 0;
  updated = 0;
  unchanged = 0;
  missing = 0;
  ended = 0;
  rejected = 0;
  readonly problems: RecordProblem[] = [];
  readonly #problemLimit: number;

  constructor(problemLimit: number) {
    this.#problemLimit = problemLimit;
  }

  /** Counts a rejected record and keeps its problem while there is room. */
  reject(problem: RecordProblem): void {
    this.rejected++;
    if (this.problems.length < this.#problemLimit) this.problems.push(problem);
  }

  count(outcome: "created" | "updated" | "unchanged"): void {
    this[outcome]++;
  }

  summary(): SyncSummary {
    const { rows, created, updated, unchanged, missing, ended, rejected } = this;
    return { rows, created, updated, unchanged, missing, ended, rejected };
  }

  /** The summary with one batch's outcomes added, for the run's record written in that batch's transaction. */
  summaryWith(outcomes: readonly ("created" | "updated" | "unchanged")[], rejected: number): SyncSummary {
    const summary = { ...this.summary() };
    for (const outcome of outcomes) summary[outcome]++;
    summary.rejected += rejected;
    return summary;
  }
}
