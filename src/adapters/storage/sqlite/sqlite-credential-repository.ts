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
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

const SELECT = `SELECT ${ISSUED_CREDENTIAL_COLUMNS} FROM issued_credentials`;

/** Issued credentials on SQLite. */
export class SqliteCredentialRepository implements CredentialRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  /** Only a taken status entry is answered with false; any other conflict (the same id) is an error. */
  async insert(credential: IssuedCredential): Promise<boolean> {
    const result = this.#db.run(
      `INSERT INTO issued_credentials (${ISSUED_CREDENTIAL_INSERT_COLUMNS}) VALUES (${placeholders(11)})
       ON CONFLICT (status_list_id, status_index) DO NOTHING`,
      ...issuedCredentialValues(credential),
    );
    return result.changes === 1;
  }

  async find(id: string): Promise<IssuedCredential | undefined> {
    const row = this.#db.get<IssuedCredentialRow>(`${SELECT} WHERE id = ?`, id);
    return row && toIssuedCredential(row);
  }

  async listForCard(escn: string): Promise<IssuedCredential[]> {
    return this.#db
      .all<IssuedCredentialRow>(`${SELECT} WHERE escn = ? ORDER BY issued_at, seq`, escn)
      .map(toIssuedCredential);
  }

  async listForPerson(personId: number): Promise<IssuedCredential[]> {
    return this.#db
      .all<IssuedCredentialRow>(`${SELECT} WHERE person_id = ? ORDER BY issued_at, seq`, personId)
      .map(toIssuedCredential);
  }

  async listForOrganisation(organisationId: string, page: KeysetPage): Promise<Keyed<IssuedCredential>> {
    const rows = this.#db.all<IssuedCredentialRow>(
      `${SELECT} WHERE organisation_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      organisationId,
      page.after,
      page.limit + 1,
    );
    return keyedCredentials(rows, page.limit);
  }

  /** Read, then cleared: writers run one at a time, so nothing changes in between. */
  async forgetPerson(personId: number): Promise<IssuedCredential[]> {
    const before = await this.listForPerson(personId);
    this.#db.run("UPDATE issued_credentials SET escn = NULL, person_id = NULL WHERE person_id = ?", personId);
    return before;
  }

  async forgetCard(escn: string): Promise<IssuedCredential[]> {
    const before = await this.listForCard(escn);
    this.#db.run("UPDATE issued_credentials SET escn = NULL, person_id = NULL WHERE escn = ?", escn);
    return before;
  }

  async latestExpiryForKey(keyId: string): Promise<string | null> {
    return (
      this.#db.get<{ latest: string | null }>(
        "SELECT max(expires_at) AS latest FROM issued_credentials WHERE key_id = ?",
        keyId,
      )?.latest ?? null
    );
  }

  async purgeExpiredBefore(before: string): Promise<number> {
    return this.#db.run("DELETE FROM issued_credentials WHERE expires_at < ?", before).changes;
  }
}
