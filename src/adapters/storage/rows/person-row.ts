/** Person and link rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { AcademicLevel } from "../../../domain/academic-level.ts";
import type { Person, PersonLink } from "../../../domain/person.ts";

export interface PersonRow {
  /** bigint: `pg` may answer it as a string. */
  id: number | string;
  esi: string;
  esi_key: string;
  created_at: string;
  updated_at: string;
}

export interface LinkRow {
  person_id: number | string;
  organisation_id: string;
  full_name: string;
  academic_level: AcademicLevel | null;
  email: string | null;
  phone: string | null;
  fax: string | null;
  created_at: string;
  updated_at: string;
}

/** The columns of `persons`, for a query that names the table `p`. */
export const PERSON_COLUMNS = "p.id, p.esi, p.esi_key, p.created_at, p.updated_at";

/** The columns of `person_links`, in the order of {@link linkValues}. */
export const LINK_COLUMNS =
  "person_id, organisation_id, full_name, academic_level, email, phone, fax, created_at, updated_at";

/** The upsert tail after `VALUES (…)`: a link keeps its `created_at`. */
export const LINK_ON_CONFLICT = `ON CONFLICT (person_id, organisation_id) DO UPDATE SET full_name = excluded.full_name,
         academic_level = excluded.academic_level, email = excluded.email, phone = excluded.phone,
         fax = excluded.fax, updated_at = excluded.updated_at`;

export const toPerson = (row: PersonRow): Person => ({
  id: Number(row.id),
  esi: row.esi,
  esiKey: row.esi_key,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export const toLink = (row: LinkRow): PersonLink => ({
  personId: Number(row.person_id),
  organisationId: row.organisation_id,
  fullName: row.full_name,
  academicLevel: row.academic_level,
  email: row.email,
  phone: row.phone,
  fax: row.fax,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export function linkValues(link: PersonLink): unknown[] {
  return [
    link.personId,
    link.organisationId,
    link.fullName,
    link.academicLevel,
    link.email,
    link.phone,
    link.fax,
    link.createdAt,
    link.updatedAt,
  ];
}
