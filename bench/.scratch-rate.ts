import { join } from "node:path";
import { CACHE_DIR } from "./bench-constants.ts";
import { Arrivals, epochNow } from "./events-arrivals.ts";
import { issueCards, onboard, startEmbedded, startPostgresNats, subscribe } from "./events-hubs.ts";

const which = process.argv[2] ?? "embedded";
const hubsN = Number(process.argv[3] ?? "1");
const withSub = process.argv[4] === "sub";
const arrivals = await Arrivals.start();
const dep = which === "embedded" ? await startEmbedded(join(CACHE_DIR, "events-run"), null) : await startPostgresNats(join(CACHE_DIR, "events-run"), hubsN, null);
try {
  const base = dep.hubs[0]!.baseUrl;
  const uni = await onboard(base, { id: "920000001", kind: "institution", name: "U", country: "FR" });
  const escns = await issueCards(base, uni, "920000001", 64);
  if (withSub) { const s = await subscribe(base, uni, `${arrivals.baseUrl}/latency`); await arrivals.secrets({ "/latency": s.secret }); }
  for (const conc of [1, 4, 16]) {
    let n = 0; const rts: number[] = [];
    const end = Date.now() + 5000; const t0 = epochNow();
    await Promise.all(Array.from({ length: conc }, async (_, w) => {
      for (let i = w; Date.now() < end; i += conc) {
        const target = dep.hubs[i % dep.hubs.length]!.baseUrl;
        const s = epochNow();
        const r = await fetch(`${target}/v1/cards/${escns[i % 64]}`, { method: "PATCH", headers: { authorization: `Bearer ${uni}`, "content-type": "application/json" }, body: JSON.stringify({ displayName: `x${i}-${conc}` }) });
        await r.text(); rts.push(epochNow() - s); n++;
      }
    }));
    rts.sort((a, b) => a - b);
    console.log(`conc ${conc}: ${(n / ((epochNow() - t0) / 1000)).toFixed(0)} writes/s, rt p50 ${rts[rts.length >> 1]!.toFixed(1)} p99 ${rts[Math.floor(rts.length * 0.99)]!.toFixed(1)}; webhooks so far ${arrivals.count}`);
  }
} finally { await dep.stop(); await arrivals.stop(); }
