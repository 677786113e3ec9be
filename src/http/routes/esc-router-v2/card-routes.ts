import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { CARD_TYPE_LABELS } from "../../../domain/card-type.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { type CardUpdateViewBody, escRef } from "../../schemas/esc-router-v2-schemas.ts";
import { cardLiteView, cardView } from "../../views/esc-router-v2-views.ts";
import { bearer, escErrors } from "../common-responses.ts";
import { type OffsetPagingParams, OffsetPagingQuery, offsetPage, pagedResources } from "./offset-paging.ts";

const TAG = ["ESC Router V2: cards"];
const EscnParams = Type.Object({ escn: Type.String({ description: "The card number (ESCN)" }) });
const CARD_SORTS = ["createdAt", "cardNumber", "issuedAt", "expiresAt", "displayName"];
const CARD_TYPES_TEXT = `Card types: ${Object.entries(CARD_TYPE_LABELS)
  .map(([k, v]) => `${k} = ${v}`)
  .join("; ")}.`;

/** ESC-R cards: an organisation sees the cards it issued, or processed as a card bureau. */
export function escRouterCardRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  app.get<{ Querystring: OffsetPagingParams }>(
    "/cards",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "findAll_1",
        tags: TAG,
        summary: "Cards issued or processed by the caller's organisation",
        security: bearer,
        querystring: OffsetPagingQuery,
        response: {
          200: {
            description: "Entity retrieved",
            content: { "application/json": { schema: escRef("PagedResourcesCardLiteView") } },
          },
          ...escErrors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      const page = offsetPage(request.query, CARD_SORTS, options.maxPageSize);
      const result = await services.cards.listPaged(caller, page);
      const day = services.cards.today();
      const details = await services.cards.details(result.items);
      return pagedResources(
        details.map((d) => cardLiteView(d, day)),
        result.total,
        page,
        `${options.publicUrl}/esc-rest/api/v2/cards`,
      );
    },
  );

  app.post<{ Body: CardUpdateViewBody }>(
    "/cards",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "create_1",
        tags: TAG,
        summary: "Issue a card",
        description: `Leave cardNumber empty to have one generated. ${CARD_TYPES_TEXT}`,
        security: bearer,
        body: escRef("CardUpdateView"),
        response: {
          201: {
            description: "Entity created",
            content: { "application/json": { schema: escRef("CardView") } },
          },
          ...escErrors(400, 401, 403, 409),
        },
      },
    },
    async (request, reply) => {
      const caller = principalOf(request);
      const card = await services.cards.create(caller, request.body);
      const [details] = await services.cards.details([card]);
      return reply.code(201).send(details && cardView(details, services.cards.today()));
    },
  );

  app.get<{ Params: { escn: string } }>(
    "/cards/:escn",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "findByExternalId_1",
        tags: TAG,
        summary: "A card issued or processed by the caller's organisation",
        security: bearer,
        params: EscnParams,
        response: {
          200: {
            description: "Entity retrieved",
            content: { "application/json": { schema: escRef("CardView") } },
          },
          ...escErrors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      const [details] = await services.cards.details([await services.cards.get(caller, request.params.escn)]);
      return details && cardView(details, services.cards.today());
    },
  );

  app.put<{ Params: { escn: string }; Body: CardUpdateViewBody }>(
    "/cards/:escn",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "update_1",
        tags: TAG,
        summary: "Update a card (whole write view; the last writer wins, as in ESC-R)",
        description: `To renew an expired card, set cardStatusType and a later expiresAt. ${CARD_TYPES_TEXT}`,
        security: bearer,
        params: EscnParams,
        body: escRef("CardUpdateView"),
        response: {
          200: {
            description: "Entity updated",
            content: { "application/json": { schema: escRef("CardView") } },
          },
          ...escErrors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      const card = await services.cards.update(caller, request.params.escn, request.body);
      const [details] = await services.cards.details([card]);
      return details && cardView(details, services.cards.today());
    },
  );

  app.delete<{ Params: { escn: string } }>(
    "/cards/:escn",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "delete_1",
        tags: TAG,
        summary: "Delete a card",
        security: bearer,
        params: EscnParams,
        response: { 204: { description: "Entity deleted", type: "null" }, ...escErrors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await services.cards.delete(principalOf(request), request.params.escn);
      return reply.code(204).send();
    },
  );
}
