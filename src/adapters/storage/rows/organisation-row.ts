/** Organisation rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { HexColor } from "../../../domain/color.ts";
import type { CountryCode } from "../../../domain/country-code.ts";
import type { Organisation, OrganisationKind } from "../../../domain/organisation.ts";
import type { NewOrganisation } from "../../../ports/storage.ts";

export interface OrganisationRow {
  /** bigint: `pg` may answer it as a string. */
  seq: number | string;
  id: string;
  kind: OrganisationKind;
  name: string;
  country: string | null;
  schac_home_organisation: string | null;
  erasmus_code: string | null;
  website: string | null;
  main_color: string | null;
  secondary_color: string | null;
  contrast_color: string | null;
  qr_color: string | null;
  /** SQLite stores 0 or 1, PostgreSQL a boolean. */
  show_display_name: number | boolean;
  created_at: string;
  updated_at: string;
  version: number;
}

/** One row of `organisation_relations` for an organisation. */
export interface RelationRow {
  relation: string;
  related_id: string;
}

/** Every column of `organisations`. */
export const ORGANISATION_COLUMNS = `seq, id, kind, name, country, schac_home_organisation, erasmus_code, website, main_color,
  secondary_color, contrast_color, qr_color, show_display_name, created_at, updated_at, version`;

/** The columns a new organisation writes, in the order of {@link organisationInsertValues}; `seq` is generated. */
export const ORGANISATION_INSERT_COLUMNS = `id, kind, name, country, schac_home_organisation, erasmus_code, website,
        main_color, secondary_color, contrast_color, qr_color, show_display_name, created_at, updated_at, version`;

/** The values of {@link ORGANISATION_INSERT_COLUMNS}; `flag` stores `show_display_name` as the engine wants it. */
export function organisationInsertValues(org: NewOrganisation, flag: (shown: boolean) => unknown): unknown[] {
  return [
    org.id,
    org.kind,
    org.name,
    org.country,
    org.schacHomeOrganisation,
    org.erasmusCode,
    org.website,
    org.colours.main,
    org.colours.secondary,
    org.colours.contrast,
    org.colours.qr,
    flag(org.showDisplayName),
    org.createdAt,
    org.updatedAt,
    1,
  ];
}

/** A row and its relations (ordered by `related_id`) as an organisation. */
export const toOrganisation = (row: OrganisationRow, relations: readonly RelationRow[]): Organisation => ({
  id: row.id,
  seq: Number(row.seq),
  kind: row.kind,
  name: row.name,
  country: row.country as CountryCode | null,
  schacHomeOrganisation: row.schac_home_organisation,
  erasmusCode: row.erasmus_code,
  website: row.website,
  colours: {
    main: row.main_color as HexColor | null,
    secondary: row.secondary_color as HexColor | null,
    contrast: row.contrast_color as HexColor | null,
    qr: row.qr_color as HexColor | null,
  },
  showDisplayName: row.show_display_name === true || row.show_display_name === 1,
  serves: relations.filter((r) => r.relation === "serves").map((r) => r.related_id),
  processors: relations.filter((r) => r.relation === "processor").map((r) => r.related_id),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  version: row.version,
});

/** The values of an organisation update: the changed columns `name … updated_at`, then `id` and `version`. */
export function organisationUpdateValues(org: Organisation, flag: (shown: boolean) => unknown): unknown[] {
  return [
    org.name,
    org.country,
    org.schacHomeOrganisation,
    org.erasmusCode,
    org.website,
    org.colours.main,
    org.colours.secondary,
    org.colours.contrast,
    org.colours.qr,
    flag(org.showDisplayName),
    org.updatedAt,
    org.id,
    org.version,
  ];
}
