import type { FastifyInstance } from "fastify";
import type { RouteDeps } from "../app.ts";

/** Liveness and readiness, for load balancers and orchestrators. */
export function healthRoutes(app: FastifyInstance, { services }: RouteDeps): void {
  app.get("/healthz", { schema: { tags: ["operations"], summary: "The process is alive" } }, async () => ({
    status: "ok",
  }));
  app.get(
    "/readyz",
    { schema: { tags: ["operations"], summary: "The hub can serve: its store answers" } },
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
