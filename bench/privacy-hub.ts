/**
 * The baseline of the privacy benchmark: the hub composed exactly as `src/start-hub.ts` composes it, with
 * the configuration from the environment as `src/main.ts` reads it, less the two things whose cost is
 * measured (and the file of a generated operator token: the benchmark always gives one). Never a way to
 * run a hub: it keeps no audit trail.
 *
 * - The audit trail records nothing: `recordRead` and `recordIn` of the one AuditTrail every service shares
 *   (`createServices` makes it and hands the same object to each service) are replaced on that object.
 * - Answers are serialised with JSON.stringify instead of the fast-json-stringify serialisers compiled from
 *   the routes' response schemas, which is what projects each answer onto the fields its purpose may see.
 *   The schemas stay on the routes, so the data map enforcement still checks them at start-up (it refuses a
 *   route without one), and the API document is unchanged; only the per-request serialisation differs.
 *   The serialiser compiler is set on the Fastify instance as soon as `buildApp` creates it, through
 *   Fastify's `fastify.initialization` diagnostics channel, before any route is registered.
 *
 * `node --import tsx bench/privacy-hub.ts`, with the same OPENESC_* variables as `src/main.ts`;
 * PRIVACY_HUB_WITHOUT=audit or =projection leaves out only that one (default: `audit,projection`). Once ready
 * it prints one line, `privacy-hub: audit recording on|off; N response serialisers use JSON.stringify`.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { FastifyInstance } from "fastify";
import { loadConfig } from "../src/config.ts";
import { buildApp } from "../src/http/app.ts";
import { createServices, createStorage } from "../src/hub.ts";
import { systemClock } from "../src/ports/clock.ts";
import { bootstrapOperator } from "../src/services/operator-bootstrap.ts";

/** What the baseline goes without: both by default; PRIVACY_HUB_WITHOUT=audit or =projection for one of them. */
const without = new Set((process.env["PRIVACY_HUB_WITHOUT"] ?? "audit,projection").split(","));
for (const name of without) {
  if (name !== "audit" && name !== "projection") throw new TypeError(`PRIVACY_HUB_WITHOUT: unknown ${name}`);
}

let plainSerialisers = 0;
const onFastify = (message: unknown): void => {
  unsubscribe("fastify.initialization", onFastify);
  const { fastify } = message as { fastify: FastifyInstance };
  fastify.setSerializerCompiler(() => {
    plainSerialisers++;
    return (data) => JSON.stringify(data);
  });
};
if (without.has("projection")) subscribe("fastify.initialization", onFastify);

async function main(): Promise<void> {
  const config = loadConfig();
  const storage = createStorage(config);
  await storage.init();
  const services = createServices(config, storage);
  if (without.has("audit")) {
    const audit = services.audit;
    audit.recordRead = () => undefined;
    audit.recordIn = async () => undefined;
  }
  const app = await buildApp({ ...config, services });
  await bootstrapOperator({ storage, clock: systemClock }, config.adminToken);
  await app.listen({ port: config.port, host: config.host });
  services.retention.start(config.retentionIntervalMinutes * 60_000, app.log);
  process.stdout.write(
    `privacy-hub: audit recording ${without.has("audit") ? "off" : "on"}; ${plainSerialisers} response serialisers use JSON.stringify\n`,
  );
  const stop = async () => {
    await services.retention.stop();
    await app.close();
    await storage.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(
    `privacy-hub failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
