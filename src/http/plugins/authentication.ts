import type { FastifyInstance, FastifyRequest } from "fastify";
import { UnauthenticatedError } from "../../domain/errors.ts";
import type { Purpose } from "../../domain/purpose.ts";
import type { Principal } from "../../services/principal.ts";
import type { TokenService } from "../../services/token-service.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** Whether the route needs a bearer token (checked in onRequest, before the body is read). */
    auth?: boolean;
    /** Why the route processes data (src/domain/purpose.ts); required on every route with `auth`. */
    purpose?: Purpose;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Bearer-token authentication, in `onRequest` so that a request without a valid token gets a 401 before
 * its body is parsed or validated.
 */
export function installAuthentication(app: FastifyInstance, tokens: TokenService): void {
  app.decorateRequest("principal", undefined);
  app.addHook("onRoute", (route) => {
    const config = route.config as { auth?: boolean; purpose?: Purpose } | undefined;
    if (config?.auth === true && config.purpose === undefined) {
      throw new TypeError(`route ${route.method} ${route.url} needs a token but declares no purpose`);
    }
  });
  app.addHook("onRequest", async (request) => {
    if (request.routeOptions.config.auth !== true) return;
    const header = request.headers.authorization;
    if (header === undefined || header === "") throw new UnauthenticatedError();
    const secret = bearerSecret(header);
    if (secret === undefined)
      throw new UnauthenticatedError("UNAUTHENTICATED", "the Authorization header must be 'Bearer <token>'");
    request.principal = await tokens.authenticate(
      secret,
      request.routeOptions.config.purpose ?? "operations",
    );
  });
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerSecret(header: string | undefined): string | undefined {
  return BEARER.exec(header ?? "")?.[1];
}

/** The caller of an authenticated route; a route that calls this without `auth: true` is a bug. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal)
    throw new TypeError(`route ${request.routeOptions.url} reads a principal but does not set auth`);
  return request.principal;
}
