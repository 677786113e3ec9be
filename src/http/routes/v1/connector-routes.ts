import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { requireConnectorAccess } from "../../../connectors/connector-access.ts";
import type { Scope } from "../../../domain/api-token.ts";
import { NotFoundError } from "../../../domain/errors.ts";
import type { ConnectorRun } from "../../../ports/storage.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { KeysetQuery, listOf, nativeRef } from "../../schemas/native-schemas.ts";
import { bearer, problems } from "../common-responses.ts";
import { encodeCursor, keysetPage } from "./keyset-cursor.ts";

const TAG = ["imports and connectors"];
/** Runs and connectors tell how an organisation's students came in: readable with the persons. */
const READ_SCOPES: readonly Scope[] = ["persons:read"];

const json = (schema: unknown, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A run as its organisation reads it (the organisation is the caller's). */
function runView(run: ConnectorRun) {
  return {
    id: run.id,
    connector: run.connector,
    source: run.source,
    state: run.state,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    rows: run.rows,
    created: run.created,
    updated: run.updated,
    unchanged: run.unchanged,
    missing: run.missing,
    ended: run.ended,
    rejected: run.rejected,
    error: run.error,
  };
}

const runNotFound = () => new NotFoundError("CONNECTOR_RUN_NOT_FOUND", "no such run of the organisation");

/** The caller's configured connectors, and the runs of its uploads and connectors (docs/connectors.md). */
export function connectorRoutes(app: FastifyInstance, { services, options }: RouteDeps): void {
  const storage = services.storage;

  app.get(
    "/connectors",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "listConnectors",
        tags: TAG,
        summary: "The caller's connectors in the hub's sync configuration, with their schedule and last run",
        description:
          "The connectors of `OPENESC_SYNC_CONFIG` that sync the caller's organisation, in the " +
          "configuration's order (not paged: a configuration lists a few). `everyMinutes` null: the hub " +
          "does not run it (only `openesc sync` does). Needs `persons:read`, for an institution or a " +
          "student-service organisation.",
        security: bearer,
        response: {
          200: json(Type.Object({ items: Type.Array(nativeRef("Connector")) }), "The connectors"),
          ...problems(401, 403),
        },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      requireConnectorAccess(caller, READ_SCOPES);
      const organisationId = caller.organisation.id;
      const items = await Promise.all(
        services.syncs.of(organisationId).map(async (connector) => {
          const [last] = await storage.read.connectorRuns.listRecent(connector.name, organisationId, 1);
          return {
            name: connector.name,
            source: connector.source.kind,
            everyMinutes: connector.everyMinutes,
            graceDays: connector.graceDays,
            lastRun: last ? runView(last) : null,
          };
        }),
      );
      return { items };
    },
  );

  app.get<{ Querystring: { after?: string; limit?: number; connector?: string } }>(
    "/connectors/runs",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "listConnectorRuns",
        tags: TAG,
        summary: "The runs of the caller's uploads and connectors, newest first",
        description:
          "Every run recorded for the caller's organisation: uploads (`connector` `upload`), scheduled " +
          "syncs and the runs of `openesc import` and `openesc sync`. Newest first, cursor-paged; " +
          "`connector` narrows to one. Dry runs are not recorded. Needs `persons:read`.",
        security: bearer,
        querystring: Type.Object({
          ...KeysetQuery,
          connector: Type.Optional(
            Type.String({ maxLength: 64, description: "Only this connector's runs (`upload` for uploads)" }),
          ),
        }),
        response: { 200: json(listOf("ConnectorRun"), "A page"), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      requireConnectorAccess(caller, READ_SCOPES);
      const page = await storage.read.connectorRuns.listByOrganisation(
        caller.organisation.id,
        request.query.connector ?? null,
        keysetPage(request.query, options.maxPageSize),
      );
      return { items: page.items.map(runView), next: encodeCursor(page.next) };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/connectors/runs/:id",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "getConnectorRun",
        tags: TAG,
        summary: "One run of the caller's uploads or connectors",
        description:
          "Its state and counts, as `runId` of an upload names it. Another organisation's run answers " +
          "exactly as one that does not exist. Needs `persons:read`.",
        security: bearer,
        params: Type.Object({ id: Type.String({ description: "The run's number" }) }),
        response: { 200: json(nativeRef("ConnectorRun"), "The run"), ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const caller = principalOf(request);
      requireConnectorAccess(caller, READ_SCOPES);
      const id = /^\d{1,15}$/.test(request.params.id) ? Number(request.params.id) : null;
      const run = id === null ? undefined : await storage.read.connectorRuns.find(id);
      if (!run || run.organisationId !== caller.organisation.id) throw runNotFound();
      return runView(run);
    },
  );
}
