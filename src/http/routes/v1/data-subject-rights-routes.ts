import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { AUDIT_ACTIONS, AUDIT_SUBJECTS } from "../../../domain/audit-entry.ts";
import { INACTIVE_REASONS } from "../../../domain/card.ts";
import { CARD_TYPES } from "../../../domain/card-type.ts";
import { PURPOSE_NAMES } from "../../../domain/purpose.ts";
import { STUDENT_STATUS_STATES } from "../../../domain/student-status.ts";
import { PERSON_EXPORT_FORMAT } from "../../../services/data-subject-rights-service.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { data } from "../../schemas/data-annotation.ts";
import { bearer, problems } from "../common-responses.ts";

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
type Options = Record<string, unknown>;
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T, options: Options = {}) =>
  Type.Union([schema, Type.Null()], options);
const literals = (values: readonly string[], options: Options = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
const dateTime = (key: Parameters<typeof data>[0]) => Type.String({ format: "date-time", ...data(key) });

const EsiParams = Type.Object({ esi: Type.String({ description: "The person's ESI" }) });

/**
 * The export document, `openesc-person-export/1`. Described field by field in docs/privacy.md ("Rights of
 * the data subject"); readers should ignore fields they do not know, since later versions of the same
 * format may add some.
 */
const PersonExport = Type.Object(
  {
    format: Type.Literal(PERSON_EXPORT_FORMAT, data("export.metadata")),
    exportedAt: dateTime("export.metadata"),
    exportedBy: Type.String({
      description: "The organisation the export was asked through",
      ...data("organisation.id"),
    }),
    person: Type.Object(
      {
        esi: Type.String(data("person.esi")),
        createdAt: Type.String({
          format: "date-time",
          description: "When the caller's organisations first registered the person",
          ...data("personLink.timestamps"),
        }),
      },
      data("person.esi"),
    ),
    links: Type.Array(
      Type.Object({
        organisationId: Type.String(data("personLink.organisation")),
        fullName: Type.String(data("personLink.fullName")),
        academicLevel: nullable(Type.String(), data("personLink.academicLevel")),
        email: nullable(Type.String(), data("personLink.email")),
        phone: nullable(Type.String(), data("personLink.phone")),
        fax: nullable(Type.String(), data("personLink.fax")),
        createdAt: dateTime("personLink.timestamps"),
        updatedAt: dateTime("personLink.timestamps"),
      }),
      {
        description: "What each of the caller's organisations knows of the person",
        ...data("personLink.organisation"),
      },
    ),
    studentStatuses: Type.Array(
      Type.Object({
        organisationId: Type.String(data("studentStatus.organisation")),
        state: literals(STUDENT_STATUS_STATES, data("studentStatus.state")),
        validFrom: Type.String(data("studentStatus.validFrom")),
        validUntil: nullable(Type.String(), data("studentStatus.validUntil")),
        createdAt: dateTime("studentStatus.timestamps"),
        updatedAt: dateTime("studentStatus.timestamps"),
      }),
      data("studentStatus.organisation"),
    ),
    cards: Type.Array(
      Type.Object({
        escn: Type.String(data("card.escn")),
        esi: Type.String(data("person.esi")),
        issuerId: Type.String(data("card.issuer")),
        processorId: nullable(Type.String(), data("card.processor")),
        cardType: literals(CARD_TYPES, data("card.cardType")),
        status: literals(["ACTIVE", "INACTIVE"], data("card.status")),
        inactiveReason: nullable(literals(INACTIVE_REASONS), data("card.inactiveReason")),
        issuedAt: Type.String(data("card.issuedAt")),
        expiresAt: Type.String(data("card.expiresAt")),
        displayName: nullable(Type.String(), data("card.displayName")),
        chipUid: nullable(Type.String(), data("card.chipUid")),
        createdAt: dateTime("card.timestamps"),
        updatedAt: dateTime("card.timestamps"),
      }),
      { description: "The cards the caller's organisations issued to the person", ...data("card.escn") },
    ),
    consents: Type.Array(
      Type.Object({
        purpose: literals(PURPOSE_NAMES, data("consent.purpose")),
        state: literals(["given", "withdrawn"], data("consent.state")),
        wordingVersion: Type.String(data("consent.wordingVersion")),
        recordedBy: nullable(Type.String(), {
          description: "The organisation it was recorded through, when it is the caller's; null otherwise",
          ...data("consent.recordedBy"),
        }),
        givenAt: dateTime("consent.givenAt"),
        withdrawnAt: nullable(Type.String({ format: "date-time" }), data("consent.withdrawnAt")),
        updatedAt: dateTime("consent.updatedAt"),
      }),
      data("consent.purpose"),
    ),
    auditTrail: Type.Array(
      Type.Object({
        seq: Type.Integer(data("audit.seq")),
        at: dateTime("audit.at"),
        organisationId: nullable(Type.String(), {
          description: "Who read or changed the data; null for an anonymous read (the public status)",
          ...data("audit.organisation"),
        }),
        action: literals(AUDIT_ACTIONS, data("audit.action")),
        purpose: literals(PURPOSE_NAMES, data("audit.purpose")),
        subjectType: literals(AUDIT_SUBJECTS, data("audit.subjectType")),
        subject: Type.String({
          description: "The card's ESCN, or the hub's internal number of the person",
          ...data("audit.subject"),
        }),
      }),
      {
        description: "Every access to the person's data, whichever organisation made it, oldest first",
        ...data("audit.seq"),
      },
    ),
  },
  { description: "Everything the hub holds about a person for the caller's organisations" },
);

const ErasureSummary = Type.Object(
  {
    cardsDeleted: Type.Integer(data("erasure.summary")),
    statusesDeleted: Type.Integer(data("erasure.summary")),
    linksDeleted: Type.Integer(data("erasure.summary")),
    personDeleted: Type.Boolean({
      description: "Whether the ESI and the consents went too: no other organisation holds the person",
      ...data("erasure.summary"),
    }),
  },
  { description: "What the erasure removed" },
);

/** The rights of the data subject, exercised through their institution (docs/privacy.md). */
export function nativeDataSubjectRightsRoutes(app: FastifyInstance, { services }: RouteDeps): void {
  app.get<{ Params: { esi: string } }>(
    "/persons/:esi/export",
    {
      config: { auth: true, purpose: "data-subject-rights" },
      schema: {
        operationId: "exportPerson",
        tags: ["persons"],
        summary: "Everything held about a person for the caller's organisations, as one JSON document",
        description:
          "Access and portability (GDPR articles 15 and 20), asked for by the student through their institution. " +
          `The document's format is \`${PERSON_EXPORT_FORMAT}\`, described in docs/privacy.md. ` +
          "Recorded in the audit trail. A person the caller is not linked to answers as an unknown ESI does.",
        security: bearer,
        params: EsiParams,
        response: {
          200: json(PersonExport, "The export, as an attachment"),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const document = await services.dataSubjectRights.export(principalOf(request), request.params.esi);
      return reply
        .header("content-disposition", 'attachment; filename="person-export.json"')
        .header("cache-control", "no-store")
        .send(document);
    },
  );

  app.post<{ Params: { esi: string } }>(
    "/persons/:esi/erasure",
    {
      config: { auth: true, purpose: "data-subject-rights" },
      schema: {
        operationId: "erasePerson",
        tags: ["persons"],
        summary: "Erase what the caller's organisations hold about a person",
        description:
          "Erasure (GDPR article 17), asked for by the student through their institution: the caller's cards of the " +
          "person, statuses and links are deleted in one transaction; the ESI and the consents go when no other " +
          "organisation holds the person. Stored events keep the ESI only as a pseudonym; the audit trail names " +
          "persons by an internal number only. A person the caller is not linked to answers as an unknown ESI does.",
        security: bearer,
        params: EsiParams,
        response: { 200: json(ErasureSummary, "Erased"), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => services.dataSubjectRights.erase(principalOf(request), request.params.esi),
  );
}
