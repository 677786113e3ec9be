import type { JWK } from "jose";
import { issuerIdentifier } from "../credentials/issuer-identifier.ts";
import {
  authorizationServerMetadata,
  credentialIssuerMetadata,
} from "../credentials/openid4vci/issuer-metadata.ts";
import { issuesCards, type Organisation } from "../domain/organisation.ts";
import type { IssuerKeyService } from "./issuer-key-service.ts";
import type { ServiceContext } from "./service-context.ts";
import type { StatusListService } from "./status-list-service.ts";

/**
 * What each issuer publishes for wallets and verifiers, without authentication and without personal data:
 * its SD-JWT VC issuer metadata (the keys), its OpenID4VCI and authorization-server metadata, and its status
 * lists. An organisation that issues no cards is no issuer: every document of it is not found.
 */
export class CredentialIssuerService {
  readonly #ctx: ServiceContext;
  readonly #keys: IssuerKeyService;
  readonly #lists: StatusListService;
  readonly #publicUrl: string;

  constructor(ctx: ServiceContext, keys: IssuerKeyService, lists: StatusListService, publicUrl: string) {
    this.#ctx = ctx;
    this.#keys = keys;
    this.#lists = lists;
    this.#publicUrl = publicUrl;
  }

  /** Whether the hub can sign (a master key is configured). */
  get available(): boolean {
    return this.#keys.available;
  }

  issuerOf(organisationId: string): string {
    return issuerIdentifier(this.#publicUrl, organisationId);
  }

  /** `/.well-known/jwt-vc-issuer…`: the issuer and its published keys, each with its `x5c` chain. */
  async jwtVcIssuerMetadata(
    organisationId: string,
  ): Promise<{ issuer: string; jwks: { keys: JWK[] } } | undefined> {
    const organisation = await this.#issuer(organisationId);
    if (!organisation) return undefined;
    // The first use makes the issuer's key, so that a verifier can fetch it before any credential exists.
    await this.#keys.ensureKey(organisation);
    return {
      issuer: this.issuerOf(organisation.id),
      jwks: { keys: await this.#keys.publishedKeys(organisation.id) },
    };
  }

  /** `/.well-known/openid-credential-issuer…`. */
  async credentialIssuerMetadata(organisationId: string): Promise<Record<string, unknown> | undefined> {
    const organisation = await this.#issuer(organisationId);
    if (!organisation) return undefined;
    const key = await this.#keys.ensureKey(organisation);
    return credentialIssuerMetadata({
      issuer: this.issuerOf(organisation.id),
      displayName: organisation.name,
      signingAlgorithms: [key.alg],
    }) as unknown as Record<string, unknown>;
  }

  /** `/.well-known/oauth-authorization-server…`: each issuer is its own authorization server. */
  async authorizationServerMetadata(organisationId: string): Promise<Record<string, unknown> | undefined> {
    const organisation = await this.#issuer(organisationId);
    if (!organisation) return undefined;
    return authorizationServerMetadata({ issuer: this.issuerOf(organisation.id) }) as unknown as Record<
      string,
      unknown
    >;
  }

  /** A status list token, as served; undefined when the issuer has no such list. */
  async statusListToken(organisationId: string, listId: number): Promise<string | undefined> {
    if (!this.#keys.available) return undefined;
    return this.#lists.token(organisationId, listId);
  }

  /** Signs every list of the organisation again (after a rotation: new tokens carry the new key). */
  async resignLists(organisationId: string): Promise<void> {
    await this.#lists.signAll(organisationId);
  }

  /** The deployment CA certificate (PEM), for verifiers who pin it. */
  async caCertificatePem(): Promise<string | undefined> {
    return this.#keys.available ? this.#keys.caCertificatePem() : undefined;
  }

  async #issuer(organisationId: string): Promise<Organisation | undefined> {
    if (!this.#keys.available) return undefined;
    const organisation = await this.#ctx.storage.read.organisations.findById(organisationId);
    return organisation && issuesCards(organisation.kind) ? organisation : undefined;
  }
}
