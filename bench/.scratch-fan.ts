import { join } from "node:path";
import { CACHE_DIR } from "./bench-constants.ts";
import { Arrivals } from "./events-arrivals.ts";
import { issueCards, onboard, startEmbedded, startPostgresNats, subscribe } from "./events-hubs.ts";
import { fanOutRound } from "./events-latency.ts";

const which = process.argv[2] ?? "embedded";
const hubsN = Number(process.argv[3] ?? "1");
const prof = process.argv[4] ?? null;
const arrivals = await Arrivals.start();
const dep = which === "embedded" ? await startEmbedded(join(CACHE_DIR, "events-run"), prof) : await startPostgresNats(join(CACHE_DIR, "events-run"), hubsN, prof);
try {
  const base = dep.hubs[0]!.baseUrl;
  const uni = await onboard(base, { id: "920000001", kind: "institution", name: "U", country: "FR" });
  const escns = await issueCards(base, uni, "920000001", 8);
  const secrets = new Map<string, string>();
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => { for (let i = next++; i < 1000; i = next++) { const p = `/fan-out/${i}`; secrets.set(p, (await subscribe(base, uni, arrivals.baseUrl + p)).secret); } }));
  await arrivals.secrets(Object.fromEntries(secrets));
  for (let r = 0; r < 8; r++) {
    const x = await fanOutRound({ target: dep.hubs[r % dep.hubs.length]!.baseUrl, token: uni, escn: escns[r]!, label: `r${r}`, arrivals, paths: new Set(secrets.keys()), timeoutMs: 60000 });
    console.log(r, x.fromAnswerMs.toFixed(0), x.firstMs.toFixed(1), x.received);
  }
} finally { await dep.stop(); await arrivals.stop(); }
