import type { Escn } from "../../../domain/escn.ts";
import type { Person, PersonLink } from "../../../domain/person.ts";
import type { StudentStatus } from "../../../domain/student-status.ts";
import type { ConnectorSyncRepository, SyncSnapshot } from "../../../ports/storage.ts";
import { CARD_SELECT, type CardRow, toCard } from "../rows/card-row.ts";
import {
  LINK_COLUMNS,
  LINK_ON_CONFLICT,
  type LinkRow,
  PERSON_COLUMNS,
  type PersonRow,
  toLink,
  toPerson,
} from "../rows/person-row.ts";
import {
  STATUS_INSERT_COLUMNS,
  STATUS_SELECT,
  type StatusRow,
  toStatus,
} from "../rows/student-status-row.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

/**
 * The sync engine's bulk reads and writes on PostgreSQL: each is one statement for the whole batch, the
 * rows passed as arrays (`unnest`), so that a batch costs a few round trips rather than one per row.
 */
export class PostgresConnectorSyncRepository implements ConnectorSyncRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async snapshot(
    organisationId: string,
    esiKeys: readonly string[],
    escns: readonly Escn[],
  ): Promise<SyncSnapshot> {
    const found = await this.#db.query<PersonRow>(
      `SELECT ${PERSON_COLUMNS} FROM persons p WHERE p.esi_key = ANY($1::text[])`,
      [esiKeys],
    );
    const persons = found.rows.map(toPerson);
    const ids = persons.map((p) => p.id);
    const links = await this.#db.query<LinkRow>(
      `SELECT ${LINK_COLUMNS} FROM person_links WHERE organisation_id = $1 AND person_id = ANY($2::bigint[])`,
      [organisationId, ids],
    );
    const statuses = await this.#db.query<StatusRow>(
      `${STATUS_SELECT} WHERE s.organisation_id = $1 AND s.person_id = ANY($2::bigint[])`,
      [organisationId, ids],
    );
    const cards = await this.#db.query<CardRow>(
      `${CARD_SELECT} WHERE (c.issuer_id = $1 AND c.person_id = ANY($2::bigint[])) OR c.escn = ANY($3::text[])`,
      [organisationId, ids, escns],
    );
    return {
      persons,
      links: links.rows.map(toLink),
      statuses: statuses.rows.map(toStatus),
      cards: cards.rows.map(toCard),
    };
  }

  async insertPersons(persons: readonly Omit<Person, "id">[]): Promise<Person[]> {
    if (persons.length === 0) return [];
    const { rows } = await this.#db.query<{ id: number | string; esi_key: string }>(
      `INSERT INTO persons (esi, esi_key, created_at, updated_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) RETURNING id, esi_key`,
      [
        persons.map((p) => p.esi),
        persons.map((p) => p.esiKey),
        persons.map((p) => p.createdAt),
        persons.map((p) => p.updatedAt),
      ],
    );
    // RETURNING promises no order: match the ids by the unique key.
    const ids = new Map(rows.map((r) => [r.esi_key, Number(r.id)]));
    return persons.map((person) => {
      const id = ids.get(person.esiKey);
      if (id === undefined) throw new TypeError(`no id returned for a new person`);
      return { ...person, id };
    });
  }

  async touchPersons(personIds: readonly number[], at: string): Promise<void> {
    if (personIds.length === 0) return;
    await this.#db.query("UPDATE persons SET updated_at = $1 WHERE id = ANY($2::bigint[])", [at, personIds]);
  }

  async upsertLinks(links: readonly PersonLink[]): Promise<void> {
    if (links.length === 0) return;
    await this.#db.query(
      `INSERT INTO person_links (${LINK_COLUMNS})
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::text[])
       ${LINK_ON_CONFLICT}`,
      [
        links.map((l) => l.personId),
        links.map((l) => l.organisationId),
        links.map((l) => l.fullName),
        links.map((l) => l.academicLevel),
        links.map((l) => l.email),
        links.map((l) => l.phone),
        links.map((l) => l.fax),
        links.map((l) => l.createdAt),
        links.map((l) => l.updatedAt),
      ],
    );
  }

  async insertStatuses(statuses: readonly Omit<StudentStatus, "version">[]): Promise<number> {
    if (statuses.length === 0) return 0;
    const result = await this.#db.query(
      `INSERT INTO student_statuses (${STATUS_INSERT_COLUMNS})
       SELECT *, 1 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
       ON CONFLICT (person_id, organisation_id) DO NOTHING`,
      [
        statuses.map((s) => s.personId),
        statuses.map((s) => s.organisationId),
        statuses.map((s) => s.state),
        statuses.map((s) => s.validFrom),
        statuses.map((s) => s.validUntil),
        statuses.map((s) => s.createdAt),
        statuses.map((s) => s.updatedAt),
      ],
    );
    return result.rowCount ?? 0;
  }
}
