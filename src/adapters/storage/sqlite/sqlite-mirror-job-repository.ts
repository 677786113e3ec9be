import {
  ERASED_PREFIX,
  type MirrorJob,
  type MirrorJobKind,
  type MirrorJobState,
  type MirrorOutcome,
  type MirrorSummary,
  type NewMirrorJob,
} from "../../../domain/mirror-job.ts";
import type { Keyed, KeysetPage, MirrorClaimRequest, MirrorJobRepository } from "../../../ports/storage.ts";
import {
  keyedMirrorJobs,
  MIRROR_JOB_COLUMNS,
  type MirrorJobRow,
  outcomeValues,
  toMirrorJob,
  toMirrorSummary,
} from "../rows/mirror-job-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

/** Ids per `IN (…)` list: well below SQLite's limit on parameters. */
const CHUNK = 500;

/**
 * The mirror queue on SQLite. Writers run one at a time (`BEGIN IMMEDIATE`), so a claim is a plain read
 * followed by an update, as for webhook deliveries.
 */
export class SqliteMirrorJobRepository implements MirrorJobRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async enqueue(jobs: readonly NewMirrorJob[]): Promise<number> {
    const insert = this.#db.statement(
      `INSERT INTO mirror_jobs (organisation_id, kind, subject, subject_key, position, state, attempts,
         queued_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)
       ON CONFLICT (organisation_id, kind, subject_key) DO UPDATE SET
         subject = excluded.subject, position = excluded.position, state = 'pending', attempts = 0,
         queued_at = excluded.queued_at, next_attempt_at = excluded.next_attempt_at, settled_at = NULL
       WHERE excluded.position > mirror_jobs.position`,
    );
    // An erased ESI: only a job that still holds the ESI can act on it (send the removal).
    const requeue = this.#db.statement(
      `UPDATE mirror_jobs SET position = ?, state = 'pending', attempts = 0, queued_at = ?, next_attempt_at = ?,
         settled_at = NULL
       WHERE organisation_id = ? AND kind = ? AND subject_key = ? AND position < ? AND substr(subject, 1, ?) <> ?`,
    );
    let queued = 0;
    for (const job of jobs) {
      queued +=
        job.subject === null
          ? requeue.run(
              job.position,
              job.queuedAt,
              job.queuedAt,
              job.organisationId,
              job.kind,
              job.subjectKey,
              job.position,
              ERASED_PREFIX.length,
              ERASED_PREFIX,
            ).changes
          : insert.run(
              job.organisationId,
              job.kind,
              job.subject,
              job.subjectKey,
              job.position,
              job.queuedAt,
              job.queuedAt,
            ).changes;
    }
    return queued;
  }

  async claimDue(request: MirrorClaimRequest): Promise<MirrorJob[]> {
    const organisations = request.organisationIds;
    if (request.limit <= 0 || organisations.length === 0) return [];
    const rows = this.#db.all<MirrorJobRow>(
      `SELECT ${MIRROR_JOB_COLUMNS} FROM mirror_jobs j
       WHERE j.state = 'pending' AND j.next_attempt_at <= ?
         AND (j.claimed_until IS NULL OR j.claimed_until < ?)
         AND j.organisation_id IN (${placeholders(organisations.length)})
       ORDER BY j.next_attempt_at, j.id
       LIMIT ?`,
      request.now,
      request.now,
      ...organisations,
      request.limit,
    );
    for (let i = 0; i < rows.length; i += CHUNK) {
      const ids = rows.slice(i, i + CHUNK).map((row) => row.id);
      this.#db.run(
        `UPDATE mirror_jobs SET claimed_by = ?, claimed_until = ? WHERE id IN (${placeholders(ids.length)})`,
        request.holder,
        request.until,
        ...ids,
      );
    }
    return rows.map(toMirrorJob);
  }

  async settle(id: number, position: number, outcome: MirrorOutcome): Promise<void> {
    const changed =
      outcome.state === "postponed"
        ? this.#db.run(
            `UPDATE mirror_jobs SET next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL
             WHERE id = ? AND position = ? AND state = 'pending'`,
            outcome.nextAttemptAt,
            id,
            position,
          ).changes
        : this.#db.run(
            `UPDATE mirror_jobs SET state = ?, attempts = attempts + ?, next_attempt_at = coalesce(?, next_attempt_at),
               operation = ?, last_attempt_at = ?, last_status = ?, last_code = ?, last_message = ?, settled_at = ?,
               subject = coalesce(?, subject), claimed_by = NULL, claimed_until = NULL
             WHERE id = ? AND position = ? AND state = 'pending'`,
            ...outcomeValues(outcome),
            id,
            position,
          ).changes;
    // Queued again meanwhile: it stays pending, due at once, for whoever claims it next.
    if (changed === 0) {
      this.#db.run("UPDATE mirror_jobs SET claimed_by = NULL, claimed_until = NULL WHERE id = ?", id);
    }
  }

  async find(
    organisationId: string,
    kind: MirrorJobKind,
    subjectKey: string,
  ): Promise<MirrorJob | undefined> {
    const row = this.#db.get<MirrorJobRow>(
      `SELECT ${MIRROR_JOB_COLUMNS} FROM mirror_jobs j
       WHERE j.organisation_id = ? AND j.kind = ? AND j.subject_key = ?`,
      organisationId,
      kind,
      subjectKey,
    );
    return row && toMirrorJob(row);
  }

  async summary(organisationId: string): Promise<MirrorSummary> {
    const counts = this.#db.all<{ state: MirrorJobState; n: number; retrying: number }>(
      `SELECT state, count(*) AS n, sum(CASE WHEN state = 'pending' AND attempts > 0 THEN 1 ELSE 0 END) AS retrying
       FROM mirror_jobs WHERE organisation_id = ? GROUP BY state`,
      organisationId,
    );
    const success = this.#db.get<{ at: string | null }>(
      "SELECT max(settled_at) AS at FROM mirror_jobs WHERE organisation_id = ? AND state = 'done'",
      organisationId,
    );
    const failure = this.#db.get<MirrorJobRow>(
      `SELECT last_attempt_at, last_status, last_code, last_message FROM mirror_jobs
       WHERE organisation_id = ? AND state = 'pending' AND attempts > 0
       ORDER BY last_attempt_at DESC, id DESC LIMIT 1`,
      organisationId,
    );
    return toMirrorSummary(counts, success?.at ?? null, failure);
  }

  async listRefused(organisationId: string, page: KeysetPage): Promise<Keyed<MirrorJob>> {
    const rows = this.#db.all<MirrorJobRow>(
      `SELECT ${MIRROR_JOB_COLUMNS} FROM mirror_jobs j
       WHERE j.organisation_id = ? AND j.state = 'refused' AND j.id > ?
       ORDER BY j.id LIMIT ?`,
      organisationId,
      page.after,
      page.limit + 1,
    );
    return keyedMirrorJobs(rows, page.limit);
  }

  async releaseClaims(holder: string): Promise<number> {
    return this.#db.run(
      "UPDATE mirror_jobs SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?",
      holder,
    ).changes;
  }

  async purgeSettledBefore(before: string): Promise<number> {
    return this.#db.run(
      `DELETE FROM mirror_jobs
       WHERE settled_at < ? AND (state = 'refused' OR (state = 'done' AND (operation IS NULL OR operation = 'DELETE')))`,
      before,
    ).changes;
  }

  async purgeUnmirrored(organisationIds: readonly string[]): Promise<number> {
    if (organisationIds.length === 0) return this.#db.run("DELETE FROM mirror_jobs").changes;
    return this.#db.run(
      `DELETE FROM mirror_jobs WHERE organisation_id NOT IN (${placeholders(organisationIds.length)})`,
      ...organisationIds,
    ).changes;
  }
}
