import { randomUUID } from "node:crypto";
import { issueEscCredential } from "../credentials/esc-credential.ts";
import { issuerIdentifier } from "../credentials/issuer-identifier.ts";
import { newAccessToken, sameSecret, secretHash } from "../credentials/openid4vci/credential-offer.ts";
import {
  CredentialRequestError,
  parseCredentialRequest,
} from "../credentials/openid4vci/credential-request.ts";
import { ESC_CONFIGURATION_ID } from "../credentials/openid4vci/issuer-metadata.ts";
import { OAuthError, parseTokenRequest } from "../credentials/openid4vci/oauth-error.ts";
import { ProofError, verifyProofJwt } from "../credentials/openid4vci/proof-jwt.ts";
import { offerIsLive } from "../domain/credential-offer.ts";
import { NotFoundError } from "../domain/errors.ts";
import { parseEscn } from "../domain/escn.ts";
import type { IssuedCredential } from "../domain/issued-credential.ts";
import { issuesCards, type Organisation } from "../domain/organisation.ts";
import { credentialExpiry, escClaimsOf, requireIssuable } from "./esc-credential-claims.ts";
import type { IssuerKeyService } from "./issuer-key-service.ts";
import type { ServiceContext } from "./service-context.ts";
import type { StatusListService } from "./status-list-service.ts";
import { today } from "./today.ts";

export interface CredentialIssuanceOptions {
  readonly publicUrl: string;
  /** Wrong transaction codes an offer takes before it locks. */
  readonly txCodeAttempts: number;
  /** Told of the credentials of each issuance once committed, to check them against changes made meanwhile. */
  readonly onIssued?: (credentials: readonly IssuedCredential[]) => Promise<void>;
}

/** Seconds a `c_nonce` stays usable. */
const NONCE_SECONDS = 300;
/** Seconds an access token from the token endpoint stays usable. */
const ACCESS_TOKEN_SECONDS = 300;

/**
 * Issuance of the student card to a wallet, by OpenID4VCI 1.0 with the pre-authorized code flow, once the
 * student's institution made an offer (`CredentialOfferService`): the wallet trades the offer's code (and
 * the transaction code the student types) for an access token, asks for a nonce, and sends proofs of its
 * keys to get one credential per key. Only a card whose verdict is valid, of a student who consents to
 * credential issuance, is issued; each credential gets a random entry in its issuer's status list.
 */
export class CredentialIssuanceService {
  readonly #ctx: ServiceContext;
  readonly #keys: IssuerKeyService;
  readonly #lists: StatusListService;
  readonly #options: CredentialIssuanceOptions;

  constructor(
    ctx: ServiceContext,
    keys: IssuerKeyService,
    lists: StatusListService,
    options: CredentialIssuanceOptions,
  ) {
    this.#ctx = ctx;
    this.#keys = keys;
    this.#lists = lists;
    this.#options = options;
  }

