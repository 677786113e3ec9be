import type { Consent } from "../../../domain/consent.ts";
import type { Purpose } from "../../../domain/purpose.ts";
import type { ConsentRepository } from "../../../ports/storage.ts";
import {
  CONSENT_COLUMNS,
  CONSENT_ON_CONFLICT,
  type ConsentRow,
  consentValues,
  toConsent,
} from "../rows/consent-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

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
      `INSERT INTO consents (${CONSENT_COLUMNS})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ${CONSENT_ON_CONFLICT}`,
      ...consentValues(consent),
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
