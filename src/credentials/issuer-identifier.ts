/**
 * Where each issuing organisation lives as an issuer: the hub's public base URL plus `/issuers/<id>`.
 * Every URL that ends up in a signed artefact is made here, from configuration, never from a request.
 */
export function issuerIdentifier(publicUrl: string, organisationId: string): string {
  return `${publicUrl}/issuers/${encodeURIComponent(organisationId)}`;
}

/** The URL of one of the issuer's status lists: the `uri` in credentials and the `sub` of the list token. */
export function statusListUrl(issuer: string, listId: number): string {
  return `${issuer}/status-lists/${listId}`;
}

/** The URL a wallet fetches an offer from (`credential_offer_uri`). */
export function credentialOfferUrl(issuer: string, offerId: string): string {
  return `${issuer}/credential-offers/${offerId}`;
}

/** The verification URL a card's QR code holds. */
export function verificationUrl(publicUrl: string, escn: string): string {
  return `${publicUrl}/v/${escn}`;
}
