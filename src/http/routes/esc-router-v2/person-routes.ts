import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Organisation } from "../../../domain/organisation.ts";
import type { PersonInput, VisiblePerson } from "../../../services/person-service.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { escRef, type PersonUpdateViewBody } from "../../schemas/esc-router-v2-schemas.ts";
import { personLiteView, personView } from "../../views/esc-router-v2-views.ts";
import { bearer, escErrors } from "../common-responses.ts";
import { type OffsetPagingParams, OffsetPagingQuery, offsetPage, pagedResources } from "./offset-paging.ts";

const TAG = ["ESC Router V2: persons"];
const EsiParams = Type.Object({ esi: Type.String({ description: "The person's ESI" }) });
const PERSON_SORTS = ["createdAt", "identifier", "fullName"];

function toInput(body: PersonUpdateViewBody): PersonInput {
  return {
    identifier: body.identifier,
    fullName: body.fullName,
    identifierCode: body.identifierCode ?? null,
    links: body.personOrganisationUpdateViews,
  };
}

const ACADEMIC =
  "Academic level: BACHELOR, MASTER or DOCTORATE. ESI: urn:schac:personalUniqueCode:int:esi:<country or SCHAC domain>:<code>, or the legacy CN-PIC-CODE.";

/** ESC-R persons: each organisation sees and changes only its own link to a person. */
export function escRouterPersonRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  const organisationsOf = async (people: readonly VisiblePerson[]): Promise<Map<string, Organisation>> => {
    const ids = [...new Set(people.flatMap((p) => p.links.map((l) => l.organisationId)))];
    return new Map((await services.storage.read.organisations.findManyByIds(ids)).map((o) => [o.id, o]));
  };
  const view = async (person: VisiblePerson) => personView(person, await organisationsOf([person]));

  app.get<{ Querystring: OffsetPagingParams }>(
    "/persons",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "findAll",
        tags: TAG,
        summary: "Persons linked to the caller's organisation",
        security: bearer,
        querystring: OffsetPagingQuery,
        response: {
          200: {
            description: "Entity retrieved",
            content: { "application/json": { schema: escRef("PagedResourcesPersonLiteView") } },
          },
          ...escErrors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const page = offsetPage(request.query, PERSON_SORTS, options.maxPageSize);
      const result = await services.persons.listPaged(principalOf(request), page);
      const orgs = await organisationsOf(result.items);
      return pagedResources(
        result.items.map((p) => personLiteView(p, orgs)),
        result.total,
        page,
        `${options.publicUrl}/esc-rest/api/v2/persons`,
      );
    },
  );

  app.post<{ Body: PersonUpdateViewBody }>(
    "/persons",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "create",
        tags: TAG,
        summary: "Create a person, or add the caller's link to a person another organisation holds",
        description: ACADEMIC,
        security: bearer,
        body: escRef("PersonUpdateView"),
        response: {
          201: {
            description: "Entity created",
            content: { "application/json": { schema: escRef("PersonView") } },
          },
          ...escErrors(400, 401, 403, 409),
        },
      },
    },
    async (request, reply) => {
      const person = await services.persons.create(principalOf(request), toInput(request.body));
      return reply.code(201).send(await view(person));
    },
  );

  app.get<{ Params: { esi: string } }>(
    "/persons/:esi",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "findByExternalId",
        tags: TAG,
        summary: "A person, as the caller's organisation knows it",
        security: bearer,
        params: EsiParams,
        response: {
          200: {
            description: "Entity retrieved",
            content: { "application/json": { schema: escRef("PersonView") } },
          },
          ...escErrors(400, 401, 403, 404),
        },
      },
    },
    async (request) => view(await services.persons.get(principalOf(request), request.params.esi)),
  );

  app.put<{ Params: { esi: string }; Body: PersonUpdateViewBody }>(
    "/persons/:esi",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "update",
        tags: TAG,
        summary: "Update the caller's links to a person",
        description: ACADEMIC,
        security: bearer,
        params: EsiParams,
        body: escRef("PersonUpdateView"),
        response: {
          200: {
            description: "Entity updated",
            content: { "application/json": { schema: escRef("PersonView") } },
          },
          ...escErrors(400, 401, 403, 404),
        },
      },
    },
    async (request) =>
      view(await services.persons.update(principalOf(request), request.params.esi, toInput(request.body))),
  );

  app.delete<{ Params: { esi: string } }>(
    "/persons/:esi",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "delete",
        tags: TAG,
        summary: "Remove the caller's link (and status) from a person; the person goes with the last link",
        security: bearer,
        params: EsiParams,
        response: {
          204: { description: "Entity deleted", type: "null" },
          ...escErrors(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      await services.persons.delete(principalOf(request), request.params.esi);
      return reply.code(204).send();
    },
  );
}
