import { join } from "node:path";
import { CACHE_DIR } from "./bench-constants.ts";
import { relayPostgres, relaySqlite } from "./events-relay.ts";
const which = process.argv[2] ?? "sqlite";
const n = Number(process.argv[3] ?? "50000");
const r = which === "sqlite" ? await relaySqlite(join(CACHE_DIR, "events-run"), n) : await relayPostgres(join(CACHE_DIR, "events-run"), n);
console.log(JSON.stringify(r));
