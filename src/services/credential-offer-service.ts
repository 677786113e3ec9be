import { randomUUID } from "node:crypto";
import { credentialOfferUrl, issuerIdentifier } from "../credentials/issuer-identifier.ts";
import {
  credentialOfferDocument,
  newPreAuthorizedCode,
  newTxCode,
  offerDeepLink,
  offerQrSvg,
  secretHash,
} from "../credentials/openid4vci/credential-offer.ts";
import { ESC_CONFIGURATION_ID } from "../credentials/openid4vci/issuer-metadata.ts";
import { type CredentialOffer, offerIsLive } from "../domain/credential-offer.ts";
import { ConflictError, NotFoundError } from "../domain/errors.ts";
import { parseEscn } from "../domain/escn.ts";
import { requireIssuable } from "./esc-credential-claims.ts";
import type { IssuerKeyService } from "./issuer-key-service.ts";
import { type Principal, requireScope } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";
import { today } from "./today.ts";

export interface CredentialOfferOptions {
  readonly publicUrl: string;
  /** How long an offer (its pre-authorized code) can be redeemed. */
  readonly offerMinutes: number;
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

const TX_CODE_LENGTH = 6;

/**
 * Credential offers (OpenID4VCI 1.0, pre-authorized code flow): the student's institution offers a card to
 * its holder's wallet, and the wallet fetches the offer from its `credential_offer_uri`. The hub keeps only
 * hashes of the offer's secrets. Redemption is `CredentialIssuanceService`'s.
 */
export class CredentialOfferService {
  readonly #ctx: ServiceContext;
  readonly #keys: IssuerKeyService;
  readonly #options: CredentialOfferOptions;

  constructor(ctx: ServiceContext, keys: IssuerKeyService, options: CredentialOfferOptions) {
    this.#ctx = ctx;
    this.#keys = keys;
    this.#options = options;
  }

  async create(caller: Principal, input: OfferInput): Promise<CreatedOffer> {
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
      await requireIssuable(tx, card, today(this.#ctx));
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
    const issuer = issuerIdentifier(this.#options.publicUrl, offer.organisationId);
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
  async document(organisationId: string, offerId: string): Promise<Record<string, unknown>> {
    const code = newPreAuthorizedCode();
    const offer = await this.#ctx.storage.transaction(async (tx) => {
      const found = await tx.credentialOffers.find(offerId);
      if (
        !found ||
        found.organisationId !== organisationId ||
        !offerIsLive(found, this.#ctx.clock.now()) ||
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

  #document(offer: CredentialOffer, preAuthorizedCode: string): Record<string, unknown> {
    return credentialOfferDocument({
      issuer: issuerIdentifier(this.#options.publicUrl, offer.organisationId),
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
}
