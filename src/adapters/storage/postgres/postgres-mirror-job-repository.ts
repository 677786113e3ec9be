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
import type { PostgresQueryable } from "./postgres-connection.ts";

/**
 * Claims in one statement, as for webhook deliveries: candidates locked `FOR UPDATE SKIP LOCKED`, so
 * processes claiming at once never take the same job. Timestamps are `COLLATE "C"` (see the migration).
 */
const CLAIM_SQL = `WITH picked AS MATERIALIZED (
    SELECT c.id FROM mirror_jobs c
    WHERE c.state = 'pending' AND c.next_attempt_at <= $3
      AND (c.claimed_until IS NULL OR c.claimed_until < $3)
      AND c.organisation_id = ANY($4::text[])
    ORDER BY c.next_attempt_at, c.id
    LIMIT $5
    FOR UPDATE OF c SKIP LOCKED
  ), claimed AS (
    UPDATE mirror_jobs u SET claimed_by = $1, claimed_until = $2 FROM picked WHERE u.id = picked.id RETURNING u.*
  )
  SELECT ${MIRROR_JOB_COLUMNS} FROM claimed j ORDER BY j.next_attempt_at, j.id`;

/** The mirror queue on PostgreSQL, shared by every hub process: the same statements as on SQLite. */
export class PostgresMirrorJobRepository implements MirrorJobRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async enqueue(jobs: readonly NewMirrorJob[]): Promise<number> {
    let queued = 0;
    const inserts = jobs.filter((job) => job.subject !== null);
    if (inserts.length > 0) {
      // One statement for the batch; the caller hands at most one job per subject.
      const result = await this.#db.query(
        `INSERT INTO mirror_jobs (organisation_id, kind, subject, subject_key, position, state, attempts,
           queued_at, next_attempt_at)
         SELECT o, k, s, sk, p, 'pending', 0, q, q
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
           WITH ORDINALITY AS u(o, k, s, sk, p, q, n)
         ORDER BY n
         ON CONFLICT (organisation_id, kind, subject_key) DO UPDATE SET
           subject = excluded.subject, position = excluded.position, state = 'pending', attempts = 0,
           queued_at = excluded.queued_at, next_attempt_at = excluded.next_attempt_at, settled_at = NULL
         WHERE excluded.position > mirror_jobs.position`,
        [
          inserts.map((j) => j.organisationId),
          inserts.map((j) => j.kind),
          inserts.map((j) => j.subject),
          inserts.map((j) => j.subjectKey),
          inserts.map((j) => j.position),
          inserts.map((j) => j.queuedAt),
        ],
      );
      queued += result.rowCount ?? 0;
    }
    // An erased ESI: only a job that still holds the ESI can act on it (send the removal).
    for (const job of jobs.filter((j) => j.subject === null)) {
      const result = await this.#db.query(
        `UPDATE mirror_jobs SET position = $1, state = 'pending', attempts = 0, queued_at = $2, next_attempt_at = $2,
           settled_at = NULL
         WHERE organisation_id = $3 AND kind = $4 AND subject_key = $5 AND position < $1
           AND NOT starts_with(subject, $6)`,
        [job.position, job.queuedAt, job.organisationId, job.kind, job.subjectKey, ERASED_PREFIX],
      );
      queued += result.rowCount ?? 0;
    }
    return queued;
  }

  async claimDue(request: MirrorClaimRequest): Promise<MirrorJob[]> {
    if (request.limit <= 0 || request.organisationIds.length === 0) return [];
    const { rows } = await this.#db.query<MirrorJobRow>(CLAIM_SQL, [
      request.holder,
      request.until,
      request.now,
      request.organisationIds,
      request.limit,
    ]);
    return rows.map(toMirrorJob);
  }

  async settle(id: number, position: number, outcome: MirrorOutcome): Promise<void> {
    const result =
      outcome.state === "postponed"
        ? await this.#db.query(
            `UPDATE mirror_jobs SET next_attempt_at = $3, claimed_by = NULL, claimed_until = NULL
             WHERE id = $1 AND position = $2 AND state = 'pending'`,
            [id, position, outcome.nextAttemptAt],
          )
        : await this.#db.query(
            `UPDATE mirror_jobs SET state = $3, attempts = attempts + $4::integer,
               next_attempt_at = coalesce($5::text, next_attempt_at), operation = $6, last_attempt_at = $7,
               last_status = $8::integer, last_code = $9, last_message = $10, settled_at = $11,
               subject = coalesce($12::text, subject), claimed_by = NULL, claimed_until = NULL
             WHERE id = $1 AND position = $2 AND state = 'pending'`,
            [id, position, ...outcomeValues(outcome)],
          );
    // Queued again meanwhile: it stays pending, due at once, for whoever claims it next.
    if ((result.rowCount ?? 0) === 0) {
      await this.#db.query("UPDATE mirror_jobs SET claimed_by = NULL, claimed_until = NULL WHERE id = $1", [
        id,
      ]);
    }
  }

  async find(
    organisationId: string,
    kind: MirrorJobKind,
    subjectKey: string,
  ): Promise<MirrorJob | undefined> {
    const { rows } = await this.#db.query<MirrorJobRow>(
      `SELECT ${MIRROR_JOB_COLUMNS} FROM mirror_jobs j
       WHERE j.organisation_id = $1 AND j.kind = $2 AND j.subject_key = $3`,
      [organisationId, kind, subjectKey],
    );
    return rows[0] && toMirrorJob(rows[0]);
  }

  async summary(organisationId: string): Promise<MirrorSummary> {
    const counts = await this.#db.query<{ state: MirrorJobState; n: string; retrying: string }>(
      `SELECT state, count(*) AS n, count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying
       FROM mirror_jobs WHERE organisation_id = $1 GROUP BY state`,
      [organisationId],
    );
    const success = await this.#db.query<{ at: string | null }>(
      "SELECT max(settled_at) AS at FROM mirror_jobs WHERE organisation_id = $1 AND state = 'done'",
      [organisationId],
    );
    const failure = await this.#db.query<MirrorJobRow>(
      `SELECT last_attempt_at, last_status, last_code, last_message FROM mirror_jobs
       WHERE organisation_id = $1 AND state = 'pending' AND attempts > 0
       ORDER BY last_attempt_at DESC, id DESC LIMIT 1`,
      [organisationId],
    );
    return toMirrorSummary(counts.rows, success.rows[0]?.at ?? null, failure.rows[0]);
  }

  async listRefused(organisationId: string, page: KeysetPage): Promise<Keyed<MirrorJob>> {
    const { rows } = await this.#db.query<MirrorJobRow>(
      `SELECT ${MIRROR_JOB_COLUMNS} FROM mirror_jobs j
       WHERE j.organisation_id = $1 AND j.state = 'refused' AND j.id > $2
       ORDER BY j.id LIMIT $3`,
      [organisationId, page.after, page.limit + 1],
    );
    return keyedMirrorJobs(rows, page.limit);
  }

  async releaseClaims(holder: string): Promise<number> {
    const result = await this.#db.query(
      "UPDATE mirror_jobs SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1",
      [holder],
    );
    return result.rowCount ?? 0;
  }

  async purgeSettledBefore(before: string): Promise<number> {
    const result = await this.#db.query(
      `DELETE FROM mirror_jobs
       WHERE settled_at < $1 AND (state = 'refused' OR (state = 'done' AND (operation IS NULL OR operation = 'DELETE')))`,
      [before],
    );
    return result.rowCount ?? 0;
  }

  async purgeUnmirrored(organisationIds: readonly string[]): Promise<number> {
    const result = await this.#db.query(
      "DELETE FROM mirror_jobs WHERE NOT (organisation_id = ANY($1::text[]))",
      [organisationIds],
    );
    return result.rowCount ?? 0;
  }
}
