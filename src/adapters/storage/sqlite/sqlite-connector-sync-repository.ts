import type { AcademicLevel } from "../../../domain/academic-level.ts";
import type { Card } from "../../../domain/card.ts";
import type { Escn } from "../../../domain/escn.ts";
import type { IsoDate } from "../../../domain/iso-date.ts";
import type { Person, PersonLink } from "../../../domain/person.ts";
import type { StudentStatus, StudentStatusState } from "../../../domain/student-status.ts";
import type { ConnectorSyncRepository, SyncSnapshot } from "../../../ports/storage.ts";
import { CARD_SELECT, type CardRow, toCard } from "../rows/card-row.ts";
import { LINK_COLUMNS, LINK_ON_CONFLICT, linkValues, type PersonRow, toPerson } from "../rows/person-row.ts";
import { STATUS_INSERT_COLUMNS, statusInsertValues } from "../rows/student-status-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

/**
 * A whole batch's keys go in as one JSON array (`json_each`), so that each read is one prepared statement
 * whatever the batch size, instead of one statement per length of an `IN (?, ?, …)` list.
 */
const IN_LIST = "(SELECT value FROM json_each(?))";

/** A person with their link and status at one organisation, each null when there is none. */
interface PersonStateRow extends PersonRow {
  l_full_name: string | null;
  l_academic_level: AcademicLevel | null;
  l_email: string | null;
  l_phone: string | null;
  l_fax: string | null;
  l_created_at: string;
  l_updated_at: string;
  s_state: StudentStatusState | null;
  s_valid_from: string;
  s_valid_until: string | null;
  s_created_at: string;
  s_updated_at: string;
  s_version: number;
}

/** Parameters: the organisation (twice), the ESI keys as a JSON array. */
const PERSON_STATE_SELECT = `SELECT p.id, p.esi, p.esi_key, p.created_at, p.updated_at,
    l.full_name AS l_full_name, l.academic_level AS l_academic_level, l.email AS l_email, l.phone AS l_phone,
    l.fax AS l_fax, l.created_at AS l_created_at, l.updated_at AS l_updated_at,
    s.state AS s_state, s.valid_from AS s_valid_from, s.valid_until AS s_valid_until,
    s.created_at AS s_created_at, s.updated_at AS s_updated_at, s.version AS s_version
  FROM persons p
  LEFT JOIN person_links l ON l.person_id = p.id AND l.organisation_id = ?
  LEFT JOIN student_statuses s ON s.person_id = p.id AND s.organisation_id = ?
  WHERE p.esi_key IN ${IN_LIST}`;

const linkOf = (row: PersonStateRow, organisationId: string): PersonLink => ({
  personId: Number(row.id),
  organisationId,
  fullName: row.l_full_name as string,
  academicLevel: row.l_academic_level,
  email: row.l_email,
  phone: row.l_phone,
  fax: row.l_fax,
  createdAt: row.l_created_at,
  updatedAt: row.l_updated_at,
});

const statusOf = (row: PersonStateRow, person: Person, organisationId: string): StudentStatus => ({
  personId: person.id,
  esi: person.esi,
  organisationId,
  state: row.s_state as StudentStatusState,
  validFrom: row.s_valid_from as IsoDate,
  validUntil: row.s_valid_until as IsoDate | null,
  createdAt: row.s_created_at,
  updatedAt: row.s_updated_at,
  version: row.s_version,
});

/** The sync engine's bulk reads and writes on SQLite. */
export class SqliteConnectorSyncRepository implements ConnectorSyncRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async snapshot(
    organisationId: string,
    esiKeys: readonly string[],
    escns: readonly Escn[],
  ): Promise<SyncSnapshot> {
    const persons: Person[] = [];
    const links: PersonLink[] = [];
    const statuses: StudentStatus[] = [];
    // Each person with their link and status at the organisation, in one statement: a student the batch
    // holds costs one seek per table, not one per table and statement.
    for (const row of this.#db.all<PersonStateRow>(
      PERSON_STATE_SELECT,
      organisationId,
      organisationId,
      JSON.stringify(esiKeys),
    )) {
      const person = toPerson(row);
      persons.push(person);
      if (row.l_full_name !== null) links.push(linkOf(row, organisationId));
      if (row.s_state !== null) statuses.push(statusOf(row, person, organisationId));
    }
    const cards = new Map<string, Card>();
    if (persons.length > 0) {
      const esiOf = new Map(persons.map((p) => [p.id, p.esi]));
      // `+issuer_id`: look the cards up by holder (cards_person), not by scanning all the issuer's cards,
      // which the planner would otherwise pick without statistics.
      const held = this.#db.all<Omit<CardRow, "esi">>(
        `SELECT * FROM cards WHERE +issuer_id = ? AND person_id IN ${IN_LIST}`,
        organisationId,
        JSON.stringify(persons.map((p) => p.id)),
      );
      for (const row of held)
        cards.set(row.escn, toCard({ ...row, esi: esiOf.get(Number(row.person_id)) ?? "" }));
    }
    // A number among the holders' own cards is that card: only the others are looked up (in a file read
    // again, none), whoever issued or holds them.
    const named = escns.filter((escn) => !cards.has(escn));
    if (named.length > 0) {
      for (const row of this.#db.all<CardRow>(
        `${CARD_SELECT} WHERE c.escn IN ${IN_LIST}`,
        JSON.stringify(named),
      )) {
        cards.set(row.escn, toCard(row));
      }
    }
    return { persons, links, statuses, cards: [...cards.values()] };
  }

  async insertPersons(persons: readonly Omit<Person, "id">[]): Promise<Person[]> {
    const insert = this.#db.statement(
      "INSERT INTO persons (esi, esi_key, created_at, updated_at) VALUES (?, ?, ?, ?)",
    );
    return persons.map((person) => {
      const result = insert.run(person.esi, person.esiKey, person.createdAt, person.updatedAt);
      return { ...person, id: Number(result.lastInsertRowid) };
    });
  }

  async touchPersons(personIds: readonly number[], at: string): Promise<void> {
    if (personIds.length === 0) return;
    this.#db.run(`UPDATE persons SET updated_at = ? WHERE id IN ${IN_LIST}`, at, JSON.stringify(personIds));
  }

  async upsertLinks(links: readonly PersonLink[]): Promise<void> {
    const upsert = this.#db.statement(
      `INSERT INTO person_links (${LINK_COLUMNS}) VALUES (${placeholders(9)}) ${LINK_ON_CONFLICT}`,
    );
    for (const link of links) upsert.run(...linkValues(link));
  }

  async insertStatuses(statuses: readonly Omit<StudentStatus, "version">[]): Promise<number> {
    const insert = this.#db.statement(
      `INSERT INTO student_statuses (${STATUS_INSERT_COLUMNS}) VALUES (${placeholders(8)})
       ON CONFLICT (person_id, organisation_id) DO NOTHING`,
    );
    let inserted = 0;
    for (const status of statuses) inserted += insert.run(...statusInsertValues(status)).changes;
    return inserted;
  }
}
