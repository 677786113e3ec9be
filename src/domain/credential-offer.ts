/**
 * An OpenID4VCI credential offer made by the holder's institution (pre-authorized code flow). The hub
 * keeps only hashes of the secrets in it: the pre-authorized code, the transaction code and the access
 * token the wallet gets for it.
 *
 * `offered` → (token endpoint) `token-issued` → (credential endpoint) `redeemed`. Too many wrong
 * transaction codes make it `locked`; past `expiresAt` it is dead whatever its state.
 */
export type CredentialOfferState = "offered" | "token-issued" | "redeemed" | "locked";

export interface CredentialOffer {
  /** Random, URL-safe: the last segment of `credential_offer_uri`. */
  readonly id: string;
  readonly organisationId: string;
  readonly escn: string;
  readonly personId: number;
  readonly preAuthorizedCodeHash: string;
  /** Null when the offer has no transaction code. */
  readonly txCodeHash: string | null;
  readonly txCodeLength: number | null;
  readonly failedTxCodeAttempts: number;
  readonly state: CredentialOfferState;
  readonly accessTokenHash: string | null;
  readonly accessTokenExpiresAt: string | null;
  readonly createdAt: string;
  /** The offer (code and access token alike) is dead after this instant. */
  readonly expiresAt: string;
  readonly redeemedAt: string | null;
  readonly version: number;
}

/** Whether the offer (its code and any access token it gave) can still be used at `now`. */
export function offerIsLive(offer: Pick<CredentialOffer, "expiresAt">, now: Date): boolean {
  return offer.expiresAt > now.toISOString();
}
