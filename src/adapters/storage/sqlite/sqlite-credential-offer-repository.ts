import type { CredentialOffer } from "../../../domain/credential-offer.ts";
import type { CredentialOfferRepository } from "../../../ports/storage.ts";
import {
  CREDENTIAL_OFFER_COLUMNS,
  type CredentialOfferRow,
  credentialOfferInsertValues,
  credentialOfferUpdateValues,
  toCredentialOffer,
} from "../rows/credential-offer-row.ts";
import { placeholders, type SqliteConnection } from "./sqlite-connection.ts";

const SELECT = `SELECT ${CREDENTIAL_OFFER_COLUMNS} FROM credential_offers`;

/** OpenID4VCI credential offers on SQLite. */
export class SqliteCredentialOfferRepository implements CredentialOfferRepository {
  readonly #db: SqliteConnection;

  constructor(db: SqliteConnection) {
    this.#db = db;
  }

  async insert(offer: Omit<CredentialOffer, "version">): Promise<CredentialOffer> {
    this.#db.run(
      `INSERT INTO credential_offers (${CREDENTIAL_OFFER_COLUMNS}) VALUES (${placeholders(15)})`,
      ...credentialOfferInsertValues(offer),
    );
    return { ...offer, version: 1 };
  }

  async find(id: string): Promise<CredentialOffer | undefined> {
    const row = this.#db.get<CredentialOfferRow>(`${SELECT} WHERE id = ?`, id);
    return row && toCredentialOffer(row);
  }

  async findByPreAuthorizedCodeHash(hash: string): Promise<CredentialOffer | undefined> {
    const row = this.#db.get<CredentialOfferRow>(`${SELECT} WHERE pre_authorized_code_hash = ?`, hash);
    return row && toCredentialOffer(row);
  }

  async findByAccessTokenHash(hash: string): Promise<CredentialOffer | undefined> {
    const row = this.#db.get<CredentialOfferRow>(`${SELECT} WHERE access_token_hash = ?`, hash);
    return row && toCredentialOffer(row);
  }

  /** Answers the stored row, so that fields the update does not write come back as stored. */
  async update(offer: CredentialOffer): Promise<CredentialOffer | undefined> {
    const row = this.#db.get<CredentialOfferRow>(
      `UPDATE credential_offers SET state = ?, failed_tx_code_attempts = ?, access_token_hash = ?,
        access_token_expires_at = ?, redeemed_at = ?, pre_authorized_code_hash = ?, version = version + 1
       WHERE id = ? AND version = ?
       RETURNING ${CREDENTIAL_OFFER_COLUMNS}`,
      ...credentialOfferUpdateValues(offer),
    );
    return row && toCredentialOffer(row);
  }

  async purgeExpiredBefore(before: string): Promise<number> {
    return this.#db.run("DELETE FROM credential_offers WHERE expires_at < ?", before).changes;
  }

  async deleteForPerson(personId: number): Promise<number> {
    return this.#db.run("DELETE FROM credential_offers WHERE person_id = ?", personId).changes;
  }
}
