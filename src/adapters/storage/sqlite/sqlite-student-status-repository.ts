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
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

export class SqliteStudentStatusRepository implements StudentStatusRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async find(personId: number, organisationId: string): Promise<StudentStatus | undefined> {
    const row = this.#db.get<StatusRow>(
      `${STATUS_SELECT} WHERE s.person_id = ? AND s.organisation_id = ?`,
      personId,
      organisationId,
    );
    return row && toStatus(row);
  }

  async listForPerson(personId: number): Promise<StudentStatus[]> {
    return this.#db
      .all<StatusRow>(`${STATUS_SELECT} WHERE s.person_id = ? ORDER BY s.organisation_id`, personId)
      .map(toStatus);
  }

  async save(
    status: Omit<StudentStatus, "version">,
    expectedVersion: number | null,
  ): Promise<StudentStatus | undefined> {
    if (expectedVersion === null) {
      const result = this.#db.run(
        `INSERT INTO student_statuses (${STATUS_INSERT_COLUMNS})
         VALUES (${placeholders(8)}) ON CONFLICT (person_id, organisation_id) DO NOTHING`,
        ...statusInsertValues(status),
      );
      return result.changes === 0 ? undefined : { ...status, version: 1 };
    }
    const result = this.#db.run(
      `UPDATE student_statuses SET state = ?, valid_from = ?, valid_until = ?, updated_at = ?, version = version + 1
       WHERE person_id = ? AND organisation_id = ? AND version = ?`,
      status.state,
      status.validFrom,
      status.validUntil,
      status.updatedAt,
      status.personId,
      status.organisationId,
      expectedVersion,
    );
    return result.changes === 0 ? undefined : { ...status, version: expectedVersion + 1 };
  }

  async delete(personId: number, organisationId: string): Promise<void> {
    this.#db.run(
      "DELETE FROM student_statuses WHERE person_id = ? AND organisation_id = ?",
      personId,
      organisationId,
    );
  }

  async listEndedCandidates(before: IsoDate, page: KeysetPage): Promise<Keyed<StudentStatus>> {
    const rows = this.#db.all<StatusRow>(
      `${STATUS_SELECT} WHERE s.id > ? AND (s.state = 'ended' OR s.valid_until < ?) ORDER BY s.id LIMIT ?`,
      page.after,
      before,
      page.limit + 1,
    );
    return keyedStatuses(rows, page.limit);
  }

  async listEndingBetween(from: IsoDate, through: IsoDate, page: KeysetPage): Promise<Keyed<StudentStatus>> {
    const rows = this.#db.all<StatusRow>(
      `${STATUS_SELECT} WHERE s.id > ? AND s.valid_until BETWEEN ? AND ? ORDER BY s.id LIMIT ?`,
      page.after,
      from,
      through,
      page.limit + 1,
    );
    return keyedStatuses(rows, page.limit);
  }

  async listAfter(query: StatusQuery, page: KeysetPage): Promise<Keyed<StudentStatus>> {
    if (query.organisationIds.length === 0) return { items: [], next: null };
    const stateClause = query.state === null ? "" : " AND s.state = ?";
    const rows = this.#db.all<StatusRow>(
      `${STATUS_SELECT} WHERE s.id > ? AND s.organisation_id IN (${placeholders(query.organisationIds.length)})${stateClause}
       ORDER BY s.id LIMIT ?`,
      page.after,
      ...query.organisationIds,
      ...(query.state === null ? [] : [query.state]),
      page.limit + 1,
    );
    return keyedStatuses(rows, page.limit);
  }
}
