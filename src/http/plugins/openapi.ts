import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

/**
 * One OpenAPI 3.1 document for both parts of the API, generated from the schemas that validate the
 * requests, with their component names kept (`CardView`, not `def-3`). Served at `/openapi.json`;
 * a readable reference at `/docs`.
 */
export async function installOpenApi(app: FastifyInstance, publicUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "OpenESC",
        version: "1",
        description:
          "The European Student Card exchange hub. `/esc-rest/api/v2` serves the ESC Router V2 operations with their " +
          "paths and fields; `/v1` is the native API for what ESC-R lacks. See docs/api.md for where they differ.",
        license: { name: "EUPL-1.2" },
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          bearer: {
            type: "http",
            scheme: "bearer",
            description: "An API token made with POST /v1/organisations/{id}/tokens",
          },
        },
      },
      tags: [
        { name: "ESC Router V2: persons" },
        { name: "ESC Router V2: cards" },
        { name: "organisations" },
        { name: "tokens" },
        { name: "persons" },
        { name: "student statuses" },
        { name: "cards" },
        { name: "consents" },
        { name: "operations" },
      ],
    },
    refResolver: {
      buildLocalReference(json, _baseUri, _fragment, i) {
        return typeof json["$id"] === "string" ? json["$id"] : `def-${i}`;
      },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    uiConfig: { docExpansion: "list", deepLinking: true },
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
