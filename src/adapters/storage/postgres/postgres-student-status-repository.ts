import type { IsoDate } from "../../../domain/iso-date.ts";
import type { StudentStatus } from "../../../domain/student-status.ts";
import type { Keyed, KeysetPage, StatusQuery, StudentStatusRepository } from "../../../ports/storage.ts";
import {
  keyedStatuses,
  STATUS_INSERT_COLUMNS,
  STATUS_SELECT,
  type StatusRow,
  statusInsertValues,
  toStatus,
} from "../rows/student-status-row.ts";
import { type PostgresQueryable, params } from "./postgres-connection.ts";

/**
 * Student statuses on PostgreSQL: the same statements as on SQLite
 * (`../sqlite/sqlite-student-status-repository.ts`). A first save that loses a race to another one finds
 * the row there (`ON CONFLICT DO NOTHING`) and reports a stale version, as an update does.
 */
export class PostgresStudentStatusRepository implements StudentStatusRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async find(personId: number, organisationId: string): Promise<StudentStatus | undefined> {
    const { rows } = await this.#db.query<StatusRow>(
      `${STATUS_SELECT} WHERE s.person_id = $1 AND s.organisation_id = $2`,
      [personId, organisationId],
    );
    return rows[0] && toStatus(rows[0]);
  }

  async listForPerson(personId: number): Promise<StudentStatus[]> {
    const { rows } = await this.#db.query<StatusRow>(
      `${STATUS_SELECT} WHERE s.person_id = $1 ORDER BY s.organisation_id COLLATE "C"`,
      [personId],
    );
    return rows.map(toStatus);
  }

  async save(
    status: Omit<StudentStatus, "version">,
    expectedVersion: number | null,
  ): Promise<StudentStatus | undefined> {
    if (expectedVersion === null) {
      const result = await this.#db.query(
        `INSERT INTO student_statuses (${STATUS_INSERT_COLUMNS})
         VALUES (${params(8)}) ON CONFLICT (person_id, organisation_id) DO NOTHING`,
        statusInsertValues(status),
      );
      return result.rowCount ? { ...status, version: 1 } : undefined;
    }
    const result = await this.#db.query(
      `UPDATE student_statuses SET state = $1, valid_from = $2, valid_until = $3, updated_at = $4, version = version + 1
       WHERE person_id = $5 AND organisation_id = $6 AND version = $7`,
      [
        status.state,
        status.validFrom,
        status.validUntil,
        status.updatedAt,
        status.personId,
        status.organisationId,
        expectedVersion,
      ],
    );
    return result.rowCount ? { ...status, version: expectedVersion + 1 } : undefined;
  }

  async delete(personId: number, organisationId: string): Promise<void> {
    await this.#db.query("DELETE FROM student_statuses WHERE person_id = $1 AND organisation_id = $2", [
      personId,
      organisationId,
    ]);
  }

  async listEndedCandidates(before: IsoDate, page: KeysetPage): Promise<Keyed<StudentStatus>> {
    // Dates are `yyyy-MM-dd` text: compared byte-wise, as on SQLite.
    const { rows } = await this.#db.query<StatusRow>(
      `${STATUS_SELECT} WHERE s.id > $1 AND (s.state = 'ended' OR s.valid_until COLLATE "C" < $2) ORDER BY s.id LIMIT $3`,
      [page.after, before, page.limit + 1],
    );
    return keyedStatuses(rows, page.limit);
  }

  async listEndingBetween(from: IsoDate, through: IsoDate, page: KeysetPage): Promise<Keyed<StudentStatus>> {
    // COLLATE "C" as in the index `student_statuses_valid_until`, which serves the range.
    const { rows } = await this.#db.query<StatusRow>(
      `${STATUS_SELECT} WHERE s.id > $1 AND s.valid_until COLLATE "C" BETWEEN $2 AND $3 ORDER BY s.id LIMIT $4`,
      [page.after, from, through, page.limit + 1],
    );
    return keyedStatuses(rows, page.limit);
  }

  async listAfter(query: StatusQuery, page: KeysetPage): Promise<Keyed<StudentStatus>> {
    if (query.organisationIds.length === 0) return { items: [], next: null };
    const { rows } = await this.#db.query<StatusRow>(
      `${STATUS_SELECT} WHERE s.id > $1 AND s.organisation_id = ANY($2::text[]) AND ($3::text IS NULL OR s.state = $3)
       ORDER BY s.id LIMIT $4`,
      [page.after, query.organisationIds, query.state, page.limit + 1],
    );
    return keyedStatuses(rows, page.limit);
  }
}
