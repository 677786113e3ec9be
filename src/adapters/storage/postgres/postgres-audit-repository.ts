import { type AuditEntry, auditHash, type NewAuditEntry } from "../../../domain/audit-entry.ts";
import type { AuditQuery, AuditRepository, Keyed, KeysetPage } from "../../../ports/storage.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";
import { AUDIT_LOCK_KEY, withXactLock } from "./postgres-lock-keys.ts";

/** bigint columns (`seq`, `person_id`) arrive as strings from `pg`. */
interface AuditRow {
  seq: string;
  at: string;
  organisation_id: string | null;
  token_id: string | null;
  action: AuditEntry["action"];
  purpose: AuditEntry["purpose"];
  subject_type: AuditEntry["subjectType"];
  subject: string;
  person_id: string | null;
  prev_hash: string;
  hash: string;
}

const toEntry = (row: AuditRow): AuditEntry => ({
  seq: Number(row.seq),
  at: row.at,
  organisationId: row.organisation_id,
  tokenId: row.token_id,
  action: row.action,
  purpose: row.purpose,
  subjectType: row.subject_type,
  subject: row.subject,
  personId: row.person_id === null ? null : Number(row.person_id),
  prevHash: row.prev_hash,
  hash: row.hash,
});

/** The chain's head, read in one snapshot: the last entry, or the anchor when every entry was purged. */
const HEAD_SQL = `SELECT coalesce(l.seq, a.seq) AS seq, coalesce(l.hash, a.hash) AS hash
  FROM audit_anchor a LEFT JOIN LATERAL (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) l ON true
  WHERE a.id = 1`;

/**
 * The audit trail on PostgreSQL. Several processes append at once, so `append` and `purgeThrough` first
 * take a transaction-level advisory lock ({@link AUDIT_LOCK_KEY}): the head one writer reads is the head it
 * extends, and the chain order is the commit order. Writers of audit entries are serialised from their
 * `append` to their commit.
 */
export class PostgresAuditRepository implements AuditRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async append(entries: readonly NewAuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await withXactLock(this.#db, AUDIT_LOCK_KEY, async (db) => {
      const { rows } = await db.query<{ seq: string; hash: string }>(HEAD_SQL);
      const head = rows[0];
      if (!head) throw new TypeError("the audit anchor row is missing");
      let seq = Number(head.seq);
      let prevHash = head.hash;
      const chained = entries.map((entry) => {
        seq++;
        const hash = auditHash(prevHash, seq, entry);
        const row = { seq, entry, prevHash, hash };
        prevHash = hash;
        return row;
      });
      await db.query(
        `INSERT INTO audit_log (seq, at, organisation_id, token_id, action, purpose, subject_type, subject, person_id, prev_hash, hash)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
           $8::text[], $9::bigint[], $10::text[], $11::text[])`,
        [
          chained.map((c) => c.seq),
          chained.map((c) => c.entry.at),
          chained.map((c) => c.entry.organisationId),
          chained.map((c) => c.entry.tokenId),
          chained.map((c) => c.entry.action),
          chained.map((c) => c.entry.purpose),
          chained.map((c) => c.entry.subjectType),
          chained.map((c) => c.entry.subject),
          chained.map((c) => c.entry.personId),
          chained.map((c) => c.prevHash),
          chained.map((c) => c.hash),
        ],
      );
    });
  }

  async readAfter(seq: number, limit: number): Promise<AuditEntry[]> {
    const { rows } = await this.#db.query<AuditRow>(
      "SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
      [seq, limit],
    );
    return rows.map(toEntry);
  }

  async list(query: AuditQuery, page: KeysetPage): Promise<Keyed<AuditEntry>> {
    const values: unknown[] = [page.after];
    const $ = (value: unknown): string => `$${values.push(value)}`;
    const parts: string[] = [];
    if (query.personIds && query.personIds.length > 0)
      parts.push(`person_id = ANY(${$(query.personIds)}::bigint[])`);
    if (query.subjects && query.subjects.length > 0)
      parts.push(`subject = ANY(${$(query.subjects)}::text[])`);
    if (query.organisationId !== undefined) parts.push(`organisation_id = ${$(query.organisationId)}`);
    const linked = query.linkedPersons;
    if (linked && linked.organisationIds.length > 0 && linked.madeBy.length > 0) {
      // Correlated, so that a page stops scanning as soon as it is full, however many students are linked.
      parts.push(
        `(subject_type <> 'card' AND organisation_id = ANY(${$(linked.madeBy)}::text[])
          AND EXISTS (SELECT 1 FROM person_links l WHERE l.person_id = audit_log.person_id
            AND l.organisation_id = ANY(${$(linked.organisationIds)}::text[])))`,
      );
    }
    if (query.cardsIssuedBy && query.cardsIssuedBy.length > 0) {
      // The last nine digits of an ESCN are its issuer's PIC, and a card never changes issuer.
      parts.push(`(subject_type = 'card' AND right(subject, 9) = ANY(${$(query.cardsIssuedBy)}::text[]))`);
    }
    if (query.cardsProcessedBy !== undefined) {
      parts.push(
        `(subject_type = 'card' AND subject IN (SELECT escn FROM cards WHERE processor_id = ${$(query.cardsProcessedBy)}))`,
      );
    }
    if (parts.length === 0) return { items: [], next: null };
    let narrow = "";
    if (query.onlyPersonId !== undefined) narrow += ` AND person_id = ${$(query.onlyPersonId)}`;
    if (query.onlyCard !== undefined)
      narrow += ` AND subject_type = 'card' AND subject = ${$(query.onlyCard)}`;
    const limit = $(page.limit + 1);
    const { rows } = await this.#db.query<AuditRow>(
      `SELECT * FROM audit_log WHERE seq > $1 AND (${parts.join(" OR ")})${narrow} ORDER BY seq LIMIT ${limit}`,
      values,
    );
    const items = rows.slice(0, page.limit).map(toEntry);
    return { items, next: rows.length > page.limit ? (items.at(-1)?.seq ?? null) : null };
  }

  async anchor(): Promise<{ seq: number; hash: string }> {
    const { rows } = await this.#db.query<{ seq: string; hash: string }>(
      "SELECT seq, hash FROM audit_anchor WHERE id = 1",
    );
    const row = rows[0];
    if (!row) throw new TypeError("the audit anchor row is missing");
    return { seq: Number(row.seq), hash: row.hash };
  }

  /** Under the audit lock too, so that an append never extends an entry this purge is removing unseen. */
  async purgeThrough(seq: number): Promise<number> {
    return withXactLock(this.#db, AUDIT_LOCK_KEY, async (db) => {
      const { rows } = await db.query<{ seq: string; hash: string }>(
        "SELECT seq, hash FROM audit_log WHERE seq <= $1 ORDER BY seq DESC LIMIT 1",
        [seq],
      );
      const last = rows[0];
      if (!last) return 0;
      await db.query("UPDATE audit_anchor SET seq = $1, hash = $2 WHERE id = 1", [last.seq, last.hash]);
      return (await db.query("DELETE FROM audit_log WHERE seq <= $1", [last.seq])).rowCount ?? 0;
    });
  }

  async lastSeqBefore(at: string): Promise<number> {
    const { rows } = await this.#db.query<{ seq: string | null }>(
      "SELECT max(seq) AS seq FROM audit_log WHERE at < $1",
      [at],
    );
    return Number(rows[0]?.seq ?? 0);
  }

  async count(): Promise<number> {
    const { rows } = await this.#db.query<{ n: string }>("SELECT count(*) AS n FROM audit_log");
    return Number(rows[0]?.n ?? 0);
  }
}
