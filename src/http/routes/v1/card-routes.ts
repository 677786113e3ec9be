import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { publicCardStatus } from "../../../domain/card-verdict.ts";
import type { IsoDate } from "../../../domain/iso-date.ts";
import type { CardDetails } from "../../../services/card-service.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { type CardPatchBody, KeysetQuery, listOf, nativeRef } from "../../schemas/native-schemas.ts";
import { bearer, problems } from "../common-responses.ts";
import { encodeCursor, etag, expectedVersion, keysetPage } from "./keyset-cursor.ts";

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const EscnParams = Type.Object({ escn: Type.String({ description: "The card number (ESCN)" }) });

function nativeCardView({ card, verdict }: CardDetails, day: IsoDate) {
  return {
    escn: card.escn,
    esi: card.esi,
    issuerId: card.issuerId,
    processorId: card.processorId,
    cardType: card.cardType,
    status: card.status,
    inactiveReason: card.inactiveReason,
    publicStatus: publicCardStatus(card, day),
    verdict,
    issuedAt: card.issuedAt,
    expiresAt: card.expiresAt,
    displayName: card.displayName,
    createdAt: card.createdAt,
    updatedAt: card.updatedAt,
    version: card.version,
  };
}

/** Native card reads with the verification verdict, and partial updates with optimistic concurrency. */
export function nativeCardRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  app.get<{ Querystring: { after?: string; limit?: number; status?: "ACTIVE" | "INACTIVE" } }>(
    "/cards",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "listCards",
        tags: ["cards"],
        summary: "Cards issued or processed by the caller's organisations, cursor-paged",
        security: bearer,
        querystring: Type.Object({
          ...KeysetQuery,
          status: Type.Optional(Type.Union([Type.Literal("ACTIVE"), Type.Literal("INACTIVE")])),
        }),
        response: { 200: json(listOf("Card"), "A page"), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const result = await services.cards.listAfter(
        principalOf(request),
        request.query.status ?? null,
        keysetPage(request.query, options.maxPageSize),
      );
      const day = services.cards.today();
      const details = await services.cards.details(result.items);
      return { items: details.map((d) => nativeCardView(d, day)), next: encodeCursor(result.next) };
    },
  );

  app.get<{ Params: { escn: string } }>(
    "/cards/:escn",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "getCard",
        tags: ["cards"],
        summary: "One card, with its verification verdict",
        security: bearer,
        params: EscnParams,
        response: { 200: json(nativeRef("Card"), "Found"), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const [details] = await services.cards.details([
        await services.cards.get(principalOf(request), request.params.escn),
      ]);
      if (!details) throw new TypeError("details() lost a card");
      return reply
        .header("etag", etag(details.card.version))
        .send(nativeCardView(details, services.cards.today()));
    },
  );

  app.patch<{ Params: { escn: string }; Body: CardPatchBody; Headers: { "if-match"?: string } }>(
    "/cards/:escn",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "updateCard",
        tags: ["cards"],
        summary: "Change a card's status, reason, expiry or display name",
        description:
          "Send If-Match with the ETag you read: a card changed since answers 412 instead of being overwritten.",
        security: bearer,
        params: EscnParams,
        body: nativeRef("CardPatch"),
        response: { 200: json(nativeRef("Card"), "Updated"), ...problems(400, 401, 403, 404, 412) },
      },
    },
    async (request, reply) => {
      const card = await services.cards.patch(
        principalOf(request),
        request.params.escn,
        request.body,
        expectedVersion(request.headers["if-match"]),
      );
      const [details] = await services.cards.details([card]);
      if (!details) throw new TypeError("details() lost a card");
      return reply.header("etag", etag(card.version)).send(nativeCardView(details, services.cards.today()));
    },
  );
}
