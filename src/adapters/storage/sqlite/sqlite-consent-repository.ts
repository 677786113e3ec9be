import type { Consent, ConsentState } from "../../../domain/consent.ts";
import type { Purpose } from "../../../domain/purpose.ts";
import type { ConsentRepository } from "../../../ports/storage.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

interface ConsentRow {
  person_id: number;
  purpose: Purpose;
  state: ConsentState;
  wording_version: string;
  recorded_by: string;
  given_at: string;
  withdrawn_at: string | null;
  updated_at: string;
}

const toConsent = (row: ConsentRow): Consent => ({
  personId: row.person_id,
  purpose: row.purpose,
  state: row.state,
  wordingVersion: row.wording_version,
  recordedBy: row.recorded_by,
  givenAt: row.given_at,
  withdrawnAt: row.withdrawn_at,
  updatedAt: row.updated_at,
});

export class SqliteConsentRepository implements ConsentRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async find(personId: number, purpose: Purpose): Promise<Consent | undefined> {
    const row = this.#db.get<ConsentRow>(
      "SELECT * FROM consents WHERE person_id = ? AND purpose = ?",
      personId,
      purpose,
    );
    return row && toConsent(row);
  }

  async listForPerson(personId: number): Promise<Consent[]> {
    return this.#db
      .all<ConsentRow>("SELECT * FROM consents WHERE person_id = ? ORDER BY purpose", personId)
      .map(toConsent);
  }

  async givenAmong(personIds: readonly number[], purpose: Purpose): Promise<Set<number>> {
    if (personIds.length === 0) return new Set();
    const rows = this.#db.all<{ person_id: number }>(
      `SELECT person_id FROM consents WHERE purpose = ? AND state = 'given' AND person_id IN (${placeholders(personIds.length)})`,
      purpose,
      ...personIds,
    );
    return new Set(rows.map((r) => r.person_id));
  }

  async save(consent: Consent): Promise<void> {
    this.#db.run(
      `INSERT INTO consents (person_id, purpose, state, wording_version, recorded_by, given_at, withdrawn_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (person_id, purpose) DO UPDATE SET state = excluded.state, wording_version = excluded.wording_version,
         recorded_by = excluded.recorded_by, given_at = excluded.given_at, withdrawn_at = excluded.withdrawn_at,
         updated_at = excluded.updated_at`,
      consent.personId,
      consent.purpose,
      consent.state,
      consent.wordingVersion,
      consent.recordedBy,
      consent.givenAt,
      consent.withdrawnAt,
      consent.updatedAt,
    );
  }

  async deleteForPerson(personId: number): Promise<void> {
    this.#db.run("DELETE FROM consents WHERE person_id = ?", personId);
  }

  async purgeWithdrawnBefore(before: string): Promise<number> {
    return this.#db.run("DELETE FROM consents WHERE state = 'withdrawn' AND withdrawn_at < ?", before)
      .changes;
  }
}
