import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { AuditEntry } from "../../../domain/audit-entry.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { KeysetQuery, listOf } from "../../schemas/native-schemas.ts";
import { bearer, problems } from "../common-responses.ts";
import { encodeCursor, keysetPage } from "./keyset-cursor.ts";

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** An entry as its reader sees it: the person's number and the previous hash stay inside the hub. */
function auditEntryView(entry: AuditEntry) {
  return {
    seq: entry.seq,
    at: entry.at,
    organisationId: entry.organisationId,
    tokenId: entry.tokenId,
    action: entry.action,
    purpose: entry.purpose,
    subjectType: entry.subjectType,
    subject: entry.subject,
    hash: entry.hash,
  };
}

/** The audit trail of the personal data an organisation is responsible for (accountability). */
export function nativeAuditRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  app.get<{ Querystring: { after?: string; limit?: number; esi?: string; escn?: string } }>(
    "/audit",
    {
      config: { auth: true, purpose: "accountability" },
      schema: {
        operationId: "listAuditEntries",
        tags: ["audit"],
        summary:
          "Who read or changed the caller's students' data: organisation, token, action, purpose, time",
        description:
          "Oldest first, cursor-paged. Shows the entries the caller made, entries about the cards it issues " +
          "or processes (whoever made them, anonymous readers of a shown display name included), and entries " +
          "about persons linked to it made by itself or the card bureaus it lists. `esi` narrows to one " +
          "student linked to the caller (404 otherwise), `escn` to one card. Needs `persons:read`; the " +
          "operator and service providers hold no personal data and get 403.",
        security: bearer,
        querystring: Type.Object({
          ...KeysetQuery,
          esi: Type.Optional(
            Type.String({ description: "Only this student's trail (an ESI linked to you)" }),
          ),
          escn: Type.Optional(Type.String({ description: "Only this card's trail" })),
        }),
        response: { 200: json(listOf("AuditEntry"), "A page"), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const result = await services.auditLog.list(
        principalOf(request),
        { esi: request.query.esi ?? null, escn: request.query.escn ?? null },
        keysetPage(request.query, options.maxPageSize),
      );
      return { items: result.items.map(auditEntryView), next: encodeCursor(result.next) };
    },
  );
}
