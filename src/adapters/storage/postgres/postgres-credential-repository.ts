import type { IssuedCredential } from "../../../domain/issued-credential.ts";
import type { CredentialRepository, Keyed, KeysetPage } from "../../../ports/storage.ts";
import {
  ISSUED_CREDENTIAL_COLUMNS,
  ISSUED_CREDENTIAL_INSERT_COLUMNS,
  type IssuedCredentialRow,
  issuedCredentialValues,
  keyedCredentials,
  toIssuedCredential,
} from "../rows/issued-credential-row.ts";
import { type PostgresQueryable, params } from "./postgres-connection.ts";

const SELECT = `SELECT ${ISSUED_CREDENTIAL_COLUMNS} FROM issued_credentials`;

/**
 * Clears the holder of the rows `was` selects (locked), answering each row as it was: one statement, so a
 * concurrent writer cannot slip in between the read and the write.
 */
const forget = (where: string) => `UPDATE issued_credentials c SET escn = NULL, person_id = NULL
  FROM (SELECT ${ISSUED_CREDENTIAL_COLUMNS} FROM issued_credentials WHERE ${where} FOR UPDATE) AS was
  WHERE c.seq = was.seq
  RETURNING was.*`;

/**
 * Issued credentials on PostgreSQL: the same statements as on SQLite (`../sqlite/sqlite-credential-repository.ts`).
 * A taken status entry is `ON CONFLICT DO NOTHING`, so the caller's transaction survives it and may try
 * another index.
 */
export class PostgresCredentialRepository implements CredentialRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  /** Only a taken status entry is answered with false; any other conflict (the same id) is an error. */
  async insert(credential: IssuedCredential): Promise<boolean> {
    const result = await this.#db.query(
      `INSERT INTO issued_credentials (${ISSUED_CREDENTIAL_INSERT_COLUMNS}) VALUES (${params(11)})
       ON CONFLICT (status_list_id, status_index) DO NOTHING`,
      issuedCredentialValues(credential),
    );
    return result.rowCount === 1;
  }

  async find(id: string): Promise<IssuedCredential | undefined> {
    const { rows } = await this.#db.query<IssuedCredentialRow>(`${SELECT} WHERE id = $1`, [id]);
    return rows[0] && toIssuedCredential(rows[0]);
  }

  async listForCard(escn: string): Promise<IssuedCredential[]> {
    const { rows } = await this.#db.query<IssuedCredentialRow>(
      `${SELECT} WHERE escn = $1 ORDER BY issued_at, seq`,
      [escn],
    );
    return rows.map(toIssuedCredential);
  }

  async listForPerson(personId: number): Promise<IssuedCredential[]> {
    const { rows } = await this.#db.query<IssuedCredentialRow>(
      `${SELECT} WHERE person_id = $1 ORDER BY issued_at, seq`,
      [personId],
    );
    return rows.map(toIssuedCredential);
  }

  async listForOrganisation(organisationId: string, page: KeysetPage): Promise<Keyed<IssuedCredential>> {
    const { rows } = await this.#db.query<IssuedCredentialRow>(
      `${SELECT} WHERE organisation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [organisationId, page.after, page.limit + 1],
    );
    return keyedCredentials(rows, page.limit);
  }

  async forgetPerson(personId: number): Promise<IssuedCredential[]> {
    const { rows } = await this.#db.query<IssuedCredentialRow>(forget("person_id = $1"), [personId]);
    return sorted(rows).map(toIssuedCredential);
  }

  async forgetCard(escn: string): Promise<IssuedCredential[]> {
    const { rows } = await this.#db.query<IssuedCredentialRow>(forget("escn = $1"), [escn]);
    return sorted(rows).map(toIssuedCredential);
  }

  async latestExpiryForKey(keyId: string): Promise<string | null> {
    const { rows } = await this.#db.query<{ latest: string | null }>(
      "SELECT max(expires_at) AS latest FROM issued_credentials WHERE key_id = $1",
      [keyId],
    );
    return rows[0]?.latest ?? null;
  }

  async purgeExpiredBefore(before: string): Promise<number> {
    const result = await this.#db.query("DELETE FROM issued_credentials WHERE expires_at < $1", [before]);
    return result.rowCount ?? 0;
  }
}

/** Oldest first, as SQLite answers (`RETURNING` keeps no order); ISO timestamps sort as text. */
function sorted(rows: IssuedCredentialRow[]): IssuedCredentialRow[] {
  return rows.sort((a, b) =>
    a.issued_at === b.issued_at ? Number(a.seq) - Number(b.seq) : a.issued_at < b.issued_at ? -1 : 1,
  );
}
