import { Arrivals, epochNow } from "./events-arrivals.ts";
import { issueCards, onboard, startEmbedded, startPostgresNats, subscribe } from "./events-hubs.ts";
import { CACHE_DIR } from "./bench-constants.ts";
import { join } from "node:path";

const which = process.argv[2] ?? "embedded";
const hubsN = Number(process.argv[3] ?? "1");
const interval = Number(process.argv[4] ?? "50");
const arrivals = await Arrivals.start();
const dep = which === "embedded" ? await startEmbedded(join(CACHE_DIR, "events-run"), null) : await startPostgresNats(join(CACHE_DIR, "events-run"), hubsN, null);
try {
  const base = dep.hubs[0]!.baseUrl;
  const uni = await onboard(base, { id: "920000001", kind: "institution", name: "U", country: "FR" });
  const escns = await issueCards(base, uni, "920000001", 20);
  const sub = await subscribe(base, uni, `${arrivals.baseUrl}/latency`);
  await arrivals.secrets({ "/latency": sub.secret });
  for (let i = 0; i < 60; i++) {
    const target = dep.hubs[i % dep.hubs.length]!.baseUrl;
    const mark = arrivals.count;
    const t0 = epochNow();
    const r = await fetch(`${target}/v1/cards/${escns[i % 20]}`, { method: "PATCH", headers: { authorization: `Bearer ${uni}`, "content-type": "application/json" }, body: JSON.stringify({ displayName: `x${i}` }) });
    const body = await r.json() as { version: number };
    const t1 = epochNow();
    await arrivals.waitUntil(mark, (a) => a.some((x) => x.version === body.version && x.subject === escns[i % 20]), 5000);
    const arr = arrivals.since(mark).find((x) => x.version === body.version)!;
    console.log(i, "hub", i % dep.hubs.length, "rt", (t1 - t0).toFixed(1), "webhook-from-answer", (arr.at - t1).toFixed(1));
    await new Promise((res) => setTimeout(res, interval));
  }
} finally {
  await dep.stop();
  await arrivals.stop();
}
