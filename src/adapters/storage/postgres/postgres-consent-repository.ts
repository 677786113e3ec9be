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
import type { PostgresQueryable } from "./postgres-connection.ts";

/** Consents on PostgreSQL: the same statements as on SQLite (`../sqlite/sqlite-consent-repository.ts`). */
export class PostgresConsentRepository implements ConsentRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async find(personId: number, purpose: Purpose): Promise<Consent | undefined> {
    const { rows } = await this.#db.query<ConsentRow>(
      "SELECT * FROM consents WHERE person_id = $1 AND purpose = $2",
      [personId, purpose],
    );
    return rows[0] && toConsent(rows[0]);
  }

  async listForPerson(personId: number): Promise<Consent[]> {
    // COLLATE "C": byte order, as SQLite's default collation sorts.
    const { rows } = await this.#db.query<ConsentRow>(
      `SELECT * FROM consents WHERE person_id = $1 ORDER BY purpose COLLATE "C"`,
      [personId],
    );
    return rows.map(toConsent);
  }

  async givenAmong(personIds: readonly number[], purpose: Purpose): Promise<Set<number>> {
    if (personIds.length === 0) return new Set();
    const { rows } = await this.#db.query<{ person_id: string }>(
      "SELECT person_id FROM consents WHERE purpose = $1 AND state = 'given' AND person_id = ANY($2::bigint[])",
      [purpose, personIds],
    );
    return new Set(rows.map((r) => Number(r.person_id)));
  }

  async save(consent: Consent): Promise<void> {
    await this.#db.query(
      `INSERT INTO consents (${CONSENT_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ${CONSENT_ON_CONFLICT}`,
      consentValues(consent),
    );
  }

  async deleteForPerson(personId: number): Promise<void> {
    await this.#db.query("DELETE FROM consents WHERE person_id = $1", [personId]);
  }

  async purgeWithdrawnBefore(before: string): Promise<number> {
    const result = await this.#db.query(
      "DELETE FROM consents WHERE state = 'withdrawn' AND withdrawn_at < $1",
      [before],
    );
    return result.rowCount ?? 0;
  }
}
