/**
 * A credential the hub issued, as the hub remembers it: enough to find its status-list entry when the
 * card's verdict changes, and nothing the credential itself does not need. The claims are not kept.
 */
export interface IssuedCredential {
  /** A random identifier, not disclosed in the credential. */
  readonly id: string;
  /** The issuing organisation. */
  readonly organisationId: string;
  /** The card it attests; null once the holder was erased (the entry then stays invalid). */
  readonly escn: string | null;
  /** The holder's internal number; null once erased. */
  readonly personId: number | null;
  /** The `kid` of the key that signed it. */
  readonly keyId: string;
  /** The status list holding its entry, and the (random) index of that entry. */
  readonly statusListId: number;
  readonly statusIndex: number;
  /** RFC 7638 thumbprint of the holder's key (`cnf.jwk`). */
  readonly holderKeyThumbprint: string;
  /** The offer it was issued through, when it came through OpenID4VCI. */
  readonly offerId: string | null;
  readonly issuedAt: string;
  readonly expiresAt: string;
}
