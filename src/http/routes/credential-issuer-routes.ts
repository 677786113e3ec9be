import type { FastifyInstance, FastifyReply } from "fastify";
import { Type } from "typebox";
import { OAuthError } from "../../credentials/openid4vci/oauth-error.ts";
import { NotFoundError } from "../../domain/errors.ts";
import type { RouteDeps } from "../app.ts";
import { data } from "../schemas/data-annotation.ts";

const TAGS = ["credential issuer"];
const IssuerParams = Type.Object({
  organisationId: Type.String({
    maxLength: 64,
    description: "The issuing organisation's identifier (its PIC)",
  }),
});
const ListParams = Type.Object({
  organisationId: Type.String({ maxLength: 64, description: "The issuing organisation's identifier" }),
  listId: Type.String({ pattern: "^[0-9]{1,15}$", description: "The status list's number" }),
});
const OfferParams = Type.Object({
  organisationId: Type.String({ maxLength: 64, description: "The issuing organisation's identifier" }),
  offerId: Type.String({ maxLength: 64, description: "The offer's identifier" }),
});
const FORM = "application/x-www-form-urlencoded";
/** Far more than a token request needs; a larger form is not one. */
const MAX_FORM_BYTES = 8192;

type IssuerRequest = { Params: { organisationId: string } };
type Documents = RouteDeps["services"]["issuers"];

/**
 * What each issuer publishes and the OpenID4VCI endpoints a wallet calls, all under the issuer's identifier
 * (`<public URL>/issuers/<organisation>`) and its well-known locations. No API token: metadata and status
 * lists are public and hold no personal data; the token and credential endpoints are authorised by the
 * offer's codes and the access token they give, and answer errors in OAuth's format, as wallets expect.
 */
