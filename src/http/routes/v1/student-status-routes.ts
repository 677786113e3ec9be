import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { StudentStatus } from "../../../domain/student-status.ts";
import { STUDENT_STATUS_STATES, type StudentStatusState } from "../../../domain/student-status.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { KeysetQuery, listOf, nativeRef, type StudentStatusInputBody } from "../../schemas/native-schemas.ts";
import { bearer, problems } from "../common-responses.ts";
import { encodeCursor, etag, expectedVersion, keysetPage } from "./keyset-cursor.ts";

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const Params = Type.Object({
  organisationId: Type.String({ description: "The organisation the person is a student of" }),
  esi: Type.String({ description: "The person's ESI" }),
});

function statusView(s: StudentStatus) {
  const { personId: _personId, ...view } = s;
  return view;
}

/** Student status per person per organisation: enrolled, suspended or ended, over a validity window. */
export function nativeStudentStatusRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  app.get<{
    Querystring: { after?: string; limit?: number; organisation?: string; state?: StudentStatusState };
  }>(
    "/student-statuses",
    {
      config: { auth: true, purpose: "status-management" },
      schema: {
        operationId: "listStudentStatuses",
        tags: ["student statuses"],
        summary: "Student statuses at the caller's organisations, cursor-paged and filtered",
        security: bearer,
        querystring: Type.Object({
          ...KeysetQuery,
          organisation: Type.Optional(Type.String({ description: "Only this organisation" })),
          state: Type.Optional(Type.Union(STUDENT_STATUS_STATES.map((s) => Type.Literal(s)))),
        }),
        response: { 200: json(listOf("StudentStatus"), "A page"), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const result = await services.statuses.listAfter(
        principalOf(request),
        { organisationId: request.query.organisation ?? null, state: request.query.state ?? null },
        keysetPage(request.query, options.maxPageSize),
      );
      return { items: result.items.map(statusView), next: encodeCursor(result.next) };
    },
  );

  app.get<{ Params: { organisationId: string; esi: string } }>(
    "/student-statuses/:organisationId/:esi",
    {
      config: { auth: true, purpose: "status-management" },
      schema: {
        operationId: "getStudentStatus",
        tags: ["student statuses"],
        summary: "A person's status at one of the caller's organisations",
        security: bearer,
        params: Params,
        response: { 200: json(nativeRef("StudentStatus"), "Found"), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const status = await services.statuses.get(
        principalOf(request),
        request.params.organisationId,
        request.params.esi,
      );
      return reply.header("etag", etag(status.version)).send(statusView(status));
    },
  );

  app.put<{
    Params: { organisationId: string; esi: string };
    Body: StudentStatusInputBody;
    Headers: { "if-match"?: string };
  }>(
    "/student-statuses/:organisationId/:esi",
    {
      config: { auth: true, purpose: "status-management" },
      schema: {
        operationId: "putStudentStatus",
        tags: ["student statuses"],
        summary: "Set a person's status at one of the caller's organisations",
        description:
          "The person must already be linked to the organisation (POST /esc-rest/api/v2/persons). Send If-Match with the ETag you read to avoid overwriting a concurrent change.",
        security: bearer,
        params: Params,
        body: nativeRef("StudentStatusInput"),
        response: {
          200: json(nativeRef("StudentStatus"), "Replaced"),
          201: json(nativeRef("StudentStatus"), "Created"),
          ...problems(400, 401, 403, 404, 412),
        },
      },
    },
    async (request, reply) => {
      const { status, created } = await services.statuses.put(
        principalOf(request),
        request.params.organisationId,
        request.params.esi,
        request.body,
        expectedVersion(request.headers["if-match"]),
      );
      return reply
        .code(created ? 201 : 200)
        .header("etag", etag(status.version))
        .send(statusView(status));
    },
  );
}
