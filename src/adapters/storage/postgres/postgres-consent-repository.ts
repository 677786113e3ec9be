import type { Consent, ConsentState } from "../../../domain/consent.ts";
import type { Purpose } from "../../../domain/purpose.ts";
import type { ConsentRepository } from "../../../ports/storage.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";

interface ConsentRow {
  /** bigint: `pg` answers it as a string. */
  person_id: string | number;
  purpose: Purpose;
  state: ConsentState;
  wording_version: string;
  recorded_by: string;
  given_at: string;
  withdrawn_at: string | null;
  updated_at: string;
}

const toConsent = (row: ConsentRow): Consent => ({
  personId: Number(row.person_id),
  purpose: row.purpose,
  state: row.state,
  wordingVersion: row.wording_version,
  recordedBy: row.recorded_by,
  givenAt: row.given_at,
  withdrawnAt: row.withdrawn_at,
  updatedAt: row.updated_at,
});

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
      `INSERT INTO consents (person_id, purpose, state, wording_version, recorded_by, given_at, withdrawn_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (person_id, purpose) DO UPDATE SET state = excluded.state, wording_version = excluded.wording_version,
         recorded_by = excluded.recorded_by, given_at = excluded.given_at, withdrawn_at = excluded.withdrawn_at,
         updated_at = excluded.updated_at`,
      [
        consent.personId,
        consent.purpose,
        consent.state,
        consent.wordingVersion,
        consent.recordedBy,
        consent.givenAt,
        consent.withdrawnAt,
        consent.updatedAt,
      ],
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
