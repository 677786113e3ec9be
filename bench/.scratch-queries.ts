process.env["OPENESC_TEST_STORE"] = "postgres";
import pg from "pg";
const { startTestHub } = await import("../test/support/test-hub.ts");
const { UNIVERSITY, personPayload, cardPayload, ESI } = await import("../test/support/fixtures.ts");
const hub = await startTestHub({});
const token = await hub.onboard(UNIVERSITY);
await hub.request({ method: "POST", url: "/esc-rest/api/v2/persons", token, payload: personPayload(ESI, UNIVERSITY.id) });
const card = await hub.request({ method: "POST", url: "/esc-rest/api/v2/cards", token, payload: cardPayload(ESI, UNIVERSITY.id) });
const escn = card.json().cardNumber;
const orig = pg.Client.prototype.query;
let log: string[] = [];
(pg.Client.prototype as any).query = function (this: any, q: any, ...rest: any[]) { log.push(typeof q === "string" ? q : q?.text ?? String(q)); return (orig as any).call(this, q, ...rest); };
for (let i = 0; i < 3; i++) {
  log = [];
  const t0 = performance.now();
  const r = await hub.request({ method: "PATCH", url: `/v1/cards/${escn}`, token, payload: { displayName: `n${i}` } });
  console.log(r.statusCode, (performance.now() - t0).toFixed(1), "ms", log.length, "statements");
}
for (const q of log) console.log("  ", q.replace(/\s+/g, " ").slice(0, 110));
await hub.close();
