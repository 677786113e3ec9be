import type { CredentialOffer } from "../../../domain/credential-offer.ts";
import type { CredentialOfferRepository } from "../../../ports/storage.ts";
import {
  CREDENTIAL_OFFER_COLUMNS,
  type CredentialOfferRow,
  credentialOfferInsertValues,
  credentialOfferUpdateValues,
  toCredentialOffer,
} from "../rows/credential-offer-row.ts";
import { type PostgresQueryable, params } from "./postgres-connection.ts";

const SELECT = `SELECT ${CREDENTIAL_OFFER_COLUMNS} FROM credential_offers`;

/** OpenID4VCI credential offers on PostgreSQL: the same statements as on SQLite (`../sqlite/sqlite-credential-offer-repository.ts`). */
export class PostgresCredentialOfferRepository implements CredentialOfferRepository {
  readonly #db: PostgresQueryable;

  constructor(db: PostgresQueryable) {
    this.#db = db;
  }

  async insert(offer: Omit<CredentialOffer, "version">): Promise<CredentialOffer> {
    await this.#db.query(
      `INSERT INTO credential_offers (${CREDENTIAL_OFFER_COLUMNS}) VALUES (${params(15)})`,
      credentialOfferInsertValues(offer),
    );
    return { ...offer, version: 1 };
  }

  async find(id: string): Promise<CredentialOffer | undefined> {
    const { rows } = await this.#db.query<CredentialOfferRow>(`${SELECT} WHERE id = $1`, [id]);
    return rows[0] && toCredentialOffer(rows[0]);
  }

  async findByPreAuthorizedCodeHash(hash: string): Promise<CredentialOffer | undefined> {
    const { rows } = await this.#db.query<CredentialOfferRow>(
      `${SELECT} WHERE pre_authorized_code_hash = $1`,
      [hash],
    );
    return rows[0] && toCredentialOffer(rows[0]);
  }

  async findByAccessTokenHash(hash: string): Promise<CredentialOffer | undefined> {
    const { rows } = await this.#db.query<CredentialOfferRow>(`${SELECT} WHERE access_token_hash = $1`, [
      hash,
    ]);
    return rows[0] && toCredentialOffer(rows[0]);
  }

  /** Answers the stored row, so that fields the update does not write come back as stored. */
  async update(offer: CredentialOffer): Promise<CredentialOffer | undefined> {
    const { rows } = await this.#db.query<CredentialOfferRow>(
      `UPDATE credential_offers SET state = $1, failed_tx_code_attempts = $2, access_token_hash = $3,
        access_token_expires_at = $4, redeemed_at = $5, pre_authorized_code_hash = $6, version = version + 1
       WHERE id = $7 AND version = $8
       RETURNING ${CREDENTIAL_OFFER_COLUMNS}`,
      credentialOfferUpdateValues(offer),
    );
    return rows[0] && toCredentialOffer(rows[0]);
  }

  async purgeExpiredBefore(before: string): Promise<number> {
    const result = await this.#db.query("DELETE FROM credential_offers WHERE expires_at < $1", [before]);
    return result.rowCount ?? 0;
  }

  async deleteForPerson(personId: number): Promise<number> {
    const result = await this.#db.query("DELETE FROM credential_offers WHERE person_id = $1", [personId]);
    return result.rowCount ?? 0;
  }
}
