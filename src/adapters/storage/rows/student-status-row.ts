/** Student status rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { IsoDate } from "../../../domain/iso-date.ts";
import type { StudentStatus, StudentStatusState } from "../../../domain/student-status.ts";
import type { Keyed } from "../../../ports/storage.ts";

export interface StatusRow {
  /** bigint: `pg` may answer it as a string. */
  id: number | string;
  person_id: number | string;
  esi: string;
  organisation_id: string;
  state: StudentStatusState;
  valid_from: string;
  valid_until: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

/** Every status column with the holder's ESI; callers append their own `WHERE`. */
export const STATUS_SELECT = `SELECT s.id, s.person_id, p.esi, s.organisation_id, s.state, s.valid_from, s.valid_until,
  s.created_at, s.updated_at, s.version FROM student_statuses s JOIN persons p ON p.id = s.person_id`;

export const toStatus = (row: StatusRow): StudentStatus => ({
  personId: Number(row.person_id),
  esi: row.esi,
  organisationId: row.organisation_id,
  state: row.state,
  validFrom: row.valid_from as IsoDate,
  validUntil: row.valid_until as IsoDate | null,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  version: row.version,
});

/** A keyset page from `limit + 1` rows ordered by id: the extra row only tells that there is a next page. */
export function keyedStatuses(rows: readonly StatusRow[], limit: number): Keyed<StudentStatus> {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(toStatus), next: rows.length > limit && last ? Number(last.id) : null };
}

/** The columns a new status writes, in the order of {@link statusInsertValues}; `id` is generated. */
export const STATUS_INSERT_COLUMNS =
  "person_id, organisation_id, state, valid_from, valid_until, created_at, updated_at, version";

/** The values of {@link STATUS_INSERT_COLUMNS} for a new status: `version` starts at 1. */
export function statusInsertValues(status: Omit<StudentStatus, "version">): unknown[] {
  return [
    status.personId,
    status.organisationId,
    status.state,
    status.validFrom,
    status.validUntil,
    status.createdAt,
    status.updatedAt,
    1,
  ];
}
