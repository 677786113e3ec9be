import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SqliteStorage } from "../src/adapters/storage/sqlite/sqlite-storage.ts";
import { PostgresStorage } from "../src/adapters/storage/postgres/postgres-storage.ts";
import { loadConfig } from "../src/config.ts";
import { createServices } from "../src/hub.ts";
import { MemoryEventBus } from "../src/adapters/bus/memory/memory-event-bus.ts";
import type { Storage } from "../src/ports/storage.ts";
import { CACHE_DIR } from "./bench-constants.ts";
import { benchQuery, throwawayNames } from "./events-hubs.ts";
import { benchDatabaseUrl } from "./postgres-fixtures.ts";

const engine = process.argv[2] ?? "sqlite";
const dir = join(CACHE_DIR, "events-run", "count"); rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true });
const names = throwawayNames();
let raw: Storage;
if (engine === "pg") { await benchQuery(`CREATE SCHEMA ${names.schema}`); raw = new PostgresStorage({ connectionString: benchDatabaseUrl(), schema: names.schema }); }
else raw = new SqliteStorage({ file: join(dir, "openesc.db") });
await raw.init();
let got = 0; let resolveAll: () => void = () => {};
const server = createServer((q, s) => { q.resume(); q.on("end", () => { s.writeHead(204).end(); if (++got === 1000) resolveAll(); }); });
server.keepAliveTimeout = 60000;
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const port = (server.address() as AddressInfo).port;
const counts = { tx: 0, claim: 0, claimedRows: 0, find: 0, delivered: 0 };
const counted: Storage = new Proxy(raw, { get(t, n) {
  if (n === "transaction") return (work: any) => { counts.tx++; return t.transaction((tx) => work(new Proxy(tx, { get(r, k) {
    const v = Reflect.get(r, k);
    if (k === "deliveries") return new Proxy(v, { get(d, m) { const f = Reflect.get(d, m); if (m === "claimDue") return async (req: any) => { counts.claim++; const rows = await f.call(d, req); counts.claimedRows += rows.length; return rows; }; if (m === "markDelivered") return (...a: any[]) => { counts.delivered++; return f.apply(d, a); }; return typeof f === "function" ? f.bind(d) : f; } });
    return v; } }))); };
  if (n === "read") { const rd = Reflect.get(t, n); return new Proxy(rd, { get(r, k) { const v = Reflect.get(r, k); if (k === "subscriptions") return new Proxy(v, { get(s, m) { const f = Reflect.get(s, m); if (m === "find") return (...a: any[]) => { counts.find++; return f.apply(s, a); }; return typeof f === "function" ? f.bind(s) : f; } }); return v; } }); }
  const v = Reflect.get(t, n); return typeof v === "function" ? v.bind(t) : v; } });
const config = loadConfig({ OPENESC_DATA_DIR: dir, OPENESC_LOG_LEVEL: "silent", OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true" });
const services = createServices(config, counted, undefined, new MemoryEventBus());
const at = new Date(Date.now() - 1000).toISOString();
await raw.transaction(async (tx) => {
  await tx.organisations.insert({ id: "920000001" as any, kind: "institution", name: "U", country: "FR" as any, schacHomeOrganisation: null, erasmusCode: null, website: null, colours: { main: null, secondary: null, contrast: null, qr: null }, showDisplayName: false, serves: [], processors: [], createdAt: at, updatedAt: at });
  for (let i = 0; i < 1000; i++) await tx.subscriptions.insert({ id: randomUUID(), organisationId: "920000001", url: `http://127.0.0.1:${port}/h/${i}`, secret: `whsec_${Buffer.alloc(32, 7).toString("base64")}`, description: null, types: null, issuer: null, cardSet: false, state: "active", createdAt: at, updatedAt: at });
});
await services.delivery.start();
if (process.env["REFILL"]) {
  const d = services.delivery; let settled = 0; let timer: NodeJS.Timeout | undefined;
  d.sender.onSettled(() => { settled++; if (settled >= 16) { settled = 0; clearTimeout(timer); timer = undefined; d.wakeSender(); } else if (!timer) timer = setTimeout(() => { timer = undefined; settled = 0; d.wakeSender(); }, 2); });
}
await new Promise((r) => setTimeout(r, 300));
for (let round = 0; round < 3; round++) {
  got = 0; for (const k of Object.keys(counts)) (counts as any)[k] = 0;
  const all = new Promise<void>((r) => (resolveAll = r));
  const t0 = performance.now();
  await services.storage.transaction((tx) => tx.outbox.append([{ type: "card.updated", subject: `escn-${round}`, audience: ["920000001"], data: { escn: `escn-${round}`, issuer: "920000001", status: "ACTIVE", inactiveReason: null, expiresAt: "2030-08-31", version: 2 }, occurredAt: new Date().toISOString() }]));
  await all; const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  console.log(`${engine} round ${round}: 1000 webhooks in ${ms.toFixed(0)} ms; transactions ${counts.tx}, claimDue calls ${counts.claim} (${counts.claimedRows} rows), subscriptions.find ${counts.find}, markDelivered ${counts.delivered}`);
}
await services.delivery.stop(); await raw.close(); server.close();
if (engine === "pg") await benchQuery(`DROP SCHEMA ${names.schema} CASCADE`);
rmSync(dir, { recursive: true, force: true });
