import { randomUUID } from "node:crypto";
import { issueEscCredential } from "../credentials/esc-credential.ts";
import { credentialOfferUrl, issuerIdentifier, verificationUrl } from "../credentials/issuer-identifier.ts";
import {
  credentialOfferDocument,
  newAccessToken,
  newPreAuthorizedCode,
  newTxCode,
  offerDeepLink,
  offerQrSvg,
  sameSecret,
  secretHash,
} from "../credentials/openid4vci/credential-offer.ts";
import {
  CredentialRequestError,
  parseCredentialRequest,
} from "../credentials/openid4vci/credential-request.ts";
import { ESC_CONFIGURATION_ID } from "../credentials/openid4vci/issuer-metadata.ts";
import { OAuthError, parseTokenRequest } from "../credentials/openid4vci/oauth-error.ts";
import { ProofError, verifyProofJwt } from "../credentials/openid4vci/proof-jwt.ts";
import type { Card } from "../domain/card.ts";
import { cardVerdict } from "../domain/card-verdict.ts";
import type { CredentialOffer } from "../domain/credential-offer.ts";
import { ConflictError, NotFoundError } from "../domain/errors.ts";
import { parseEscn } from "../domain/escn.ts";
import type { IsoDate } from "../domain/iso-date.ts";
import type { IssuedCredential } from "../domain/issued-credential.ts";
import { issuesCards, type Organisation } from "../domain/organisation.ts";
import { isInEffect } from "../domain/student-status.ts";
import type { Repositories } from "../ports/storage.ts";
import type { IssuerKeyService } from "./issuer-key-service.ts";
import { type Principal, requireScope } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";
import type { StatusListService } from "./status-list-service.ts";
import { today } from "./today.ts";

export interface CredentialIssuanceOptions {
  readonly publicUrl: string;
  /** How long an offer (its pre-authorized code) can be redeemed. */
  readonly offerMinutes: number;
  /** Wrong transaction codes an offer takes before it locks. */
  readonly txCodeAttempts: number;
  /** Told of the credentials of each issuance once committed, to check them against changes made meanwhile. */
  readonly onIssued?: (credentials: readonly IssuedCredential[]) => Promise<void>;
}

export interface OfferInput {
  readonly escn: string;
  /** Whether the wallet must also give a transaction code handed to the student (default true). */
  readonly txCode?: boolean;
}

/** What the institution gets back: the offer in every form a wallet takes, and the code for the student. */
export interface CreatedOffer {
  readonly id: string;
  readonly credentialOffer: Record<string, unknown>;
  readonly credentialOfferUri: string;
  readonly deepLink: string;
  /** The deep link as an SVG QR code. */
  readonly qrCode: string;
  /** To hand to the student by another channel than the offer; null when the offer has none. */
  readonly txCode: string | null;
  readonly expiresAt: string;
}

/** Seconds a `c_nonce` stays usable. */
const NONCE_SECONDS = 300;
/** Seconds an access token from the token endpoint stays usable. */
const ACCESS_TOKEN_SECONDS = 300;
const TX_CODE_LENGTH = 6;

