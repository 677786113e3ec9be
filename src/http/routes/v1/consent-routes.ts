import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Consent } from "../../../domain/consent.ts";
import { CONSENT_PURPOSES } from "../../../domain/purpose.ts";
import { mayActFor, type Principal } from "../../../services/principal.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { type ConsentInputBody, nativeRef } from "../../schemas/native-schemas.ts";
import { bearer, problems } from "../common-responses.ts";

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const TAGS = ["consents"];
const EsiParams = Type.Object({ esi: Type.String({ description: "The student's ESI" }) });
const ConsentParams = Type.Object({
  esi: Type.String({ description: "The student's ESI" }),
  purpose: Type.String({
    description: `A purpose whose lawful basis is consent: ${CONSENT_PURPOSES.join(", ")}`,
  }),
});

/**
 * A consent as the caller sees it. The record is the student's, shared by all their institutions; which
 * organisation recorded it is shown only to that organisation, so that a consent recorded elsewhere does
 * not name the student's other institutions.
 */
function consentView(esi: string, consent: Consent, caller: Principal) {
  return {
    esi,
    purpose: consent.purpose,
    state: consent.state,
    wordingVersion: consent.wordingVersion,
    recordedBy: mayActFor(caller, consent.recordedBy) ? consent.recordedBy : null,
    givenAt: consent.givenAt,
    withdrawnAt: consent.withdrawnAt,
    updatedAt: consent.updatedAt,
  };
}

/** Consent per student and purpose, given or withdrawn through the student's institution; and its wordings. */
export function nativeConsentRoutes(app: FastifyInstance, { services }: RouteDeps): void {
  app.get(
    "/consent-wordings",
    {
      config: { purpose: "operations" },
      schema: {
        operationId: "listConsentWordings",
        tags: TAGS,
        summary: "The consent purposes and every published wording of each",
        description:
          "No token needed. Institutions show the student the current wording and record its version with the consent; old versions stay listed.",
        response: {
          200: json(Type.Object({ items: Type.Array(nativeRef("ConsentWording")) }), "The wordings"),
        },
      },
    },
    async () => ({ items: services.consents.wordings() }),
  );

  app.get<{ Params: { esi: string } }>(
    "/persons/:esi/consents",
    {
      config: { auth: true, purpose: "data-subject-rights" },
      schema: {
        operationId: "listConsents",
        tags: TAGS,
        summary: "A student's consents, given and withdrawn",
        security: bearer,
        params: EsiParams,
        response: {
          200: json(Type.Object({ items: Type.Array(nativeRef("Consent")) }), "The consents"),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      const { esi, consents } = await services.consents.list(caller, request.params.esi);
      return { items: consents.map((c) => consentView(esi, c, caller)) };
    },
  );

  app.put<{ Params: { esi: string; purpose: string }; Body: ConsentInputBody }>(
    "/persons/:esi/consents/:purpose",
    {
      config: { auth: true, purpose: "data-subject-rights" },
      schema: {
        operationId: "giveConsent",
        tags: TAGS,
        summary: "Record that the student gives consent to a purpose",
        description:
          "`wordingVersion` names the wording the student was shown (GET /v1/consent-wordings). 201 when the consent comes into effect; 200 when it was already given (a newer wording replaces the older one).",
        security: bearer,
        params: ConsentParams,
        body: nativeRef("ConsentInput"),
        response: {
          200: json(nativeRef("Consent"), "Already in effect; the record as it now stands"),
          201: json(nativeRef("Consent"), "Given"),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const caller = principalOf(request);
      const { esi, consent, created } = await services.consents.give(
        caller,
        request.params.esi,
        request.params.purpose,
        request.body,
      );
      return reply.code(created ? 201 : 200).send(consentView(esi, consent, caller));
    },
  );

  app.delete<{ Params: { esi: string; purpose: string } }>(
    "/persons/:esi/consents/:purpose",
    {
      config: { auth: true, purpose: "data-subject-rights" },
      schema: {
        operationId: "withdrawConsent",
        tags: TAGS,
        summary: "Record that the student withdraws their consent to a purpose",
        description:
          "Takes effect at once. The withdrawn record stays, with its wording and dates. 409 CONSENT_NOT_GIVEN when no consent to that purpose is in effect.",
        security: bearer,
        params: ConsentParams,
        response: {
          200: json(nativeRef("Consent"), "Withdrawn"),
          ...problems(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      const { esi, consent } = await services.consents.withdraw(
        caller,
        request.params.esi,
        request.params.purpose,
      );
      return consentView(esi, consent, caller);
    },
  );
}
