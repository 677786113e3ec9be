import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Organisation } from "../../../domain/organisation.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import {
  KeysetQuery,
  listOf,
  type NewOrganisationBody,
  type NewTokenBody,
  nativeRef,
  type OrganisationPatchBody,
} from "../../schemas/native-schemas.ts";
import { bearer, problems } from "../common-responses.ts";
import { encodeCursor, etag, expectedVersion, keysetPage } from "./keyset-cursor.ts";

const IdParams = Type.Object({
  id: Type.String({ description: "The organisation's identifier (PIC, VAT number or local identifier)" }),
});
const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

function organisationView(org: Organisation) {
  const { seq: _seq, ...view } = org;
  return view;
}

/** Onboarding of organisations by the operator, their profiles, and their API tokens. */
export function nativeOrganisationRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  app.get(
    "/me",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "whoAmI",
        tags: ["tokens"],
        summary: "The caller's organisation and token scopes",
        security: bearer,
        response: { 200: json(nativeRef("Me"), "Who is calling"), ...problems(401) },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      return {
        organisation: organisationView(caller.organisation),
        scopes: [...caller.scopes],
        actingFor: caller.actingFor,
      };
    },
  );

  app.post<{ Body: NewOrganisationBody }>(
    "/organisations",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "createOrganisation",
        tags: ["organisations"],
        summary: "Onboard an organisation (operator only)",
        security: bearer,
        body: nativeRef("NewOrganisation"),
        response: { 201: json(nativeRef("Organisation"), "Created"), ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const org = await services.organisations.create(principalOf(request), request.body);
      return reply
        .code(201)
        .header("etag", etag(org.version))
        .header("location", `/v1/organisations/${encodeURIComponent(org.id)}`)
        .send(organisationView(org));
    },
  );

  app.get<{ Querystring: { after?: string; limit?: number } }>(
    "/organisations",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "listOrganisations",
        tags: ["organisations"],
        summary: "Organisations (the operator sees all, others themselves)",
        security: bearer,
        querystring: Type.Object(KeysetQuery),
        response: { 200: json(listOf("Organisation"), "A page"), ...problems(400, 401) },
      },
    },
    async (request) => {
      const result = await services.organisations.list(
        principalOf(request),
        keysetPage(request.query, options.maxPageSize),
      );
      return { items: result.items.map(organisationView), next: encodeCursor(result.next) };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/organisations/:id",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "getOrganisation",
        tags: ["organisations"],
        summary: "One organisation",
        security: bearer,
        params: IdParams,
        response: { 200: json(nativeRef("Organisation"), "Found"), ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      const org = await services.organisations.get(principalOf(request), request.params.id);
      return reply.header("etag", etag(org.version)).send(organisationView(org));
    },
  );

  app.patch<{ Params: { id: string }; Body: OrganisationPatchBody; Headers: { "if-match"?: string } }>(
    "/organisations/:id",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "updateOrganisation",
        tags: ["organisations"],
        summary: "Change an organisation's profile",
        description:
          "The operator changes any field; an organisation changes its own website, colours, showDisplayName and processors. Send If-Match to avoid overwriting a concurrent change.",
        security: bearer,
        params: IdParams,
        body: nativeRef("OrganisationPatch"),
        response: { 200: json(nativeRef("Organisation"), "Updated"), ...problems(400, 401, 403, 404, 412) },
      },
    },
    async (request, reply) => {
      const org = await services.organisations.update(
        principalOf(request),
        request.params.id,
        request.body,
        expectedVersion(request.headers["if-match"]),
      );
      return reply.header("etag", etag(org.version)).send(organisationView(org));
    },
  );

  app.post<{ Params: { id: string }; Body: NewTokenBody }>(
    "/organisations/:id/tokens",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "createToken",
        tags: ["tokens"],
        summary: "Make an API token; the answer shows the secret this once",
        security: bearer,
        params: IdParams,
        body: nativeRef("NewToken"),
        response: { 201: json(nativeRef("IssuedToken"), "Created"), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const issued = await services.tokens.create(principalOf(request), request.params.id, request.body);
      return reply
        .code(201)
        .header("cache-control", "no-store")
        .send({ ...issued.token, token: issued.secret });
    },
  );

  app.get<{ Params: { id: string } }>(
    "/organisations/:id/tokens",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "listTokens",
        tags: ["tokens"],
        summary: "The organisation's tokens (never their secrets)",
        security: bearer,
        params: IdParams,
        response: {
          200: json(Type.Object({ items: Type.Array(nativeRef("ApiToken")) }), "Tokens"),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => ({ items: await services.tokens.list(principalOf(request), request.params.id) }),
  );

  app.delete<{ Params: { id: string; tokenId: string } }>(
    "/organisations/:id/tokens/:tokenId",
    {
      config: { auth: true, purpose: "organisation-administration" },
      schema: {
        operationId: "revokeToken",
        tags: ["tokens"],
        summary: "Revoke a token; it stops working at once",
        security: bearer,
        params: Type.Object({ id: Type.String(), tokenId: Type.String() }),
        response: { 200: json(nativeRef("ApiToken"), "Revoked"), ...problems(401, 403, 404) },
      },
    },
    async (request) =>
      services.tokens.revoke(principalOf(request), request.params.id, request.params.tokenId),
  );
}
