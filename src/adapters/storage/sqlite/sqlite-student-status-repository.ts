import type { IsoDate } from "../../../domain/iso-date.ts";
import type { StudentStatus, StudentStatusState } from "../../../domain/student-status.ts";
import type { Keyed, KeysetPage, StatusQuery, StudentStatusRepository } from "../../../ports/storage.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

interface StatusRow {
  id: number;
  person_id: number;
  esi: string;
  organisation_id: string;
  state: StudentStatusState;
  valid_from: string;
  valid_until: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

const SELECT = `SELECT s.id, s.person_id, p.esi, s.organisation_id, s.state, s.valid_from, s.valid_until,
  s.created_at, s.updated_at, s.version FROM student_statuses s JOIN persons p ON p.id = s.person_id`;

const toStatus = (row: StatusRow): StudentStatus => ({
  personId: row.person_id,
  esi: row.esi,
  organisationId: row.organisation_id,
  state: row.state,
  validFrom: row.valid_from as IsoDate,
  validUntil: row.valid_until as IsoDate | null,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  version: row.version,
});

export class SqliteStudentStatusRepository implements StudentStatusRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async find(personId: number, organisationId: string): Promise<StudentStatus | undefined> {
    const row = this.#db.get<StatusRow>(
      `${SELECT} WHERE s.person_id = ? AND s.organisation_id = ?`,
      personId,
      organisationId,
    );
    return row && toStatus(row);
  }

  async listForPerson(personId: number): Promise<StudentStatus[]> {
    return this.#db
      .all<StatusRow>(`${SELECT} WHERE s.person_id = ? ORDER BY s.organisation_id`, personId)
      .map(toStatus);
  }

  async save(
    status: Omit<StudentStatus, "version">,
    expectedVersion: number | null,
  ): Promise<StudentStatus | undefined> {
    if (expectedVersion === null) {
      const result = this.#db.run(
        `INSERT INTO student_statuses (person_id, organisation_id, state, valid_from, valid_until, created_at, updated_at, version)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (person_id, organisation_id) DO NOTHING`,
        status.personId,
        status.organisationId,
        status.state,
        status.validFrom,
        status.validUntil,
        status.createdAt,
        status.updatedAt,
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
      `${SELECT} WHERE s.id > ? AND (s.state = 'ended' OR s.valid_until < ?) ORDER BY s.id LIMIT ?`,
      page.after,
      before,
      page.limit + 1,
    );
    const first = rows.slice(0, page.limit);
    const last = first.at(-1);
    return { items: first.map(toStatus), next: rows.length > page.limit && last ? last.id : null };
  }

  async listAfter(query: StatusQuery, page: KeysetPage): Promise<Keyed<StudentStatus>> {
    if (query.organisationIds.length === 0) return { items: [], next: null };
    const stateClause = query.state === null ? "" : " AND s.state = ?";
    const rows = this.#db.all<StatusRow>(
      `${SELECT} WHERE s.id > ? AND s.organisation_id IN (${placeholders(query.organisationIds.length)})${stateClause}
       ORDER BY s.id LIMIT ?`,
      page.after,
      ...query.organisationIds,
      ...(query.state === null ? [] : [query.state]),
      page.limit + 1,
    );
    const page1 = rows.slice(0, page.limit);
    const last = page1.at(-1);
    return { items: page1.map(toStatus), next: rows.length > page.limit && last ? last.id : null };
  }
}