/**
 * Issuance of the student card to a wallet, by OpenID4VCI 1.0 with the pre-authorized code flow: the
 * student's institution makes an offer (`createOffer`); the wallet fetches it, trades its code (and the
 * transaction code the student types) for an access token, asks for a nonce, and sends proofs of its keys
 * to get one credential per key. Only a card whose verdict is valid, of a student who consents to
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

  async createOffer(caller: Principal, input: OfferInput): Promise<CreatedOffer> {
    requireScope(caller, "credentials:issue");
    const escn = parseEscn(input.escn, "/escn");
    this.#keys.requireAvailable();
    const preAuthorizedCode = newPreAuthorizedCode();
    const txCode = input.txCode === false ? null : newTxCode(TX_CODE_LENGTH);
    const now = this.#ctx.clock.now();
    const expiresAt = new Date(now.getTime() + this.#options.offerMinutes * 60_000).toISOString();
    const offer = await this.#ctx.storage.transaction(async (tx) => {
      const card = await tx.cards.findByEscn(escn);
      // Only the card's issuer offers it; anyone else's card answers like one that does not exist.
      if (!card || card.issuerId !== caller.organisation.id) {
        // Without the number: the answer must be byte for byte the one about a card nobody has.
        throw new NotFoundError("CARD_NOT_FOUND", "no card with this number is visible to your organisation");
      }
      await this.#requireIssuable(tx, card);
      const created = await tx.credentialOffers.insert({
        id: randomUUID(),
        organisationId: card.issuerId,
        escn: card.escn,
        personId: card.personId,
        preAuthorizedCodeHash: secretHash(preAuthorizedCode),
        txCodeHash: txCode === null ? null : secretHash(txCode),
        txCodeLength: txCode === null ? null : TX_CODE_LENGTH,
        failedTxCodeAttempts: 0,
        state: "offered",
        accessTokenHash: null,
        accessTokenExpiresAt: null,
        createdAt: now.toISOString(),
        expiresAt,
        redeemedAt: null,
      });
      await this.#ctx.audit.recordIn(tx, caller, "create", [
        { type: "card", subject: card.escn, personId: card.personId },
      ]);
      return created;
    });
    const issuer = this.issuerOf(offer.organisationId);
    const credentialOfferUri = credentialOfferUrl(issuer, offer.id);
    const deepLink = offerDeepLink(credentialOfferUri);
    return {
      id: offer.id,
      credentialOffer: this.#document(offer, preAuthorizedCode),
      credentialOfferUri,
      deepLink,
      qrCode: await offerQrSvg(deepLink),
      txCode,
      expiresAt,
    };
  }

  /**
   * The offer a wallet fetches from `credential_offer_uri`. Its pre-authorized code is not stored, so the
   * document carries a fresh one each time it is fetched before redemption, and the older codes stop working.
   */
  async offerDocument(organisationId: string, offerId: string): Promise<Record<string, unknown>> {
    const code = newPreAuthorizedCode();
    const offer = await this.#ctx.storage.transaction(async (tx) => {
      const found = await tx.credentialOffers.find(offerId);
      if (
        !found ||
        found.organisationId !== organisationId ||
        !this.#live(found) ||
        found.state !== "offered"
      ) {
        throw new NotFoundError(
          "CREDENTIAL_OFFER_NOT_FOUND",
          "no such credential offer, or it was used or expired",
        );
      }
      const saved = await tx.credentialOffers.update({ ...found, preAuthorizedCodeHash: secretHash(code) });
      if (!saved) throw new ConflictError("VERSION_MISMATCH", "the offer changed meanwhile; fetch it again");
      return saved;
    });
    return this.#document(offer, code);
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
      if (!offer || offer.organisationId !== organisationId || !this.#live(offer)) {
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
      const claims = await this.#claims(tx, card, organisation);
      const issuedAt = this.#ctx.clock.now();
      const expiresAt = endOfDay(card.expiresAt);
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

  #document(offer: CredentialOffer, preAuthorizedCode: string): Record<string, unknown> {
    return credentialOfferDocument({
      issuer: this.issuerOf(offer.organisationId),
      configurationIds: [ESC_CONFIGURATION_ID],
      preAuthorizedCode,
      ...(offer.txCodeLength !== null
        ? {
            txCode: {
              length: offer.txCodeLength,
              description: "The code your institution gave you with this offer",
            },
          }
        : {}),
    }) as unknown as Record<string, unknown>;
  }

  #live(offer: CredentialOffer): boolean {
    return offer.expiresAt > this.#ctx.clock.now().toISOString();
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

  /** A card may be offered only while its verdict is valid and its holder consents to credential issuance. */
  async #requireIssuable(tx: Repositories, card: Card): Promise<void> {
    const consent = await tx.consents.find(card.personId, "credential-issuance");
    if (consent?.state !== "given") {
      throw new ConflictError(
        "CONSENT_NOT_GIVEN",
        "the holder has not consented to credential-issuance; record their consent first",
      );
    }
    const issuer = await tx.organisations.findById(card.issuerId);
    const statuses = await tx.statuses.listForPerson(card.personId);
    const verdict = issuer ? cardVerdict(card, issuer, statuses, today(this.#ctx)) : "invalid";
    if (verdict !== "valid") {
      throw new ConflictError(
        "CARD_NOT_VALID",
        `the card's verdict is ${verdict}; only a valid card is issued`,
      );
    }
  }

  async #claims(tx: Repositories, card: Card, issuer: Organisation) {
    await this.#requireIssuable(tx, card).catch((error: unknown) => {
      throw new OAuthError(
        "invalid_credential_request",
        error instanceof Error ? error.message : "the card cannot be issued",
      );
    });
    const day = today(this.#ctx);
    const statuses = await tx.statuses.listForPerson(card.personId);
    const status = statuses.find(
      (s) =>
        s.state === "enrolled" &&
        isInEffect(s, day) &&
        (s.organisationId === issuer.id || issuer.serves.includes(s.organisationId)),
    );
    if (!status)
      throw new OAuthError("invalid_credential_request", "the holder has no enrolled status in effect");
    const institution =
      status.organisationId === issuer.id ? issuer : await tx.organisations.findById(status.organisationId);
    const link =
      (await tx.persons.findLink(card.personId, status.organisationId)) ??
      (await tx.persons.findLink(card.personId, issuer.id));
    return {
      cardNumber: card.escn,
      issuedAt: card.issuedAt,
      expiresAt: card.expiresAt,
      displayName: card.displayName,
      fullName: link?.fullName ?? "",
      issuer: issuer.name,
      qrCode: verificationUrl(this.#options.publicUrl, card.escn),
      institution: institution?.name ?? issuer.name,
      institutionId: status.organisationId,
      country: institution?.country ?? null,
      academicLevel: link?.academicLevel ?? null,
      validUntil: status.validUntil,
      esi: card.esi,
    };
  }
}

/** A card is valid through its `expiresAt` day; its credential expires at the following midnight (UTC). */
function endOfDay(day: IsoDate): Date {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000);
}
