import type { Organisation } from "../../../domain/organisation.ts";
import type { Keyed, KeysetPage, NewOrganisation, OrganisationRepository } from "../../../ports/storage.ts";
import {
  ORGANISATION_COLUMNS,
  ORGANISATION_INSERT_COLUMNS,
  type OrganisationRow,
  organisationInsertValues,
  organisationUpdateValues,
  toOrganisation,
} from "../rows/organisation-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

export class SqliteOrganisationRepository implements OrganisationRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async findById(id: string): Promise<Organisation | undefined> {
    const row = this.#db.get<OrganisationRow>(
      `SELECT ${ORGANISATION_COLUMNS} FROM organisations WHERE id = ?`,
      id,
    );
    return row && this.#toOrganisation(row);
  }

  async findManyByIds(ids: readonly string[]): Promise<Organisation[]> {
    if (ids.length === 0) return [];
    const rows = this.#db.all<OrganisationRow>(
      `SELECT ${ORGANISATION_COLUMNS} FROM organisations WHERE id IN (${placeholders(ids.length)})`,
      ...ids,
    );
    return rows.map((row) => this.#toOrganisation(row));
  }

  async list(page: KeysetPage): Promise<Keyed<Organisation>> {
    const rows = this.#db.all<OrganisationRow>(
      `SELECT ${ORGANISATION_COLUMNS} FROM organisations WHERE seq > ? ORDER BY seq LIMIT ?`,
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
      `INSERT INTO organisations (${ORGANISATION_INSERT_COLUMNS}) VALUES (${placeholders(15)})`,
      ...organisationInsertValues(org, (shown) => (shown ? 1 : 0)),
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
      ...organisationUpdateValues(org, (shown) => (shown ? 1 : 0)),
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
    return toOrganisation(row, relations);
  }
}
