import type { AcademicLevel } from "../../../domain/academic-level.ts";
import type { Card } from "../../../domain/card.ts";
import type { Escn } from "../../../domain/escn.ts";
import type { IsoDate } from "../../../domain/iso-date.ts";
import type { Person, PersonLink } from "../../../domain/person.ts";
import type { StudentStatus, StudentStatusState } from "../../../domain/student-status.ts";
import type { ConnectorSyncRepository, SyncSnapshot } from "../../../ports/storage.ts";
import { CARD_SELECT, type CardRow, toCard } from "../rows/card-row.ts";
import { LINK_COLUMNS, LINK_ON_CONFLICT, linkValues } from "../rows/person-row.ts";
import { STATUS_INSERT_COLUMNS, statusInsertValues } from "../rows/student-status-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

/**
 * A whole batch's keys go in as one JSON array (`json_each`), so that each read is one prepared statement
 * whatever the batch size, instead of one statement per length of an `IN (?, ?, …)` list.
 */
const IN_LIST = "(SELECT value FROM json_each(?))";

/*
 * The snapshot's reads answer arrays, not objects (better-sqlite3's raw mode): a batch's rows become the
 * domain's objects once, without a row object of named columns each on the way. Their statements are
 * this repository's own, so raw mode changes no other reader's answers.
 */

/** A person and their link and status at one organisation (link and status columns null when none). */
type PersonStateRow = [
  id: number,
  esi: string,
  esiKey: string,
  createdAt: string,
  updatedAt: string,
  fullName: string | null,
  academicLevel: AcademicLevel | null,
  email: string | null,
  phone: string | null,
  fax: string | null,
  linkCreatedAt: string,
  linkUpdatedAt: string,
  state: StudentStatusState | null,
  validFrom: IsoDate,
  validUntil: IsoDate | null,
  statusCreatedAt: string,
  statusUpdatedAt: string,
  version: number,
];

/** Parameters: the organisation (twice), the ESI keys as a JSON array. */
const PERSON_STATE_SELECT = `SELECT p.id, p.esi, p.esi_key, p.created_at, p.updated_at,
    l.full_name, l.academic_level, l.email, l.phone, l.fax, l.created_at, l.updated_at,
    s.state, s.valid_from, s.valid_until, s.created_at, s.updated_at, s.version
  FROM persons p
  LEFT JOIN person_links l ON l.person_id = p.id AND l.organisation_id = ?
  LEFT JOIN student_statuses s ON s.person_id = p.id AND s.organisation_id = ?
  WHERE p.esi_key IN ${IN_LIST}`;

/** A card of the organisation's, without its holder's ESI. */
type HeldCardRow = [
  escn: Escn,
  personId: number,
  issuerId: string,
  processorId: string | null,
  cardType: Card["cardType"],
  status: Card["status"],
  inactiveReason: Card["inactiveReason"],
  issuedAt: IsoDate,
  expiresAt: IsoDate,
  displayName: string | null,
  chipUid: string | null,
  createdAt: string,
  updatedAt: string,
  version: number,
];

/**
 * Parameters: the organisation, the holders' ids as a JSON array. `+issuer_id`: the cards are looked up by
 * holder (cards_person), not by scanning all the issuer's cards, which the planner would otherwise pick
 * without statistics.
 */
const HELD_CARDS_SELECT = `SELECT escn, person_id, issuer_id, processor_id, card_type, status, inactive_reason,
    issued_at, expires_at, display_name, chip_uid, created_at, updated_at, version
  FROM cards WHERE +issuer_id = ? AND person_id IN ${IN_LIST}`;

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
    const rows = this.#rows<PersonStateRow>(
      PERSON_STATE_SELECT,
      organisationId,
      organisationId,
      JSON.stringify(esiKeys),
    );
    const esiOf = new Map<number, string>();
    for (const r of rows) {
      const id = r[0];
      const esi = r[1];
      persons.push({ id, esi, esiKey: r[2], createdAt: r[3], updatedAt: r[4] });
      esiOf.set(id, esi);
      const fullName = r[5];
      if (fullName !== null) {
        links.push({
          personId: id,
          organisationId,
          fullName,
          academicLevel: r[6],
          email: r[7],
          phone: r[8],
          fax: r[9],
          createdAt: r[10],
          updatedAt: r[11],
        });
      }
      const state = r[12];
      if (state !== null) {
        statuses.push({
          personId: id,
          esi,
          organisationId,
          state,
          validFrom: r[13],
          validUntil: r[14],
          createdAt: r[15],
          updatedAt: r[16],
          version: r[17],
        });
      }
    }
    const cards = new Map<string, Card>();
    if (persons.length > 0) {
      const held = this.#rows<HeldCardRow>(
        HELD_CARDS_SELECT,
        organisationId,
        JSON.stringify([...esiOf.keys()]),
      );
      for (const r of held) {
        const escn = r[0];
        const personId = r[1];
        cards.set(escn, {
          escn,
          personId,
          esi: esiOf.get(personId) ?? "",
          issuerId: r[2],
          processorId: r[3],
          cardType: r[4],
          status: r[5],
          inactiveReason: r[6],
          issuedAt: r[7],
          expiresAt: r[8],
          displayName: r[9],
          chipUid: r[10],
          createdAt: r[11],
          updatedAt: r[12],
          version: r[13],
        });
      }
    }
    // A number among the holders' own cards is that card: only the others are looked up (in a file read
    // again, none), whoever issued or holds them.
    const named = escns.filter((escn) => !cards.has(escn));
    if (named.length > 0) {
      const rows = this.#db.all<CardRow>(`${CARD_SELECT} WHERE c.escn IN ${IN_LIST}`, JSON.stringify(named));
      for (const row of rows) cards.set(row.escn, toCard(row));
    }
    return { persons, links, statuses, cards: [...cards.values()] };
  }

  /** The rows of one of this repository's reads, as arrays in the order of its columns. */
  #rows<T>(sql: string, ...params: unknown[]): T[] {
    return this.#db
      .statement(sql)
      .raw(true)
      .all(...params) as T[];
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
