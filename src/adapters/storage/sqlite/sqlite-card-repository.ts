import type BetterSqlite3 from "better-sqlite3";
import type { Card, CardStatus } from "../../../domain/card.ts";
import type { Escn } from "../../../domain/escn.ts";
import type { IsoDate } from "../../../domain/iso-date.ts";
import type {
  CardQuery,
  CardRepository,
  Counted,
  Keyed,
  KeysetPage,
  OffsetPage,
  PublicCardRecord,
} from "../../../ports/storage.ts";
import {
  CARD_INSERT_COLUMNS,
  CARD_SELECT,
  CARD_SORT_COLUMNS,
  type CardRow,
  cardInsertValues,
  cardUpdateValues,
  toCard,
} from "../rows/card-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";
import { containsPattern } from "./sqlite-like.ts";

/**
 * The public status in one statement: the card, its issuer, and whether its holder consents to the display
 * name being shown (a primary-key lookup in `consents`).
 */
const PUBLIC_SQL = `SELECT c.escn, c.status, c.issued_at, c.expires_at, c.display_name, c.issuer_id, c.person_id,
  o.name AS issuer_name, o.show_display_name, k.person_id IS NOT NULL AS display_name_consent
  FROM cards c JOIN organisations o ON o.id = c.issuer_id
  LEFT JOIN consents k ON k.person_id = c.person_id AND k.purpose = 'display-name-publication' AND k.state = 'given'
  WHERE c.escn = ?`;

const INSERT_SQL = `INSERT INTO cards (${CARD_INSERT_COLUMNS}) VALUES (${placeholders(14)})`;

/** The columns {@link SqliteCardRepository.findPublicNow} reads from {@link PUBLIC_SQL}, by name. */
const PUBLIC_COLUMNS = [
  "escn",
  "status",
  "issued_at",
  "expires_at",
  "display_name",
  "issuer_id",
  "person_id",
  "issuer_name",
  "show_display_name",
  "display_name_consent",
] as const;

/** A statement of its own that answers rows as arrays, with the position of each named column. */
interface RawQuery<C extends string> {
  readonly statement: BetterSqlite3.Statement;
  readonly at: Readonly<Record<C, number>>;
}

function rawQuery<C extends string>(db: SqliteConnection, sql: string, columns: readonly C[]): RawQuery<C> {
  const statement = db.raw.prepare(sql).raw(true);
  const names = statement.columns().map((column) => column.name);
  const at = {} as Record<C, number>;
  for (const column of columns) {
    const index = names.indexOf(column);
    if (index < 0) throw new TypeError(`the query has no column ${column}: ${sql}`);
    at[column] = index;
  }
  return { statement, at };
}

