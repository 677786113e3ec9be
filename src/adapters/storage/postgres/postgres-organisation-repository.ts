import type { HexColor } from "../../../domain/color.ts";
import type { CountryCode } from "../../../domain/country-code.ts";
import type { Organisation, OrganisationKind } from "../../../domain/organisation.ts";
import type { Keyed, KeysetPage, NewOrganisation, OrganisationRepository } from "../../../ports/storage.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

interface OrganisationRow {
  /** bigint: a string unless the pool parses it. */
  seq: string | number;
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
  show_display_name: boolean;
  created_at: string;
  updated_at: string;
  version: number;
}

interface RelationRow {
  organisation_id: string;
  relation: "serves" | "processor";
  related_id: string;
}

const COLUMNS = `seq, id, kind, name, country, schac_home_organisation, erasmus_code, website, main_color,
  secondary_color, contrast_color, qr_color, show_display_name, created_at, updated_at, version`;

/**
 * Organisations on PostgreSQL: the same statements as on SQLite (`../sqlite/sqlite-organisation-repository.ts`),
 * except that relations are read for a whole result in one query and written in one statement, since
 * each round trip costs here. Text is ordered with `COLLATE "C"` (byte order, as SQLite does) so that
 * both stores list in the same order whatever the database's locale.
 */
export class PostgresOrganisationRepository implements OrganisationRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async findById(id: string): Promise<Organisation | undefined> {
    const { rows } = await this.#db.query<OrganisationRow>(
      `SELECT ${COLUMNS} FROM organisations WHERE id = $1`,
      [id],
    );
    return (await this.#toOrganisations(rows))[0];
  }

  async findManyByIds(ids: readonly string[]): Promise<Organisation[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.#db.query<OrganisationRow>(
      `SELECT ${COLUMNS} FROM organisations WHERE id = ANY($1::text[]) ORDER BY id COLLATE "C"`,
      [ids],
    );
    return this.#toOrganisations(rows);
  }

  async list(page: KeysetPage): Promise<Keyed<Organisation>> {
    const { rows } = await this.#db.query<OrganisationRow>(
      `SELECT ${COLUMNS} FROM organisations WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [page.after, page.limit + 1],
    );
    const items = await this.#toOrganisations(rows.slice(0, page.limit));
    return { items, next: rows.length > page.limit ? (items.at(-1)?.seq ?? null) : null };
  }

  async listProcessedBy(processorId: string): Promise<string[]> {
    const { rows } = await this.#db.query<{ organisation_id: string }>(
      `SELECT organisation_id FROM organisation_relations WHERE related_id = $1 AND relation = 'processor'
       ORDER BY organisation_id COLLATE "C"`,
      [processorId],
    );
    return rows.map((r) => r.organisation_id);
  }

  async insert(org: NewOrganisation): Promise<Organisation> {
    const { rows } = await this.#db.query<{ seq: string | number }>(
      `INSERT INTO organisations (id, kind, name, country, schac_home_organisation, erasmus_code, website,
        main_color, secondary_color, contrast_color, qr_color, show_display_name, created_at, updated_at, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1) RETURNING seq`,
      [
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
        org.showDisplayName,
        org.createdAt,
        org.updatedAt,
      ],
    );
    await this.#writeRelations(org);
    return { ...org, seq: Number(rows[0]?.seq), version: 1 };
  }

  async update(org: Organisation): Promise<Organisation | undefined> {
    const result = await this.#db.query(
      `UPDATE organisations SET name = $1, country = $2, schac_home_organisation = $3, erasmus_code = $4,
        website = $5, main_color = $6, secondary_color = $7, contrast_color = $8, qr_color = $9,
        show_display_name = $10, updated_at = $11, version = version + 1
       WHERE id = $12 AND version = $13`,
      [
        org.name,
        org.country,
        org.schacHomeOrganisation,
        org.erasmusCode,
        org.website,
        org.colours.main,
        org.colours.secondary,
        org.colours.contrast,
        org.colours.qr,
        org.showDisplayName,
        org.updatedAt,
        org.id,
        org.version,
      ],
    );
    if (!result.rowCount) return undefined;
    await this.#db.query("DELETE FROM organisation_relations WHERE organisation_id = $1", [org.id]);
    await this.#writeRelations(org);
    return { ...org, version: org.version + 1 };
  }

  async #writeRelations(org: Pick<Organisation, "id" | "serves" | "processors">): Promise<void> {
    const relations = [...org.serves.map(() => "serves"), ...org.processors.map(() => "processor")];
    if (relations.length === 0) return;
    await this.#db.query(
      `INSERT INTO organisation_relations (organisation_id, relation, related_id)
       SELECT $1, r.relation, r.related_id FROM unnest($2::text[], $3::text[]) AS r(relation, related_id)`,
      [org.id, relations, [...org.serves, ...org.processors]],
    );
  }

  /** Rows to organisations, with the relations of all of them read in one query. */
  async #toOrganisations(rows: readonly OrganisationRow[]): Promise<Organisation[]> {
    if (rows.length === 0) return [];
    const { rows: relations } = await this.#db.query<RelationRow>(
      `SELECT organisation_id, relation, related_id FROM organisation_relations
       WHERE organisation_id = ANY($1::text[]) ORDER BY related_id COLLATE "C"`,
      [rows.map((row) => row.id)],
    );
    return rows.map((row) => {
      const own = relations.filter((r) => r.organisation_id === row.id);
      return {
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
        showDisplayName: row.show_display_name,
        serves: own.filter((r) => r.relation === "serves").map((r) => r.related_id),
        processors: own.filter((r) => r.relation === "processor").map((r) => r.related_id),
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        version: row.version,
      };
    });
  }
}
