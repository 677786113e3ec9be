import type { Organisation } from "../../../domain/organisation.ts";
import type { Keyed, KeysetPage, NewOrganisation, OrganisationRepository } from "../../../ports/storage.ts";
import {
  ORGANISATION_COLUMNS,
  ORGANISATION_INSERT_COLUMNS,
  type OrganisationRow,
  organisationInsertValues,
  organisationUpdateValues,
  type RelationRow,
  toOrganisation,
} from "../rows/organisation-row.ts";
import { type PostgresQueryable, params } from "./postgres-connection.ts";

interface OwnedRelationRow extends RelationRow {
  organisation_id: string;
}

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
      `SELECT ${ORGANISATION_COLUMNS} FROM organisations WHERE id = $1`,
      [id],
    );
    return (await this.#toOrganisations(rows))[0];
  }

  async findManyByIds(ids: readonly string[]): Promise<Organisation[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.#db.query<OrganisationRow>(
      `SELECT ${ORGANISATION_COLUMNS} FROM organisations WHERE id = ANY($1::text[]) ORDER BY id COLLATE "C"`,
      [ids],
    );
    return this.#toOrganisations(rows);
  }

  async list(page: KeysetPage): Promise<Keyed<Organisation>> {
    const { rows } = await this.#db.query<OrganisationRow>(
      `SELECT ${ORGANISATION_COLUMNS} FROM organisations WHERE seq > $1 ORDER BY seq LIMIT $2`,
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
      `INSERT INTO organisations (${ORGANISATION_INSERT_COLUMNS}) VALUES (${params(15)}) RETURNING seq`,
      organisationInsertValues(org, (shown) => shown),
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
      organisationUpdateValues(org, (shown) => shown),
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
    const { rows: relations } = await this.#db.query<OwnedRelationRow>(
      `SELECT organisation_id, relation, related_id FROM organisation_relations
       WHERE organisation_id = ANY($1::text[]) ORDER BY related_id COLLATE "C"`,
      [rows.map((row) => row.id)],
    );
    return rows.map((row) =>
      toOrganisation(
        row,
        relations.filter((r) => r.organisation_id === row.id),
      ),
    );
  }
}
