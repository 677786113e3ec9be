import type { Person, PersonLink } from "../../../domain/person.ts";
import type {
  Counted,
  Keyed,
  KeysetPage,
  OffsetPage,
  PersonQuery,
  PersonRepository,
} from "../../../ports/storage.ts";
import {
  LINK_COLUMNS,
  LINK_ON_CONFLICT,
  type LinkRow,
  linkValues,
  PERSON_COLUMNS,
  type PersonRow,
  toLink,
  toPerson,
} from "../rows/person-row.ts";
import { containsPattern } from "../sqlite/sqlite-like.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

/**
 * Sort keys of the ESC-R listing. Text sorts in byte order (`COLLATE "C"`), as on SQLite; `full_name`
 * is the output column, already computed in that collation.
 */
const SORT_COLUMNS: Record<string, string> = {
  identifier: 'p.esi_key COLLATE "C"',
  fullName: "full_name",
  createdAt: 'p.created_at COLLATE "C"',
};

/** Persons and their links on PostgreSQL: the same statements as on SQLite (`../sqlite/sqlite-person-repository.ts`). */
export class PostgresPersonRepository implements PersonRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async findByKey(esiKey: string): Promise<Person | undefined> {
    const { rows } = await this.#db.query<PersonRow>(
      `SELECT ${PERSON_COLUMNS} FROM persons p WHERE p.esi_key = $1`,
      [esiKey],
    );
    return rows[0] && toPerson(rows[0]);
  }

  async insert(person: Omit<Person, "id">): Promise<Person> {
    const { rows } = await this.#db.query<{ id: string | number }>(
      "INSERT INTO persons (esi, esi_key, created_at, updated_at) VALUES ($1, $2, $3, $4) RETURNING id",
      [person.esi, person.esiKey, person.createdAt, person.updatedAt],
    );
    return { ...person, id: Number(rows[0]?.id) };
  }

  async touch(personId: number, at: string): Promise<void> {
    await this.#db.query("UPDATE persons SET updated_at = $1 WHERE id = $2", [at, personId]);
  }

  async delete(personId: number): Promise<void> {
    await this.#db.query("DELETE FROM persons WHERE id = $1", [personId]);
  }

  async links(personId: number): Promise<PersonLink[]> {
    const { rows } = await this.#db.query<LinkRow>(
      `SELECT ${LINK_COLUMNS} FROM person_links WHERE person_id = $1 ORDER BY organisation_id COLLATE "C"`,
      [personId],
    );
    return rows.map(toLink);
  }

  async findLink(personId: number, organisationId: string): Promise<PersonLink | undefined> {
    const { rows } = await this.#db.query<LinkRow>(
      `SELECT ${LINK_COLUMNS} FROM person_links WHERE person_id = $1 AND organisation_id = $2`,
      [personId, organisationId],
    );
    return rows[0] && toLink(rows[0]);
  }

  async upsertLink(link: PersonLink): Promise<void> {
    await this.#db.query(
      `INSERT INTO person_links (${LINK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ${LINK_ON_CONFLICT}`,
      linkValues(link),
    );
  }

  async deleteLink(personId: number, organisationId: string): Promise<void> {
    await this.#db.query("DELETE FROM person_links WHERE person_id = $1 AND organisation_id = $2", [
      personId,
      organisationId,
    ]);
  }

  /**
   * The search matches the ESI key or the lower-cased name of a visible link anywhere, with `%`, `_` and
   * `\` in the search text taken literally (the same pattern as on SQLite). The key is lower-cased too:
   * SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
   */
  async listPaged(query: PersonQuery, page: OffsetPage): Promise<Counted<Person>> {
    if (query.organisationIds.length === 0) return { items: [], total: 0 };
    const values: unknown[] = [query.organisationIds];
    let searchClause = "";
    if (page.search !== null) {
      values.push(containsPattern(page.search));
      searchClause = " AND (lower(p.esi_key) LIKE $2 ESCAPE '\\' OR lower(l.full_name) LIKE $2 ESCAPE '\\')";
    }
    const where = `EXISTS (SELECT 1 FROM person_links l WHERE l.person_id = p.id AND l.organisation_id = ANY($1::text[])${searchClause})`;
    const counted = await this.#db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM persons p WHERE ${where}`,
      values,
    );
    const column = SORT_COLUMNS[page.sort] ?? "p.id";
    const direction = page.direction === "DESC" ? "DESC" : "ASC";
    const limit = values.length + 1;
    const { rows } = await this.#db.query<PersonRow>(
      `SELECT ${PERSON_COLUMNS},
         (SELECT min(l2.full_name COLLATE "C") FROM person_links l2
          WHERE l2.person_id = p.id AND l2.organisation_id = ANY($1::text[])) AS full_name
       FROM persons p WHERE ${where}
       ORDER BY ${column} ${direction}, p.id ${direction} LIMIT $${limit} OFFSET $${limit + 1}`,
      [...values, page.limit, page.offset],
    );
    return { items: rows.map(toPerson), total: Number(counted.rows[0]?.n ?? 0) };
  }

  async listAfter(query: PersonQuery, page: KeysetPage): Promise<Keyed<Person>> {
    if (query.organisationIds.length === 0) return { items: [], next: null };
    const { rows } = await this.#db.query<PersonRow>(
      `SELECT ${PERSON_COLUMNS} FROM persons p
       WHERE p.id > $1
         AND EXISTS (SELECT 1 FROM person_links l WHERE l.person_id = p.id AND l.organisation_id = ANY($2::text[]))
       ORDER BY p.id LIMIT $3`,
      [page.after, query.organisationIds, page.limit + 1],
    );
    const items = rows.slice(0, page.limit).map(toPerson);
    return { items, next: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
  }

  async listUnlinked(limit: number): Promise<Person[]> {
    const { rows } = await this.#db.query<PersonRow>(
      `SELECT ${PERSON_COLUMNS} FROM persons p
       WHERE NOT EXISTS (SELECT 1 FROM person_links l WHERE l.person_id = p.id)
         AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.person_id = p.id)
         AND NOT EXISTS (SELECT 1 FROM student_statuses s WHERE s.person_id = p.id)
       ORDER BY p.id LIMIT $1`,
      [limit],
    );
    return rows.map(toPerson);
  }
}
