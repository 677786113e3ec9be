import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
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
import { type PostgresQueryable, params } from "./postgres-connection.ts";

interface PublicRow {
  escn: string;
  status: CardStatus;
  issued_at: string;
  expires_at: string;
  display_name: string | null;
  issuer_id: string;
  person_id: string;
  issuer_name: string;
  show_display_name: boolean;
  display_name_consent: boolean;
}

/** The public status in one statement: the card, its issuer, and the holder's display-name consent. */
const PUBLIC_SQL = `SELECT c.escn, c.status, c.issued_at, c.expires_at, c.display_name, c.issuer_id, c.person_id,
  o.name AS issuer_name, o.show_display_name, k.person_id IS NOT NULL AS display_name_consent
  FROM cards c JOIN organisations o ON o.id = c.issuer_id
  LEFT JOIN consents k ON k.person_id = c.person_id AND k.purpose = 'display-name-publication' AND k.state = 'given'
  WHERE c.escn = $1`;

const COLUMN_COUNT = 14;

/** Rows per multi-row INSERT when COPY is not available: 14,000 parameters, far below the 65,535 limit. */
const INSERT_CHUNK = 1000;
/** Rows per string written to the COPY stream: fewer, larger writes. */
const COPY_CHUNK = 500;

/**
 * Sort keys of the ESC-R listing. Display names sort in byte order (`COLLATE "C"`) as SQLite's default
 * collation does; the other keys have a fixed format that sorts the same under any collation. SQLite puts
 * NULLs first in ascending order, PostgreSQL last: {@link nulls} restores SQLite's order.
 */
const SORT_COLUMNS: Record<string, string> = {
  ...CARD_SORT_COLUMNS,
  displayName: `c.display_name COLLATE "C"`,
};
const nulls = (direction: "ASC" | "DESC"): string => (direction === "ASC" ? "NULLS FIRST" : "NULLS LAST");

