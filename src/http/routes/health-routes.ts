import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { RouteDeps } from "../app.ts";
import { data } from "../schemas/data-annotation.ts";

const health = (description: string, properties: Parameters<typeof Type.Object>[0]) => ({
  description,
  content: { "application/json": { schema: Type.Object(properties) } },
});
const text = () => Type.String(data("hub.health"));

/** Liveness and readiness, for load balancers and orchestrators. */
export function healthRoutes(app: FastifyInstance, { services }: RouteDeps): void {
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["operations"],
        summary: "The process is alive",
        response: { 200: health("Alive", { status: text() }) },
      },
    },
    async () => ({ status: "ok" }),
  );
  app.get(
    "/readyz",
    {
      schema: {
        tags: ["operations"],
        summary: "The hub can serve: its store answers",
        response: {
          200: health("Ready", { status: text(), store: text() }),
          503: health("The store does not answer", { status: text(), store: text() }),
        },
      },
    },
    async (request, reply) => {
      try {
        await services.storage.ping();
        return { status: "ready", store: services.storage.engine };
      } catch (error) {
        request.log.warn({ err: error }, "store unreachable");
        return reply
          .code(503)
          .header("retry-after", "5")
          .send({ status: "unavailable", store: services.storage.engine });
      }
    },
  );
}