export class SqliteCardRepository implements CardRepository {
  readonly #db: SqliteConnection;
  #publicQuery: RawQuery<(typeof PUBLIC_COLUMNS)[number]> | undefined;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async findByEscn(escn: Escn): Promise<Card | undefined> {
    const row = this.#db.get<CardRow>(`${CARD_SELECT} WHERE c.escn = ?`, escn);
    return row && toCard(row);
  }

  /** SQLite runs one writer at a time: a plain read is already as good as a lock. */
  async findForUpdate(escn: Escn): Promise<Card | undefined> {
    return this.findByEscn(escn);
  }

  async findPublic(escn: Escn): Promise<PublicCardRecord | undefined> {
    return this.findPublicNow(escn);
  }

  /** The hot path without a promise, for callers that can stay synchronous. */
  findPublicNow(escn: Escn): PublicCardRecord | undefined {
    // Rows as arrays: building an object with ten named fields per lookup costs more than the lookup's B-tree work.
    this.#publicQuery ??= rawQuery(this.#db, PUBLIC_SQL, PUBLIC_COLUMNS);
    const { statement, at } = this.#publicQuery;
    const row = statement.get(escn) as unknown[] | undefined;
    if (!row) return undefined;
    return {
      escn: row[at.escn] as Escn,
      status: row[at.status] as CardStatus,
      issuedAt: row[at.issued_at] as IsoDate,
      expiresAt: row[at.expires_at] as IsoDate,
      displayName: row[at.display_name] as string | null,
      issuerId: row[at.issuer_id] as string,
      issuerName: row[at.issuer_name] as string,
      issuerShowsDisplayName: row[at.show_display_name] === 1,
      holderConsentsToDisplayName: row[at.display_name_consent] === 1,
      personId: row[at.person_id] as number,
    };
  }

  async insert(card: Omit<Card, "version">): Promise<Card> {
    this.#db.run(INSERT_SQL, ...cardInsertValues(card));
    return { ...card, version: 1 };
  }

  async insertMany(cards: readonly Omit<Card, "version">[]): Promise<number> {
    const stmt = this.#db.statement(INSERT_SQL);
    for (const card of cards) stmt.run(...cardInsertValues(card));
    return cards.length;
  }

  async update(card: Card): Promise<Card | undefined> {
    const result = this.#db.run(
      `UPDATE cards SET person_id = ?, processor_id = ?, card_type = ?, status = ?, inactive_reason = ?, issued_at = ?,
        expires_at = ?, display_name = ?, chip_uid = ?, updated_at = ?, version = version + 1
       WHERE escn = ? AND version = ?`,
      ...cardUpdateValues(card),
    );
    return result.changes === 0 ? undefined : { ...card, version: card.version + 1 };
  }

  async delete(escn: Escn): Promise<void> {
    this.#db.run("DELETE FROM cards WHERE escn = ?", escn);
  }

  async countForPerson(personId: number, issuerIds: readonly string[]): Promise<number> {
    if (issuerIds.length === 0) return 0;
    return (
      this.#db.get<{ n: number }>(
        `SELECT count(*) AS n FROM cards WHERE person_id = ? AND issuer_id IN (${placeholders(issuerIds.length)})`,
        personId,
        ...issuerIds,
      )?.n ?? 0
    );
  }

  async listForPerson(personId: number): Promise<Card[]> {
    return this.#db.all<CardRow>(`${CARD_SELECT} WHERE c.person_id = ? ORDER BY c.id`, personId).map(toCard);
  }

  async listExpiredBefore(before: IsoDate, limit: number): Promise<Card[]> {
    return this.#db
      .all<CardRow>(
        `${CARD_SELECT} WHERE c.expires_at < ? ORDER BY c.expires_at, c.id LIMIT ?`,
        before,
        limit,
      )
      .map(toCard);
  }

  async listExpiringBetween(from: IsoDate, through: IsoDate, page: KeysetPage): Promise<Keyed<Card>> {
    const rows = this.#db.all<CardRow>(
      `${CARD_SELECT} WHERE c.id > ? AND c.expires_at BETWEEN ? AND ? ORDER BY c.id LIMIT ?`,
      page.after,
      from,
      through,
      page.limit + 1,
    );
    return keyedCards(rows, page.limit);
  }

  #visibility(query: CardQuery): { clause: string; params: unknown[] } {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (query.issuerIds.length > 0) {
      parts.push(`c.issuer_id IN (${placeholders(query.issuerIds.length)})`);
      params.push(...query.issuerIds);
    }
    if (query.processorId !== null) {
      parts.push("c.processor_id = ?");
      params.push(query.processorId);
    }
    let clause = parts.length === 0 ? "0" : `(${parts.join(" OR ")})`;
    if (query.status !== null) {
      clause += " AND c.status = ?";
      params.push(query.status);
    }
    return { clause, params };
  }

  async listPaged(query: CardQuery, page: OffsetPage): Promise<Counted<Card>> {
    const visible = this.#visibility(query);
    let where = visible.clause;
    const params = [...visible.params];
    if (page.search !== null) {
      where +=
        " AND (c.escn LIKE ? ESCAPE '\\' OR lower(c.display_name) LIKE ? ESCAPE '\\' OR p.esi_key LIKE ? ESCAPE '\\')";
      const pattern = containsPattern(page.search);
      params.push(pattern, pattern, pattern);
    }
    const total =
      this.#db.get<{ n: number }>(
        `SELECT count(*) AS n FROM cards c JOIN persons p ON p.id = c.person_id WHERE ${where}`,
        ...params,
      )?.n ?? 0;
    const column = CARD_SORT_COLUMNS[page.sort] ?? "c.id";
    const rows = this.#db.all<CardRow>(
      `${CARD_SELECT} WHERE ${where} ORDER BY ${column} ${page.direction}, c.id ${page.direction} LIMIT ? OFFSET ?`,
      ...params,
      page.limit,
      page.offset,
    );
    return { items: rows.map(toCard), total };
  }

  async listAfter(query: CardQuery, page: KeysetPage): Promise<Keyed<Card>> {
    const visible = this.#visibility(query);
    const rows = this.#db.all<CardRow>(
      `${CARD_SELECT} WHERE c.id > ? AND ${visible.clause} ORDER BY c.id LIMIT ?`,
      page.after,
      ...visible.params,
      page.limit + 1,
    );
    return keyedCards(rows, page.limit);
  }
}

/** A keyset page from `limit + 1` rows ordered by id: the extra row only tells that there is a next page. */
function keyedCards(rows: readonly CardRow[], limit: number): Keyed<Card> {
  const first = rows.slice(0, limit);
  const last = first.at(-1);
  return { items: first.map(toCard), next: rows.length > limit && last ? Number(last.id) : null };
}
