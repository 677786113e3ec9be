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
  type PersonRow,
  toLink,
  toPerson,
} from "../rows/person-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";
import { containsPattern } from "./sqlite-like.ts";

const SORT_COLUMNS: Record<string, string> = {
  identifier: "p.esi_key",
  fullName: "full_name",
  createdAt: "p.created_at",
};

export class SqlitePersonRepository implements PersonRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async findByKey(esiKey: string): Promise<Person | undefined> {
    const row = this.#db.get<PersonRow>("SELECT * FROM persons WHERE esi_key = ?", esiKey);
    return row && toPerson(row);
  }

  async insert(person: Omit<Person, "id">): Promise<Person> {
    const result = this.#db.run(
      "INSERT INTO persons (esi, esi_key, created_at, updated_at) VALUES (?, ?, ?, ?)",
      person.esi,
      person.esiKey,
      person.createdAt,
      person.updatedAt,
    );
    return { ...person, id: Number(result.lastInsertRowid) };
  }

  async touch(personId: number, at: string): Promise<void> {
    this.#db.run("UPDATE persons SET updated_at = ? WHERE id = ?", at, personId);
  }

  async delete(personId: number): Promise<void> {
    this.#db.run("DELETE FROM persons WHERE id = ?", personId);
  }

  async links(personId: number): Promise<PersonLink[]> {
    return this.#db
      .all<LinkRow>("SELECT * FROM person_links WHERE person_id = ? ORDER BY organisation_id", personId)
      .map(toLink);
  }

  async findLink(personId: number, organisationId: string): Promise<PersonLink | undefined> {
    const row = this.#db.get<LinkRow>(
      "SELECT * FROM person_links WHERE person_id = ? AND organisation_id = ?",
      personId,
      organisationId,
    );
    return row && toLink(row);
  }

  async upsertLink(link: PersonLink): Promise<void> {
    this.#db.run(
      `INSERT INTO person_links (${LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ${LINK_ON_CONFLICT}`,
      ...linkValues(link),
    );
  }

  async deleteLink(personId: number, organisationId: string): Promise<void> {
    this.#db.run(
      "DELETE FROM person_links WHERE person_id = ? AND organisation_id = ?",
      personId,
      organisationId,
    );
  }

  async listPaged(query: PersonQuery, page: OffsetPage): Promise<Counted<Person>> {
    if (query.organisationIds.length === 0) return { items: [], total: 0 };
    const orgs = placeholders(query.organisationIds.length);
    const searchClause =
      page.search === null
        ? ""
        : " AND (p.esi_key LIKE ? ESCAPE '\\' OR lower(l.full_name) LIKE ? ESCAPE '\\')";
    const searchParams =
      page.search === null ? [] : [containsPattern(page.search), containsPattern(page.search)];
    const where = `EXISTS (SELECT 1 FROM person_links l WHERE l.person_id = p.id AND l.organisation_id IN (${orgs})${searchClause})`;
    const total = this.#db.get<{ n: number }>(
      `SELECT count(*) AS n FROM persons p WHERE ${where}`,
      ...query.organisationIds,
      ...searchParams,
    )?.n;
    const column = SORT_COLUMNS[page.sort] ?? "p.id";
    const rows = this.#db.all<PersonRow>(
      `SELECT p.*, (SELECT min(l2.full_name) FROM person_links l2 WHERE l2.person_id = p.id AND l2.organisation_id IN (${orgs})) AS full_name
       FROM persons p WHERE ${where}
       ORDER BY ${column} ${page.direction}, p.id ${page.direction} LIMIT ? OFFSET ?`,
      ...query.organisationIds,
      ...query.organisationIds,
      ...searchParams,
      page.limit,
      page.offset,
    );
    return { items: rows.map(toPerson), total: total ?? 0 };
  }

  async listAfter(query: PersonQuery, page: KeysetPage): Promise<Keyed<Person>> {
    if (query.organisationIds.length === 0) return { items: [], next: null };
    const orgs = placeholders(query.organisationIds.length);
    const rows = this.#db.all<PersonRow>(
      `SELECT p.* FROM persons p
       WHERE p.id > ? AND EXISTS (SELECT 1 FROM person_links l WHERE l.person_id = p.id AND l.organisation_id IN (${orgs}))
       ORDER BY p.id LIMIT ?`,
      page.after,
      ...query.organisationIds,
      page.limit + 1,
    );
    const items = rows.slice(0, page.limit).map(toPerson);
    return { items, next: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
  }

  async listUnlinked(limit: number): Promise<Person[]> {
    return this.#db
      .all<PersonRow>(
        `SELECT p.* FROM persons p
         WHERE NOT EXISTS (SELECT 1 FROM person_links l WHERE l.person_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.person_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM student_statuses s WHERE s.person_id = p.id)
         ORDER BY p.id LIMIT ?`,
        limit,
      )
      .map(toPerson);
  }
}
