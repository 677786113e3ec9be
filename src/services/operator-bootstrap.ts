import { randomUUID } from "node:crypto";
import { ConflictError } from "../domain/errors.ts";
import type { StoredToken } from "../ports/storage.ts";
import type { ServiceContext } from "./service-context.ts";
import { hashToken, newTokenSecret, scopesFor } from "./token-service.ts";

export const OPERATOR_ID = "operator";

export interface BootstrapResult {
  /** A secret made now, to be handed to the operator once; null when none was needed. */
  readonly generatedSecret: string | null;
}

/**
 * Makes sure the operator organisation exists and can be reached: with a configured admin token, that
 * token works; without one, a token is generated on the very first start only. Runs in one
 * transaction, so processes starting together create exactly one.
 */
export async function bootstrapOperator(
  ctx: Pick<ServiceContext, "storage" | "clock">,
  configuredSecret: string | null,
): Promise<BootstrapResult> {
  // Two processes starting together on a shared store may both find no operator and both insert it: the
  // loser's transaction fails on the unique key, and running it again finds what the winner committed.
  for (let attempt = 1; ; attempt++) {
    try {
      return await bootstrapOnce(ctx, configuredSecret);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 3) throw error;
    }
  }
}

function bootstrapOnce(
  ctx: Pick<ServiceContext, "storage" | "clock">,
  configuredSecret: string | null,
): Promise<BootstrapResult> {
  const now = ctx.clock.now().toISOString();
  return ctx.storage.transaction(async (tx) => {
    if (!(await tx.organisations.findById(OPERATOR_ID))) {
      await tx.organisations.insert({
        id: OPERATOR_ID,
        kind: "operator",
        name: "Hub operator",
        country: null,
        schacHomeOrganisation: null,
        erasmusCode: null,
        website: null,
        colours: { main: null, secondary: null, contrast: null, qr: null },
        showDisplayName: false,
        serves: [],
        processors: [],
        createdAt: now,
        updatedAt: now,
      });
    }
    const token = (secret: string, name: string): StoredToken => ({
      id: randomUUID(),
      organisationId: OPERATOR_ID,
      name,
      scopes: [...scopesFor("operator")],
      createdAt: now,
      expiresAt: null,
      revokedAt: null,
      hash: hashToken(secret),
    });
    if (configuredSecret !== null) {
      if (!(await tx.tokens.findByHash(hashToken(configuredSecret)))) {
        await tx.tokens.insert(token(configuredSecret, "bootstrap (OPENESC_ADMIN_TOKEN)"));
      }
      return { generatedSecret: null };
    }
    if ((await tx.tokens.listByOrganisation(OPERATOR_ID)).length > 0) return { generatedSecret: null };
    const secret = newTokenSecret();
    await tx.tokens.insert(token(secret, "bootstrap (generated at first start)"));
    return { generatedSecret: secret };
  });
}
