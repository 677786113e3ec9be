import type { FastifyInstance } from "fastify";
import { asyncApiDocument } from "../../delivery/asyncapi-document.ts";
import type { RouteDeps } from "../app.ts";

/**
 * The AsyncAPI 3.0 document of the hub's events (webhooks, server-sent events, NATS), public like
 * `/openapi.json`: it describes shapes, never data. Built once, since it depends on the public URL only.
 *
 * Its answer declares no body schema on purpose: the data map checks every property of a declared JSON
 * answer against a data entry, and a document about events has none to name (nor does `/openapi.json`).
 */
export function asyncApiRoutes(app: FastifyInstance, { options }: RouteDeps): void {
  const body = JSON.stringify(asyncApiDocument({ publicUrl: options.publicUrl }));
  app.get(
    "/asyncapi.json",
    {
      config: { purpose: "operations" },
      schema: {
        operationId: "getAsyncApiDocument",
        tags: ["operations"],
        summary: "The AsyncAPI 3.0 document of the hub's events",
        description:
          "Every event type, its CloudEvent schema and examples, per delivery way (docs/events.md).",
        response: { 200: { description: "The AsyncAPI 3.0.0 document, as JSON" } },
      },
    },
    // Sent as serialised above: a string with a JSON content type skips the serialiser.
    async (_request, reply) => reply.type("application/json; charset=utf-8").send(body),
  );
}
