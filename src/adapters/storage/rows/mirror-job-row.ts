/** Mirror job rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type {
  MirrorJob,
  MirrorJobKind,
  MirrorJobState,
  MirrorOperation,
  MirrorOutcome,
  MirrorSummary,
} from "../../../domain/mirror-job.ts";
import type { Keyed } from "../../../ports/storage.ts";

/** bigint columns may arrive as strings from `pg` (all stay far below 2^53). */
export interface MirrorJobRow {
  id: number | string;
  organisation_id: string;
  kind: MirrorJobKind;
  subject: string;
  subject_key: string;
  position: number | string;
  state: MirrorJobState;
  attempts: number;
  queued_at: string;
  next_attempt_at: string;
  operation: MirrorOperation | null;
  last_attempt_at: string | null;
  last_status: number | null;
  last_code: string | null;
  last_message: string | null;
  settled_at: string | null;
}

/** Every column but the claim's, for a query that names the table `j`. */
export const MIRROR_JOB_COLUMNS = `j.id, j.organisation_id, j.kind, j.subject, j.subject_key, j.position, j.state,
  j.attempts, j.queued_at, j.next_attempt_at, j.operation, j.last_attempt_at, j.last_status, j.last_code,
  j.last_message, j.settled_at`;

export const toMirrorJob = (row: MirrorJobRow): MirrorJob => ({
  id: Number(row.id),
  organisationId: row.organisation_id,
  kind: row.kind,
  subject: row.subject,
  subjectKey: row.subject_key,
  position: Number(row.position),
  state: row.state,
  attempts: row.attempts,
  queuedAt: row.queued_at,
  nextAttemptAt: row.next_attempt_at,
  operation: row.operation,
  lastAttemptAt: row.last_attempt_at,
  lastStatus: row.last_status,
  lastCode: row.last_code,
  lastMessage: row.last_message,
  settledAt: row.settled_at,
});

/** A keyset page from `limit + 1` rows ordered by id: the extra row only tells that there is a next page. */
export function keyedMirrorJobs(rows: readonly MirrorJobRow[], limit: number): Keyed<MirrorJob> {
  const items = rows.slice(0, limit).map(toMirrorJob);
  return { items, next: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

/** An outcome that records an attempt (a postponement records none). */
export type AttemptOutcome = Exclude<MirrorOutcome, { state: "postponed" }>;

/**
 * The values a settlement writes, in this order: state, failed attempts added, next attempt (null keeps
 * it), operation, last attempt, status, code, message, settled at, subject (null keeps it).
 */
export function outcomeValues(outcome: AttemptOutcome): unknown[] {
  const failed = outcome.state !== "done";
  return [
    outcome.state === "failed" ? "pending" : outcome.state,
    failed ? 1 : 0,
    outcome.state === "failed" ? outcome.nextAttemptAt : null,
    outcome.operation,
    outcome.at,
    outcome.status,
    failed ? outcome.code : null,
    failed ? outcome.message : null,
    outcome.state === "failed" ? null : outcome.at,
    outcome.state === "done" ? outcome.subject : null,
  ];
}

/** The summary from `SELECT state, count(*), …` rows and the latest failure's row. */
export function toMirrorSummary(
  counts: readonly { state: MirrorJobState; n: number | string; retrying: number | string }[],
  lastSuccessAt: string | null,
  failure: Pick<MirrorJobRow, "last_attempt_at" | "last_status" | "last_code" | "last_message"> | undefined,
): MirrorSummary {
  const by: Record<MirrorJobState, number> = { pending: 0, done: 0, refused: 0 };
  let retrying = 0;
  for (const row of counts) {
    by[row.state] = Number(row.n);
    retrying += Number(row.retrying);
  }
  return {
    ...by,
    retrying,
    lastSuccessAt,
    lastFailure:
      failure?.last_attempt_at == null
        ? null
        : {
            at: failure.last_attempt_at,
            status: failure.last_status,
            code: failure.last_code,
            message: failure.last_message ?? "",
          },
  };
}