/** One value in COPY's text format: `\N` for NULL, and backslash, tab, newline and CR escaped. */
function copyField(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  return String(value).replace(/[\\\t\n\r]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}

/** The COPY text of `cards` in strings of {@link COPY_CHUNK} rows (exported for the bulk-load benchmark's raw ceiling). */
export function* copyLines(cards: readonly Omit<Card, "version">[]): Generator<string> {
  for (let i = 0; i < cards.length; i += COPY_CHUNK) {
    let text = "";
    for (const card of cards.slice(i, i + COPY_CHUNK))
      text += `${cardInsertValues(card).map(copyField).join("\t")}\n`;
    yield text;
  }
}

/** A LIKE pattern that matches `text` anywhere, lower-cased, with `\`, `%` and `_` escaped (`ESCAPE '\'`). */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Cards on PostgreSQL: the same queries as on SQLite (`../sqlite/sqlite-card-repository.ts`). */
export class PostgresCardRepository implements CardRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async findByEscn(escn: Escn): Promise<Card | undefined> {
    const { rows } = await this.#db.query<CardRow>(`${CARD_SELECT} WHERE c.escn = $1`, [escn]);
    return rows[0] && toCard(rows[0]);
  }

  async findForUpdate(escn: Escn): Promise<Card | undefined> {
    const { rows } = await this.#db.query<CardRow>(`${CARD_SELECT} WHERE c.escn = $1 FOR UPDATE OF c`, [
      escn,
    ]);
    return rows[0] && toCard(rows[0]);
  }

  async findPublic(escn: Escn): Promise<PublicCardRecord | undefined> {
    const { rows } = await this.#db.query<PublicRow>(PUBLIC_SQL, [escn]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      escn: row.escn as Escn,
      status: row.status,
      issuedAt: row.issued_at as IsoDate,
      expiresAt: row.expires_at as IsoDate,
      displayName: row.display_name,
      issuerId: row.issuer_id,
      issuerName: row.issuer_name,
      issuerShowsDisplayName: row.show_display_name,
      holderConsentsToDisplayName: row.display_name_consent,
      personId: Number(row.person_id),
    };
  }

  async insert(card: Omit<Card, "version">): Promise<Card> {
    await this.#db.query(
      `INSERT INTO cards (${CARD_INSERT_COLUMNS}) VALUES (${params(COLUMN_COUNT)})`,
      cardInsertValues(card),
    );
    return { ...card, version: 1 };
  }

  /**
   * COPY when `db` is a client (inside a transaction, or a bare client): about three times as fast as multi-row INSERT
   * for large loads. The pool cannot run COPY (it would hand the stream's connection back at once), nor
   * can a wrapper that only offers `query(text, values)`: those get multi-row INSERTs.
   */
  async insertMany(cards: readonly Omit<Card, "version">[]): Promise<number> {
    if (cards.length === 0) return 0;
    if (this.#db instanceof pg.Client) {
      const copy = this.#db.query(copyFrom(`COPY cards (${CARD_INSERT_COLUMNS}) FROM STDIN`));
      await pipeline(Readable.from(copyLines(cards)), copy);
      return cards.length;
    }
    for (let i = 0; i < cards.length; i += INSERT_CHUNK) {
      const chunk = cards.slice(i, i + INSERT_CHUNK);
      const rows = chunk.map((_, n) => `(${params(COLUMN_COUNT, n * COLUMN_COUNT)})`).join(", ");
      await this.#db.query(
        `INSERT INTO cards (${CARD_INSERT_COLUMNS}) VALUES ${rows}`,
        chunk.flatMap(cardInsertValues),
      );
    }
    return cards.length;
  }

  async update(card: Card): Promise<Card | undefined> {
    const result = await this.#db.query(
      `UPDATE cards SET person_id = $1, processor_id = $2, card_type = $3, status = $4, inactive_reason = $5,
        issued_at = $6, expires_at = $7, display_name = $8, chip_uid = $9, updated_at = $10, version = version + 1
       WHERE escn = $11 AND version = $12`,
      cardUpdateValues(card),
    );
    return result.rowCount === 0 ? undefined : { ...card, version: card.version + 1 };
  }

  async delete(escn: Escn): Promise<void> {
    await this.#db.query("DELETE FROM cards WHERE escn = $1", [escn]);
  }

  async countForPerson(personId: number, issuerIds: readonly string[]): Promise<number> {
    if (issuerIds.length === 0) return 0;
    const { rows } = await this.#db.query<{ n: string }>(
      "SELECT count(*) AS n FROM cards WHERE person_id = $1 AND issuer_id = ANY($2::text[])",
      [personId, issuerIds],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async listForPerson(personId: number): Promise<Card[]> {
    const { rows } = await this.#db.query<CardRow>(`${CARD_SELECT} WHERE c.person_id = $1 ORDER BY c.id`, [
      personId,
    ]);
    return rows.map(toCard);
  }

  async listExpiredBefore(before: IsoDate, limit: number): Promise<Card[]> {
    const { rows } = await this.#db.query<CardRow>(
      `${CARD_SELECT} WHERE c.expires_at < $1 ORDER BY c.expires_at, c.id LIMIT $2`,
      [before, limit],
    );
    return rows.map(toCard);
  }

  /** Dates are `yyyy-MM-dd` text: any collation orders them as SQLite does, and `cards_expires_at` serves the range. */
  async listExpiringBetween(from: IsoDate, through: IsoDate, page: KeysetPage): Promise<Keyed<Card>> {
    const { rows } = await this.#db.query<CardRow>(
      `${CARD_SELECT} WHERE c.id > $1 AND c.expires_at BETWEEN $2 AND $3 ORDER BY c.id LIMIT $4`,
      [page.after, from, through, page.limit + 1],
    );
    return keyedCards(rows, page.limit);
  }

  /** The cards `query` may see, as a condition whose parameters are appended to `values`. */
  #visibility(query: CardQuery, values: unknown[]): string {
    const $ = (value: unknown): string => `$${values.push(value)}`;
    const parts: string[] = [];
    if (query.issuerIds.length > 0) parts.push(`c.issuer_id = ANY(${$(query.issuerIds)}::text[])`);
    if (query.processorId !== null) parts.push(`c.processor_id = ${$(query.processorId)}`);
    let clause = parts.length === 0 ? "false" : `(${parts.join(" OR ")})`;
    if (query.status !== null) clause += ` AND c.status = ${$(query.status)}`;
    return clause;
  }

  async listPaged(query: CardQuery, page: OffsetPage): Promise<Counted<Card>> {
    const values: unknown[] = [];
    let where = this.#visibility(query, values);
    if (page.search !== null) {
      const p = `$${values.push(containsPattern(page.search))}`;
      where += ` AND (c.escn LIKE ${p} ESCAPE '\\' OR lower(c.display_name) LIKE ${p} ESCAPE '\\'
        OR p.esi_key LIKE ${p} ESCAPE '\\')`;
    }
    const counted = await this.#db.query<{ n: string }>(
      `SELECT count(*) AS n FROM cards c JOIN persons p ON p.id = c.person_id WHERE ${where}`,
      values,
    );
    const column = SORT_COLUMNS[page.sort] ?? "c.id";
    const direction = page.direction === "DESC" ? "DESC" : "ASC";
    const { rows } = await this.#db.query<CardRow>(
      `${CARD_SELECT} WHERE ${where} ORDER BY ${column} ${direction} ${nulls(direction)}, c.id ${direction}
       LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
      [...values, page.limit, page.offset],
    );
    return { items: rows.map(toCard), total: Number(counted.rows[0]?.n ?? 0) };
  }

  async listAfter(query: CardQuery, page: KeysetPage): Promise<Keyed<Card>> {
    const values: unknown[] = [page.after];
    const visible = this.#visibility(query, values);
    const { rows } = await this.#db.query<CardRow>(
      `${CARD_SELECT} WHERE c.id > $1 AND ${visible} ORDER BY c.id LIMIT $${values.length + 1}`,
      [...values, page.limit + 1],
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
