import { createHash, randomBytes, randomUUID } from "node:crypto";
import { type ApiToken, SCOPES, type Scope } from "../domain/api-token.ts";
import {
  ForbiddenError,
  InvalidValueError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from "../domain/errors.ts";
import type { Organisation, OrganisationKind } from "../domain/organisation.ts";
import type { Purpose } from "../domain/purpose.ts";
import type { StoredToken } from "../ports/storage.ts";
import { type Principal, requireScope } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

/** Prefix of every token this hub makes, so that leaked tokens are easy to recognise in scans. */
export const TOKEN_PREFIX = "oesc_";

/** What each kind of organisation may be granted; a token asks for a subset. */
const SCOPES_BY_KIND: Readonly<Record<OrganisationKind, readonly Scope[]>> = {
  operator: ["organisations:manage", "tokens:manage"],
  institution: [
    "tokens:manage",
    "persons:read",
    "persons:write",
    "cards:read",
    "cards:write",
    "statuses:read",
    "statuses:write",
    "events:read",
    "subscriptions:manage",
    "credentials:issue",
    "credentials:manage",
  ],
  "student-service": [
    "tokens:manage",
    "persons:read",
    "persons:write",
    "cards:read",
    "cards:write",
    "statuses:read",
    "statuses:write",
    "events:read",
    "subscriptions:manage",
    "credentials:issue",
    "credentials:manage",
  ],
  "card-bureau": [
    "tokens:manage",
    "persons:read",
    "persons:write",
    "cards:read",
    "cards:write",
    "statuses:read",
    "events:read",
    "subscriptions:manage",
  ],
  // A service provider follows the cards it has seen (public status only) through subscriptions.
  "service-provider": ["tokens:manage", "events:read", "subscriptions:manage"],
};

export function scopesFor(kind: OrganisationKind): readonly Scope[] {
  return SCOPES_BY_KIND[kind];
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

export interface NewToken {
  readonly name: string;
  readonly scopes?: readonly string[];
  readonly expiresAt?: string | null;
}

export interface IssuedToken {
  readonly token: ApiToken;
  /** The secret, returned once and never stored. */
  readonly secret: string;
}

/** Tokens: made by the operator or by an organisation for itself, shown once, checked on every request. */
export class TokenService {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  /** Resolves a bearer secret into a principal, or fails with the reason (unknown, revoked, expired). */
  async authenticate(secret: string, purpose: Purpose): Promise<Principal> {
    const stored = await this.#ctx.storage.read.tokens.findByHash(hashToken(secret));
    if (!stored) throw new UnauthenticatedError("TOKEN_INVALID", "the bearer token is not known");
    if (stored.revokedAt !== null)
      throw new UnauthenticatedError("TOKEN_REVOKED", "the bearer token was revoked");
    if (stored.expiresAt !== null && Date.parse(stored.expiresAt) <= this.#ctx.clock.now().getTime()) {
      throw new UnauthenticatedError("TOKEN_EXPIRED", "the bearer token has expired");
    }
    const organisation = await this.#ctx.storage.read.organisations.findById(stored.organisationId);
    if (!organisation) throw new UnauthenticatedError("TOKEN_INVALID", "the bearer token is not known");
    const processedFor =
      organisation.kind === "card-bureau"
        ? await this.#ctx.storage.read.organisations.listProcessedBy(organisation.id)
        : [];
    return {
      tokenId: stored.id,
      organisation,
      scopes: new Set(stored.scopes),
      actingFor: [organisation.id, ...processedFor],
      purpose,
    };
  }

  /** The operator makes tokens for any organisation; an organisation with `tokens:manage` for itself. */
  async create(caller: Principal, organisationId: string, request: NewToken): Promise<IssuedToken> {
    const organisation = await this.#managedOrganisation(caller, organisationId);
    const scopes = this.#checkScopes(organisation, request.scopes);
    const expiresAt = this.#checkExpiry(request.expiresAt ?? null);
    const name = request.name.trim();
    if (name.length === 0 || name.length > 100) {
      throw new InvalidValueError("VALIDATION_FAILED", "/name", "must be 1 to 100 characters");
    }
    const secret = newTokenSecret();
    const token: StoredToken = {
      id: randomUUID(),
      organisationId: organisation.id,
      name,
      scopes,
      createdAt: this.#ctx.clock.now().toISOString(),
      expiresAt,
      revokedAt: null,
      hash: hashToken(secret),
    };
    await this.#ctx.storage.transaction((tx) => tx.tokens.insert(token));
    return { token: publicToken(token), secret };
  }

  async list(caller: Principal, organisationId: string): Promise<ApiToken[]> {
    await this.#managedOrganisation(caller, organisationId);
    return (await this.#ctx.storage.read.tokens.listByOrganisation(organisationId)).map(publicToken);
  }

  async revoke(caller: Principal, organisationId: string, tokenId: string): Promise<ApiToken> {
    await this.#managedOrganisation(caller, organisationId);
    return this.#ctx.storage.transaction(async (tx) => {
      const token = await tx.tokens.findById(tokenId);
      if (!token || token.organisationId !== organisationId) {
        throw new NotFoundError("TOKEN_NOT_FOUND", "no such token for this organisation");
      }
      const at = this.#ctx.clock.now().toISOString();
      await tx.tokens.revoke(tokenId, at);
      return publicToken({ ...token, revokedAt: token.revokedAt ?? at });
    });
  }

  async #managedOrganisation(caller: Principal, organisationId: string): Promise<Organisation> {
    requireScope(caller, "tokens:manage");
    const isOperator = caller.organisation.kind === "operator";
    if (!isOperator && caller.organisation.id !== organisationId) {
      throw new ForbiddenError("an organisation manages only its own tokens");
    }
    const organisation = await this.#ctx.storage.read.organisations.findById(organisationId);
    if (!organisation) throw new NotFoundError("ORGANISATION_NOT_FOUND", `no organisation ${organisationId}`);
    return organisation;
  }

  #checkScopes(organisation: Organisation, requested: readonly string[] | undefined): Scope[] {
    const allowed = scopesFor(organisation.kind);
    if (requested === undefined) return [...allowed];
    const issues = requested.flatMap((scope, i) => {
      if (!(SCOPES as readonly string[]).includes(scope)) {
        return [{ field: `/scopes/${i}`, reason: `unknown scope; known: ${SCOPES.join(", ")}` }];
      }
      if (!allowed.includes(scope as Scope)) {
        return [
          {
            field: `/scopes/${i}`,
            reason: `not available to a ${organisation.kind}; available: ${allowed.join(", ")}`,
          },
        ];
      }
      return [];
    });
    if (issues.length > 0) throw new ValidationError(issues);
    if (requested.length === 0)
      throw new InvalidValueError("VALIDATION_FAILED", "/scopes", "must name at least one scope");
    return [...new Set(requested as Scope[])];
  }

  #checkExpiry(expiresAt: string | null): string | null {
    if (expiresAt === null) return null;
    const at = Date.parse(expiresAt);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(expiresAt) || Number.isNaN(at)) {
      throw new InvalidValueError("TOKEN_EXPIRY_INVALID", "/expiresAt", "must be an RFC 3339 date-time");
    }
    if (at <= this.#ctx.clock.now().getTime()) {
      throw new InvalidValueError("TOKEN_EXPIRY_INVALID", "/expiresAt", "must be in the future");
    }
    return new Date(at).toISOString();
  }
}

function publicToken(token: StoredToken): ApiToken {
  const { hash: _hash, ...rest } = token;
  return rest;
}
