import { type AuditEntry, auditHash, type NewAuditEntry } from "../../../domain/audit-entry.ts";
import type { AuditQuery, AuditRepository, Keyed, KeysetPage } from "../../../ports/storage.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

interface AuditRow {
  seq: number;
  at: string;
  organisation_id: string | null;
  token_id: string | null;
  action: AuditEntry["action"];
  purpose: AuditEntry["purpose"];
  subject_type: AuditEntry["subjectType"];
  subject: string;
  person_id: number | null;
  prev_hash: string;
  hash: string;
}

const toEntry = (row: AuditRow): AuditEntry => ({
  seq: row.seq,
  at: row.at,
  organisationId: row.organisation_id,
  tokenId: row.token_id,
  action: row.action,
  purpose: row.purpose,
  subjectType: row.subject_type,
  subject: row.subject,
  personId: row.person_id,
  prevHash: row.prev_hash,
  hash: row.hash,
});

/** The audit trail on SQLite: one writer at a time, so reading the chain's head and appending is atomic. */
export class SqliteAuditRepository implements AuditRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async append(entries: readonly NewAuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const head =
      this.#db.get<{ seq: number; hash: string }>(
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
      ) ?? this.#db.get<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_anchor WHERE id = 1");
    let seq = head?.seq ?? 0;
    let prevHash = head?.hash ?? "";
    const insert = this.#db.statement(
      `INSERT INTO audit_log (seq, at, organisation_id, token_id, action, purpose, subject_type, subject, person_id, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const entry of entries) {
      seq++;
      const hash = auditHash(prevHash, seq, entry);
      insert.run(
        seq,
        entry.at,
        entry.organisationId,
        entry.tokenId,
        entry.action,
        entry.purpose,
        entry.subjectType,
        entry.subject,
        entry.personId,
        prevHash,
        hash,
      );
      prevHash = hash;
    }
  }

  async readAfter(seq: number, limit: number): Promise<AuditEntry[]> {
    return this.#db
      .all<AuditRow>("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", seq, limit)
      .map(toEntry);
  }

  async list(query: AuditQuery, page: KeysetPage): Promise<Keyed<AuditEntry>> {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (query.personIds && query.personIds.length > 0) {
      parts.push(`person_id IN (${placeholders(query.personIds.length)})`);
      params.push(...query.personIds);
    }
    if (query.subjects && query.subjects.length > 0) {
      parts.push(`subject IN (${placeholders(query.subjects.length)})`);
      params.push(...query.subjects);
    }
    if (query.organisationId !== undefined) {
      parts.push("organisation_id = ?");
      params.push(query.organisationId);
    }
    const linked = query.linkedPersons;
    if (linked && linked.organisationIds.length > 0 && linked.madeBy.length > 0) {
      // Correlated, so that a page stops scanning as soon as it is full, however many students are linked.
      parts.push(
        `(subject_type <> 'card' AND organisation_id IN (${placeholders(linked.madeBy.length)})
          AND EXISTS (SELECT 1 FROM person_links l WHERE l.person_id = audit_log.person_id
            AND l.organisation_id IN (${placeholders(linked.organisationIds.length)})))`,
      );
      params.push(...linked.madeBy, ...linked.organisationIds);
    }
    if (query.cardsIssuedBy && query.cardsIssuedBy.length > 0) {
      // The last nine digits of an ESCN are its issuer's PIC, and a card never changes issuer.
      parts.push(
        `(subject_type = 'card' AND substr(subject, -9) IN (${placeholders(query.cardsIssuedBy.length)}))`,
      );
      params.push(...query.cardsIssuedBy);
    }
    if (query.cardsProcessedBy !== undefined) {
      parts.push("(subject_type = 'card' AND subject IN (SELECT escn FROM cards WHERE processor_id = ?))");
      params.push(query.cardsProcessedBy);
    }
    if (parts.length === 0) return { items: [], next: null };
    const narrow: string[] = [];
    if (query.onlyPersonId !== undefined) {
      narrow.push("AND person_id = ?");
      params.push(query.onlyPersonId);
    }
    if (query.onlyCard !== undefined) {
      narrow.push("AND subject_type = 'card' AND subject = ?");
      params.push(query.onlyCard);
    }
    const rows = this.#db.all<AuditRow>(
      `SELECT * FROM audit_log WHERE seq > ? AND (${parts.join(" OR ")}) ${narrow.join(" ")} ORDER BY seq LIMIT ?`,
      page.after,
      ...params,
      page.limit + 1,
    );
    const items = rows.slice(0, page.limit).map(toEntry);
    return { items, next: rows.length > page.limit ? (items.at(-1)?.seq ?? null) : null };
  }

  async anchor(): Promise<{ seq: number; hash: string }> {
    const row = this.#db.get<{ seq: number; hash: string }>(
      "SELECT seq, hash FROM audit_anchor WHERE id = 1",
    );
    if (!row) throw new TypeError("the audit anchor row is missing");
    return row;
  }

  async purgeThrough(seq: number): Promise<number> {
    const last = this.#db.get<{ seq: number; hash: string }>(
      "SELECT seq, hash FROM audit_log WHERE seq <= ? ORDER BY seq DESC LIMIT 1",
      seq,
    );
    if (!last) return 0;
    this.#db.run("UPDATE audit_anchor SET seq = ?, hash = ? WHERE id = 1", last.seq, last.hash);
    return this.#db.run("DELETE FROM audit_log WHERE seq <= ?", last.seq).changes;
  }

  async lastSeqBefore(at: string): Promise<number> {
    return (
      this.#db.get<{ seq: number | null }>("SELECT max(seq) AS seq FROM audit_log WHERE at < ?", at)?.seq ?? 0
    );
  }

  async count(): Promise<number> {
    return this.#db.get<{ n: number }>("SELECT count(*) AS n FROM audit_log")?.n ?? 0;
  }
}