  issuerOf(organisationId: string): string {
    return issuerIdentifier(this.#options.publicUrl, organisationId);
  }

  /** An issuing organisation, for the issuer's public endpoints; undefined when there is no such issuer. */
  async issuingOrganisation(organisationId: string): Promise<Organisation | undefined> {
    const organisation = await this.#ctx.storage.read.organisations.findById(organisationId);
    return organisation && issuesCards(organisation.kind) ? organisation : undefined;
  }

  /** The Nonce Endpoint: a fresh single-use `c_nonce`. */
  async nonce(organisationId: string): Promise<{ c_nonce: string }> {
    await this.#requireIssuer(organisationId);
    const value = newAccessToken();
    const expiresAt = new Date(this.#ctx.clock.now().getTime() + NONCE_SECONDS * 1000).toISOString();
    await this.#ctx.storage.transaction((tx) => tx.nonces.insert(value, expiresAt));
    return { c_nonce: value };
  }

  /** The token endpoint (pre-authorized code grant); failures are OAuth errors. */
  async token(
    organisationId: string,
    body: unknown,
  ): Promise<{ access_token: string; token_type: "Bearer"; expires_in: number }> {
    await this.#requireIssuer(organisationId);
    const request = parseTokenRequest(body);
    const accessToken = newAccessToken();
    // A wrong transaction code is counted even though the answer is an error: the count must commit.
    const outcome = await this.#ctx.storage.transaction(async (tx) => {
      const offer = await tx.credentialOffers.findByPreAuthorizedCodeHash(
        secretHash(request.preAuthorizedCode),
      );
      if (!offer || offer.organisationId !== organisationId || !offerIsLive(offer, this.#ctx.clock.now())) {
        return new OAuthError("invalid_grant", "the pre-authorized code is unknown or expired");
      }
      if (offer.state !== "offered") {
        return new OAuthError(
          "invalid_grant",
          offer.state === "locked"
            ? "too many wrong transaction codes: ask your institution for a new offer"
            : "the pre-authorized code was already used",
        );
      }
      if (offer.txCodeHash !== null) {
        if (request.txCode === undefined)
          return new OAuthError("invalid_request", "this offer needs its tx_code");
        if (!sameSecret(secretHash(request.txCode), offer.txCodeHash)) {
          const failed = offer.failedTxCodeAttempts + 1;
          const locked = failed >= this.#options.txCodeAttempts;
          await tx.credentialOffers.update({
            ...offer,
            failedTxCodeAttempts: failed,
            state: locked ? "locked" : offer.state,
          });
          return new OAuthError(
            "invalid_grant",
            locked
              ? "wrong transaction code; the offer is now locked"
              : `wrong transaction code; ${this.#options.txCodeAttempts - failed} attempt(s) left`,
          );
        }
      } else if (request.txCode !== undefined) {
        return new OAuthError("invalid_request", "this offer has no tx_code; send none");
      }
      const now = this.#ctx.clock.now();
      const until = Math.min(now.getTime() + ACCESS_TOKEN_SECONDS * 1000, Date.parse(offer.expiresAt));
      const saved = await tx.credentialOffers.update({
        ...offer,
        state: "token-issued",
        accessTokenHash: secretHash(accessToken),
        accessTokenExpiresAt: new Date(until).toISOString(),
      });
      if (!saved) return new OAuthError("invalid_grant", "the pre-authorized code was already used");
      return Math.max(1, Math.floor((until - now.getTime()) / 1000));
    });
    if (outcome instanceof OAuthError) throw outcome;
    return { access_token: accessToken, token_type: "Bearer", expires_in: outcome };
  }

  /**
   * The credential endpoint: one credential per proof, bound to the key that proof shows. The access token
   * is spent by the first request that gets credentials.
   */
  async credential(
    organisationId: string,
    authorization: string | undefined,
    body: unknown,
  ): Promise<{ credentials: { credential: string }[] }> {
    const organisation = await this.#requireIssuer(organisationId);
    const token = /^Bearer ([\x21-\x7E]{1,512})$/.exec(authorization ?? "")?.[1];
    if (token === undefined) throw new OAuthError("invalid_token", "a Bearer access token is required");
    const offer = await this.#ctx.storage.read.credentialOffers.findByAccessTokenHash(secretHash(token));
    if (
      !offer ||
      offer.organisationId !== organisationId ||
      offer.state !== "token-issued" ||
      offer.accessTokenExpiresAt === null ||
      offer.accessTokenExpiresAt <= this.#ctx.clock.now().toISOString()
    ) {
      throw new OAuthError("invalid_token", "the access token is unknown, expired or already used");
    }
    let request: ReturnType<typeof parseCredentialRequest>;
    try {
      request = parseCredentialRequest(body, [ESC_CONFIGURATION_ID]);
    } catch (error) {
      if (error instanceof CredentialRequestError) throw new OAuthError(error.code, error.message);
      throw error;
    }
    const issuer = this.issuerOf(organisationId);
    const holders: Awaited<ReturnType<typeof verifyProofJwt>>[] = [];
    for (const jwt of request.proofJwts) {
      try {
        holders.push(await verifyProofJwt(jwt, { audience: issuer, now: this.#ctx.clock.now() }));
      } catch (error) {
        if (error instanceof ProofError) throw new OAuthError(error.code, error.message);
        throw error;
      }
    }
    await this.#spendNonces(holders.map((h) => h.nonce));
    const signer = await this.#keys.signerFor(organisation);
    const issued = await this.#ctx.storage.transaction(async (tx) => {
      const redeemed = await tx.credentialOffers.update({
        ...offer,
        state: "redeemed",
        redeemedAt: this.#ctx.clock.now().toISOString(),
      });
      if (!redeemed) throw new OAuthError("invalid_token", "the access token was already used");
      const card = await tx.cards.findForUpdate(parseEscn(offer.escn, "escn"));
      if (!card || card.personId !== offer.personId) {
        throw new OAuthError("invalid_credential_request", "the card of this offer no longer exists");
      }
      const day = today(this.#ctx);
      await requireIssuable(tx, card, day).catch((error: unknown) => {
        throw new OAuthError(
          "invalid_credential_request",
          error instanceof Error ? error.message : "the card cannot be issued",
        );
      });
      const claims = await escClaimsOf(tx, card, organisation, this.#options.publicUrl, day);
      if (!claims) {
        throw new OAuthError("invalid_credential_request", "the holder has no enrolled status in effect");
      }
      const issuedAt = this.#ctx.clock.now();
      const expiresAt = credentialExpiry(card.expiresAt);
      const credentials: string[] = [];
      const records: IssuedCredential[] = [];
      for (const holder of holders) {
        const placed = await this.#lists.place(tx, {
          id: randomUUID(),
          organisationId,
          escn: card.escn,
          personId: card.personId,
          keyId: signer.kid,
          holderKeyThumbprint: holder.thumbprint,
          offerId: offer.id,
          issuedAt: issuedAt.toISOString(),
          expiresAt: expiresAt.toISOString(),
        });
        records.push(placed);
        credentials.push(
          await issueEscCredential({
            issuer,
            signer,
            claims,
            holderJwk: holder.holderJwk,
            status: { uri: this.#lists.urlOf(organisationId, placed.statusListId), idx: placed.statusIndex },
            issuedAt,
            expiresAt,
          }),
        );
      }
      await tx.issuerKeys.extendPublishedUntil(signer.kid, expiresAt.toISOString());
      await this.#ctx.audit.recordAnonymousIn(
        tx,
        "read",
        [{ type: "card", subject: card.escn, personId: card.personId }],
        "credential-issuance",
      );
      return { credentials, records };
    });
    await this.#options.onIssued?.(issued.records);
    return { credentials: issued.credentials.map((credential) => ({ credential })) };
  }

  async #requireIssuer(organisationId: string): Promise<Organisation> {
    const organisation = await this.issuingOrganisation(organisationId);
    if (!organisation) throw new NotFoundError("ORGANISATION_NOT_FOUND", `no issuer ${organisationId}`);
    return organisation;
  }

  /** Every proof must carry a live nonce from the Nonce Endpoint; each nonce is spent once. */
  async #spendNonces(nonces: readonly (string | undefined)[]): Promise<void> {
    const distinct = new Set<string>();
    for (const nonce of nonces) {
      if (nonce === undefined)
        throw new OAuthError("invalid_nonce", "every proof needs the c_nonce from the nonce endpoint");
      distinct.add(nonce);
    }
    const now = this.#ctx.clock.now().toISOString();
    for (const nonce of distinct) {
      const live = await this.#ctx.storage.transaction((tx) => tx.nonces.consume(nonce, now));
      if (!live)
        throw new OAuthError("invalid_nonce", "the c_nonce is unknown, used or expired: get a new one");
    }
  }
}
