import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { VisiblePerson } from "../../../services/person-service.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { KeysetQuery, listOf, nativeRef } from "../../schemas/native-schemas.ts";
import { bearer, problems } from "../common-responses.ts";
import { encodeCursor, keysetPage } from "./keyset-cursor.ts";

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export function nativePersonView({ person, links }: VisiblePerson) {
  // Times come from the caller's own links, not the person row: that one also moves with other
  // organisations' links, and would tell the caller that someone else holds (or changed) the person.
  const createdAt = links.map((l) => l.createdAt).sort()[0] ?? person.createdAt;
  const updatedAt = links.map((l) => l.updatedAt).sort((a, b) => b.localeCompare(a))[0] ?? person.updatedAt;
  return {
    esi: person.esi,
    links: links.map((l) => ({
      organisationId: l.organisationId,
      fullName: l.fullName,
      academicLevel: l.academicLevel,
      email: l.email,
    })),
    createdAt,
    updatedAt,
  };
}

/** Native reads of persons (writes go through the ESC-R compatible operations). */
export function nativePersonRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  app.get<{ Querystring: { after?: string; limit?: number } }>(
    "/persons",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "listPersons",
        tags: ["persons"],
        summary: "Persons linked to the caller's organisations, cursor-paged",
        security: bearer,
        querystring: Type.Object(KeysetQuery),
        response: { 200: json(listOf("Person"), "A page"), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const result = await services.persons.listAfter(
        principalOf(request),
        keysetPage(request.query, options.maxPageSize),
      );
      return { items: result.items.map(nativePersonView), next: encodeCursor(result.next) };
    },
  );

  app.get<{ Params: { esi: string } }>(
    "/persons/:esi",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "getPerson",
        tags: ["persons"],
        summary: "One person, with the caller's links only",
        security: bearer,
        params: Type.Object({ esi: Type.String() }),
        response: { 200: json(nativeRef("Person"), "Found"), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => nativePersonView(await services.persons.get(principalOf(request), request.params.esi)),
  );
}
