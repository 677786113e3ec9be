import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { NotFoundError } from "../domain/errors.ts";
import type { HttpOptions, HubServices } from "./hub-services.ts";
import { installAuthentication } from "./plugins/authentication.ts";
import { installDataMapEnforcement } from "./plugins/data-map-enforcement.ts";
import { sendError, sendInternalError, toOpenEscError } from "./plugins/error-responses.ts";
import { installMetrics } from "./plugins/metrics.ts";
import { installOpenApi } from "./plugins/openapi.ts";
import { installValidators } from "./plugins/validators.ts";
import { asyncApiRoutes } from "./routes/asyncapi-routes.ts";
import { credentialIssuerRoutes } from "./routes/credential-issuer-routes.ts";
import { escRouterCardCsvRoutes } from "./routes/esc-router-v2/card-csv-routes.ts";
import { escRouterCardRoutes } from "./routes/esc-router-v2/card-routes.ts";
import { escRouterPersonRoutes } from "./routes/esc-router-v2/person-routes.ts";
import { escRouterPublicRoutes } from "./routes/esc-router-v2/public-routes.ts";
import { healthRoutes } from "./routes/health-routes.ts";
import { nativeAuditRoutes } from "./routes/v1/audit-routes.ts";
import { nativeCardRoutes } from "./routes/v1/card-routes.ts";
import { connectorRoutes } from "./routes/v1/connector-routes.ts";
import { nativeConsentRoutes } from "./routes/v1/consent-routes.ts";
import { credentialRoutes } from "./routes/v1/credential-routes.ts";
import { nativeDataSubjectRightsRoutes } from "./routes/v1/data-subject-rights-routes.ts";
import { eventRoutes } from "./routes/v1/event-routes.ts";
import { importRoutes } from "./routes/v1/import-routes.ts";
import { mirrorRoutes } from "./routes/v1/mirror-routes.ts";
import { nativeOrganisationRoutes } from "./routes/v1/organisation-routes.ts";
import { nativePersonRoutes } from "./routes/v1/person-routes.ts";
import { nativeStudentStatusRoutes } from "./routes/v1/student-status-routes.ts";
import { subscriptionRoutes } from "./routes/v1/subscription-routes.ts";
import { CONNECTOR_SCHEMAS } from "./schemas/connector-schemas.ts";
import { ESC_ROUTER_V2_SCHEMAS } from "./schemas/esc-router-v2-schemas.ts";
import { EVENT_SCHEMAS } from "./schemas/event-schemas.ts";
import { NATIVE_SCHEMAS } from "./schemas/native-schemas.ts";

export interface BuildAppOptions extends HttpOptions {
  readonly services: HubServices;
  /** A pino logger configuration or false (tests pass false), or a pino logger to share. */
  readonly logger?: boolean | object;
}

/** The HTTP edge: ESC-R compatible routes, the native API, operations endpoints and the API document. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(isLogger(options.logger)
      ? { loggerInstance: options.logger }
      : { logger: options.logger ?? { level: options.logLevel } }),
    // Per-request logs would cost the hot paths; errors are still logged by our handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 300 },
    // Errors the router raises before any route runs (a broken %-escape, an over-long parameter) get the
    // same answers as every other error, in the shape of the part the path belongs to.
    frameworkErrors: (error, request, reply) => {
      const known = toOpenEscError(error);
      if (known) return sendError(request, reply, known);
      request.log.error({ err: error, url: request.url, method: request.method }, "unexpected error");
      return sendInternalError(request, reply);
    },
  });
  // Bodies are JSON only: without this, Fastify's built-in text/plain parser hands a string to the
  // schema (a 400 about the body's type) where the client needs to hear 415 about its content type.
  app.removeContentTypeParser("text/plain");
  const schemas = [...ESC_ROUTER_V2_SCHEMAS, ...NATIVE_SCHEMAS, ...EVENT_SCHEMAS, ...CONNECTOR_SCHEMAS];
  for (const schema of schemas) app.addSchema(schema);
  installValidators(app, schemas);
  // Every route registered from here on answers only the fields its purpose may see (docs/privacy.md).
  installDataMapEnforcement(app, schemas);

  app.setErrorHandler((error, request, reply) => {
    const known = toOpenEscError(error);
    if (known) return sendError(request, reply, known);
    request.log.error({ err: error, url: request.url, method: request.method }, "unexpected error");
    return sendInternalError(request, reply);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new NotFoundError("ROUTE_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`),
    ),
  );

  await installOpenApi(app, options.publicUrl);
  installAuthentication(app, options.services.tokens);
  installMetrics(app, () => options.services.cards.statusCacheStats());

  // Reads waiting in the audit trail's group commit are written before the store closes.
  app.addHook("onClose", async () => options.services.audit.flush());
  const deps = { services: options.services, options };
  healthRoutes(app, deps);
  asyncApiRoutes(app, deps);
  await app.register(async (scope) => credentialIssuerRoutes(scope, deps));
  await app.register(
    async (scope) => {
      escRouterPublicRoutes(scope, deps);
      escRouterPersonRoutes(scope, deps);
      escRouterCardRoutes(scope, deps);
      escRouterCardCsvRoutes(scope, deps);
    },
    { prefix: "/esc-rest/api/v2" },
  );
  await app.register(
    async (scope) => {
      nativeOrganisationRoutes(scope, deps);
      nativePersonRoutes(scope, deps);
      nativeStudentStatusRoutes(scope, deps);
      nativeCardRoutes(scope, deps);
      nativeDataSubjectRightsRoutes(scope, deps);
      nativeConsentRoutes(scope, deps);
      nativeAuditRoutes(scope, deps);
      subscriptionRoutes(scope, deps);
      eventRoutes(scope, deps);
      credentialRoutes(scope, deps);
      mirrorRoutes(scope, deps);
      importRoutes(scope, deps);
      connectorRoutes(scope, deps);
    },
    { prefix: "/v1" },
  );
  return app;
}

/** A ready logger (pino's), as opposed to a logger configuration. */
function isLogger(value: unknown): value is FastifyBaseLogger {
  return (
    typeof value === "object" && value !== null && typeof (value as { child?: unknown }).child === "function"
  );
}

export interface RouteDeps {
  readonly services: HubServices;
  readonly options: HttpOptions;
}