export function credentialIssuerRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  const { issuers, issuance, offers } = services;
  const prefix = new URL(options.publicUrl).pathname.replace(/\/$/, "");

  // The well-known documents sit at the origin, before the issuer's path (RFC 8414 §3.1, SD-JWT VC).
  const wellKnown = (
    kind: string,
    operationId: string,
    summary: string,
    document: (issuers: Documents, organisationId: string) => Promise<object | undefined>,
  ) => {
    app.get<IssuerRequest>(
      `/.well-known/${kind}${prefix}/issuers/:organisationId`,
      {
        config: { purpose: "operations" },
        schema: {
          operationId,
          tags: TAGS,
          summary,
          params: IssuerParams,
          response: { 200: { description: "The document, as JSON" } },
        },
      },
      async (request, reply) => {
        const found = await document(issuers, request.params.organisationId);
        if (!found) throw unknownIssuer(request.params.organisationId);
        return reply.type("application/json; charset=utf-8").send(JSON.stringify(found));
      },
    );
  };
  wellKnown(
    "jwt-vc-issuer",
    "getJwtVcIssuerMetadata",
    "SD-JWT VC issuer metadata: the issuer's keys, retired ones included while anything they signed is valid",
    (d, id) => d.jwtVcIssuerMetadata(id),
  );
  wellKnown(
    "openid-credential-issuer",
    "getCredentialIssuerMetadata",
    "OpenID4VCI credential issuer metadata",
    (d, id) => d.credentialIssuerMetadata(id),
  );
  wellKnown(
    "oauth-authorization-server",
    "getAuthorizationServerMetadata",
    "OAuth authorization server metadata (RFC 8414) of the issuer",
    (d, id) => d.authorizationServerMetadata(id),
  );

  app.get(
    "/issuers/ca.pem",
    {
      config: { purpose: "operations" },
      schema: {
        operationId: "getDeploymentCaCertificate",
        tags: TAGS,
        summary: "The deployment CA certificate every issuer certificate chains to (PEM)",
        response: { 200: { description: "PEM certificate" } },
      },
    },
    async (_request, reply) => {
      const pem = await issuers.caCertificatePem();
      if (pem === undefined) throw new NotFoundError("NOT_FOUND", "this hub issues no credentials");
      return reply.type("application/x-pem-file").send(pem);
    },
  );

  app.get<{ Params: { organisationId: string; listId: string } }>(
    "/issuers/:organisationId/status-lists/:listId",
    {
      config: { purpose: "operations" },
      schema: {
        operationId: "getStatusList",
        tags: TAGS,
        summary: "A Token Status List of the issuer (`application/statuslist+jwt`)",
        description:
          "Re-signed within about a second of any change; its `ttl` says how long a verifier may use its copy.",
        params: ListParams,
        response: { 200: { description: "The signed status list token" } },
      },
    },
    async (request, reply) => {
      const { organisationId, listId } = request.params;
      const token = await issuers.statusListToken(organisationId, Number(listId));
      if (token === undefined)
        throw new NotFoundError("NOT_FOUND", `no status list ${listId} of ${organisationId}`);
      // Verifiers cache by the token's ttl; a shared cache in between must not hold it longer.
      return reply.type("application/statuslist+jwt").header("cache-control", "no-cache").send(token);
    },
  );

  app.get<{ Params: { organisationId: string; offerId: string } }>(
    "/issuers/:organisationId/credential-offers/:offerId",
    {
      config: { purpose: "operations" },
      schema: {
        operationId: "getCredentialOffer",
        tags: TAGS,
        summary: "A credential offer, as a wallet fetches it from `credential_offer_uri`",
        description: "Each fetch gives a fresh pre-authorized code; codes fetched before stop working.",
        params: OfferParams,
        response: { 200: { description: "The credential offer (OpenID4VCI 1.0 §4.1)" } },
      },
    },
    async (request, reply) => {
      const offer = await offers.document(request.params.organisationId, request.params.offerId);
      return reply
        .type("application/json; charset=utf-8")
        .header("cache-control", "no-store")
        .send(JSON.stringify(offer));
    },
  );

  app.post<IssuerRequest>(
    "/issuers/:organisationId/nonce",
    {
      config: { purpose: "operations" },
      schema: {
        operationId: "getCredentialNonce",
        tags: TAGS,
        summary: "Nonce Endpoint: a fresh single-use `c_nonce` for key proofs",
        params: IssuerParams,
        response: { 200: { description: "`{ c_nonce }`" } },
      },
    },
    async (request, reply) => {
      const body = await issuance.nonce(request.params.organisationId);
      return reply
        .type("application/json; charset=utf-8")
        .header("cache-control", "no-store")
        .send(JSON.stringify(body));
    },
  );

  app.register(async (scope) => {
    // The token request is a form (RFC 6749 §4.1.3), the only one the hub takes. A body of any other type
    // still reaches the route, so that the wallet gets OAuth's invalid_request rather than the hub's
    // problem document telling it to send JSON.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      FORM,
      { parseAs: "string", bodyLimit: MAX_FORM_BYTES },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );
    scope.addContentTypeParser(
      "*",
      { parseAs: "string", bodyLimit: MAX_FORM_BYTES },
      (_request, _body, done) => done(null, undefined),
    );
    scope.post<IssuerRequest>(
      "/issuers/:organisationId/token",
      {
        config: { purpose: "operations" },
        schema: {
          operationId: "getCredentialAccessToken",
          tags: TAGS,
          summary: "Token endpoint: the pre-authorized code (and tx_code) for an access token",
          description: `Form-encoded (\`${FORM}\`). Errors in OAuth's format (\`invalid_grant\`, \`invalid_request\`, …).`,
          params: IssuerParams,
          response: { 200: { description: "`{ access_token, token_type, expires_in }`" } },
        },
      },
      async (request, reply) => {
        if (!String(request.headers["content-type"] ?? "").startsWith(FORM)) {
          return oauthError(reply, new OAuthError("invalid_request", `the token request must be ${FORM}`));
        }
        try {
          const body = await issuance.token(request.params.organisationId, request.body ?? {});
          return reply
            .type("application/json; charset=utf-8")
            .header("cache-control", "no-store")
            .send(JSON.stringify(body));
        } catch (error) {
          if (error instanceof OAuthError) return oauthError(reply, error);
          throw error;
        }
      },
    );
  });

  app.post<IssuerRequest & { Body: unknown }>(
    "/issuers/:organisationId/credential",
    {
      config: { purpose: "credential-issuance" },
      schema: {
        operationId: "getCredential",
        tags: TAGS,
        summary: "Credential endpoint: one SD-JWT VC per key proof",
        description:
          "`Authorization: Bearer` with the token endpoint's access token; body `{ credential_configuration_id, proofs: { jwt: [...] } }`. " +
          "Errors in OpenID4VCI's format (`invalid_proof`, `invalid_nonce`, `invalid_token`, …).",
        params: IssuerParams,
        response: {
          200: {
            description: "`{ credentials: [{ credential }] }`",
            content: {
              "application/json": {
                schema: Type.Object({
                  credentials: Type.Array(
                    Type.Object({ credential: Type.String({ ...data("credential.sdJwt") }) }),
                    { ...data("credential.sdJwt") },
                  ),
                }),
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      try {
        const body = await issuance.credential(
          request.params.organisationId,
          request.headers.authorization,
          request.body,
        );
        return reply.header("cache-control", "no-store").send(body);
      } catch (error) {
        if (error instanceof OAuthError) return oauthError(reply, error);
        throw error;
      }
    },
  );
}

function unknownIssuer(organisationId: string): NotFoundError {
  return new NotFoundError("ORGANISATION_NOT_FOUND", `no issuer ${organisationId}`);
}

function oauthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  if (error.status === 401) reply.header("www-authenticate", `Bearer error="${error.error}"`);
  return reply
    .code(error.status)
    .type("application/json; charset=utf-8")
    .header("cache-control", "no-store")
    .send(JSON.stringify(error.toBody()));
}
