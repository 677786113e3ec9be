import type { HexColor } from "../../../domain/color.ts";
import type { CountryCode } from "../../../domain/country-code.ts";
import type { Organisation, OrganisationKind } from "../../../domain/organisation.ts";
import type { Keyed, KeysetPage, NewOrganisation, OrganisationRepository } from "../../../ports/storage.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

interface OrganisationRow {
  seq: number;
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
  show_display_name: number;
  created_at: string;
  updated_at: string;
  version: number;
}

const COLUMNS = `seq, id, kind, name, country, schac_home_organisation, erasmus_code, website, main_color,
  secondary_color, contrast_color, qr_color, show_display_name, created_at, updated_at, version`;

export class SqliteOrganisationRepository implements OrganisationRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async findById(id: string): Promise<Organisation | undefined> {
    const row = this.#db.get<OrganisationRow>(`SELECT ${COLUMNS} FROM organisations WHERE id = ?`, id);
    return row && this.#toOrganisation(row);
  }

  async findManyByIds(ids: readonly string[]): Promise<Organisation[]> {
    if (ids.length === 0) return [];
    const rows = this.#db.all<OrganisationRow>(
      `SELECT ${COLUMNS} FROM organisations WHERE id IN (${placeholders(ids.length)})`,
      ...ids,
    );
    return rows.map((row) => this.#toOrganisation(row));
  }

  async list(page: KeysetPage): Promise<Keyed<Organisation>> {
    const rows = this.#db.all<OrganisationRow>(
      `SELECT ${COLUMNS} FROM organisations WHERE seq > ? ORDER BY seq LIMIT ?`,
      page.after,
      page.limit + 1,
    );
    const items = rows.slice(0, page.limit).map((row) => this.#toOrganisation(row));
    return { items, next: rows.length > page.limit ? (items.at(-1)?.seq ?? null) : null };
  }

  async listProcessedBy(processorId: string): Promise<string[]> {
    return this.#db
      .all<{ organisation_id: string }>(
        "SELECT organisation_id FROM organisation_relations WHERE related_id = ? AND relation = 'processor'",
        processorId,
      )
      .map((r) => r.organisation_id);
  }

  async insert(org: NewOrganisation): Promise<Organisation> {
    const result = this.#db.run(
      `INSERT INTO organisations (id, kind, name, country, schac_home_organisation, erasmus_code, website,
        main_color, secondary_color, contrast_color, qr_color, show_display_name, created_at, updated_at, version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
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
      org.showDisplayName ? 1 : 0,
      org.createdAt,
      org.updatedAt,
    );
    this.#writeRelations(org);
    return { ...org, seq: Number(result.lastInsertRowid), version: 1 };
  }

  async update(org: Organisation): Promise<Organisation | undefined> {
    const result = this.#db.run(
      `UPDATE organisations SET name = ?, country = ?, schac_home_organisation = ?, erasmus_code = ?, website = ?,
        main_color = ?, secondary_color = ?, contrast_color = ?, qr_color = ?, show_display_name = ?,
        updated_at = ?, version = version + 1
       WHERE id = ? AND version = ?`,
      org.name,
      org.country,
      org.schacHomeOrganisation,
      org.erasmusCode,
      org.website,
      org.colours.main,
      org.colours.secondary,
      org.colours.contrast,
      org.colours.qr,
      org.showDisplayName ? 1 : 0,
      org.updatedAt,
      org.id,
      org.version,
    );
    if (result.changes === 0) return undefined;
    this.#db.run("DELETE FROM organisation_relations WHERE organisation_id = ?", org.id);
    this.#writeRelations(org);
    return { ...org, version: org.version + 1 };
  }

  #writeRelations(org: Pick<Organisation, "id" | "serves" | "processors">): void {
    const sql = "INSERT INTO organisation_relations (organisation_id, relation, related_id) VALUES (?, ?, ?)";
    for (const related of org.serves) this.#db.run(sql, org.id, "serves", related);
    for (const related of org.processors) this.#db.run(sql, org.id, "processor", related);
  }

  #toOrganisation(row: OrganisationRow): Organisation {
    const relations = this.#db.all<{ relation: string; related_id: string }>(
      "SELECT relation, related_id FROM organisation_relations WHERE organisation_id = ? ORDER BY related_id",
      row.id,
    );
    return {
      id: row.id,
      seq: row.seq,
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
      showDisplayName: row.show_display_name === 1,
      serves: relations.filter((r) => r.relation === "serves").map((r) => r.related_id),
      processors: relations.filter((r) => r.relation === "processor").map((r) => r.related_id),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      version: row.version,
    };
  }
}
