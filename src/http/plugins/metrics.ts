import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { StatusCacheStats } from "../../services/public-status-cache.ts";

/**
 * Prometheus metrics at `/metrics`: request durations per route and status, the public status cache's
 * hits, misses and size (read when scraped, nothing per request), plus the process's own.
 */
export function installMetrics(app: FastifyInstance, statusCache?: () => StatusCacheStats): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "openesc_" });
  if (statusCache) installStatusCacheMetrics(registry, statusCache);
  const duration = new Histogram({
    name: "openesc_http_request_duration_seconds",
    help: "HTTP request duration by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? "unmatched",
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
  return registry;
}

function installStatusCacheMetrics(registry: Registry, stats: () => StatusCacheStats): void {
  new Counter({
    name: "openesc_status_cache_hits_total",
    help: "Public status answers served from memory",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats().hits);
    },
  });
  new Counter({
    name: "openesc_status_cache_misses_total",
    help: "Public status answers read from the store",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats().misses);
    },
  });
  new Gauge({
    name: "openesc_status_cache_entries",
    help: "Public status answers in memory",
    registers: [registry],
    collect() {
      this.set(stats().entries);
    },
  });
  new Gauge({
    name: "openesc_status_cache_capacity",
    help: "Most public status answers kept in memory (OPENESC_STATUS_CACHE_SIZE)",
    registers: [registry],
    collect() {
      this.set(stats().capacity);
    },
  });
}
