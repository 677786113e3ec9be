import type { Escn } from "../../../domain/escn.ts";
import type { Person, PersonLink } from "../../../domain/person.ts";
import type { StudentStatus } from "../../../domain/student-status.ts";
import type { ConnectorSyncRepository, SyncSnapshot } from "../../../ports/storage.ts";
import { CARD_SELECT, type CardRow, toCard } from "../rows/card-row.ts";
import {
  LINK_COLUMNS,
  LINK_ON_CONFLICT,
  type LinkRow,
  linkValues,
  type PersonRow,
  toLink,
  toPerson,
} from "../rows/person-row.ts";
import {
  STATUS_INSERT_COLUMNS,
  type StatusRow,
  statusInsertValues,
  toStatus,
} from "../rows/student-status-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

/**
 * A whole batch's keys go in as one JSON array (`json_each`), so that each read is one prepared statement
 * whatever the batch size, instead of one statement per length of an `IN (?, ?, …)` list.
 */
const IN_LIST = "(SELECT value FROM json_each(?))";

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
    const persons = this.#db
      .all<PersonRow>(`SELECT * FROM persons WHERE esi_key IN ${IN_LIST}`, JSON.stringify(esiKeys))
      .map(toPerson);
    const ids = JSON.stringify(persons.map((p) => p.id));
    // The holder's ESI comes from the persons just read: no join back to them per row.
    const esiOf = new Map(persons.map((p) => [p.id, p.esi]));
    const withEsi = <R extends { person_id: number | string }>(row: R) => ({
      ...row,
      esi: esiOf.get(Number(row.person_id)) ?? "",
    });
    const links = this.#db
      .all<LinkRow>(
        `SELECT * FROM person_links WHERE organisation_id = ? AND person_id IN ${IN_LIST}`,
        organisationId,
        ids,
      )
      .map(toLink);
    const statuses = this.#db
      .all<Omit<StatusRow, "esi">>(
        `SELECT * FROM student_statuses WHERE organisation_id = ? AND person_id IN ${IN_LIST}`,
        organisationId,
        ids,
      )
      .map((row) => toStatus(withEsi(row)));
    // `+issuer_id`: look the cards up by holder (cards_person), not by scanning all the issuer's cards,
    // which the planner would otherwise pick without statistics.
    const held = this.#db
      .all<Omit<CardRow, "esi">>(
        `SELECT * FROM cards WHERE +issuer_id = ? AND person_id IN ${IN_LIST}`,
        organisationId,
        ids,
      )
      .map(withEsi);
    const named =
      escns.length === 0
        ? []
        : this.#db.all<CardRow>(`${CARD_SELECT} WHERE c.escn IN ${IN_LIST}`, JSON.stringify(escns));
    const cards = new Map([...held, ...named].map((row) => [row.escn, toCard(row)]));
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
