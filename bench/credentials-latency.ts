/**
 * Card change → re-signed status list served: a credential is issued, then its card is suspended and
 * made active again in turn (`PATCH /v1/cards/{escn}` over loopback HTTP), and after each change the
 * status list the credential names is fetched over loopback until its entry says the new state. The
 * reference is the PATCH's own round trip: the change cannot show before it has committed.
 */
import { createPublicKey, type JsonWebKey } from "node:crypto";
import { generateHolderKey, receiveCredential } from "../src/credentials/holder-wallet.ts";
import {
  STATUS_SUSPENDED,
  STATUS_VALID,
  StatusList,
  verifyStatusListToken,
} from "../src/credentials/token-status-list.ts";
import { type BenchHub, enrolStudent, inProcessNetwork, makeOffer, type Student } from "./credentials-hub.ts";
import { type Percentiles, percentiles } from "./credentials-measure.ts";
import { sleep } from "./processes.ts";

/** Changes made before the measured ones, to warm the path up; not counted. */
const WARMUP_CHANGES = 2;
/** Pause after a change was seen, before the next one. */
const SETTLE_MS = 100;
/** Longest a change may take to show before the run fails. */
const TIMEOUT_MS = 10_000;

export interface LatencyResult {
  readonly changes: number;
  readonly pollMs: number;
  /** From just before the PATCH was sent to the answer of the first GET that showed the new entry. */
  readonly fromSendMs: Percentiles;
  /** The same, from the PATCH's 2xx answer (a lower bound). */
  readonly fromAnswerMs: Percentiles;
  /** The PATCH round trip: the reference. */
  readonly patchMs: Percentiles;
  /** GETs of the list answered during the measured changes. */
  readonly polls: number;
  readonly listBytes: number;
  readonly listEntries: number;
}

export async function measureChangeToServed(
  hub: BenchHub,
  token: string,
  changes: number,
  pollMs: number,
): Promise<LatencyResult> {
  // One student with a credential; the others make the list hold more than one entry.
  const students: Student[] = [];
  for (let n = 0; n < 5; n++) students.push(await enrolStudent(hub, token, 900_000 + n));
  const network = inProcessNetwork(hub);
  let credential = "";
  for (const student of students) {
    const offer = await makeOffer(hub, token, student.escn);
    ({ credential } = await receiveCredential({
      offer: offer.deepLink,
      txCode: offer.txCode,
      holderKey: generateHolderKey(),
      fetch: network.wallet,
    }));
  }
  const student = students.at(-1)!;
  const [, payload] = credential.split("~")[0]!.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8"));
  const { uri, idx } = claims.status.status_list as { uri: string; idx: number };
  if (!uri.startsWith(`${hub.baseUrl}/`)) throw new Error(`the status list is not on this hub: ${uri}`);

  let polls = 0;
  let last = "";
  const entryNow = async (): Promise<number> => {
    const response = await fetch(uri, { headers: { accept: "application/statuslist+jwt" } });
    last = await response.text();
    polls++;
    if (response.status !== 200) throw new Error(`GET ${uri} answered ${response.status}: ${last}`);
    const body = JSON.parse(Buffer.from(last.split(".")[1]!, "base64url").toString("utf8"));
    return StatusList.decode(body.status_list.lst, body.status_list.bits).get(idx);
  };
  if ((await entryNow()) !== STATUS_VALID) throw new Error("the new credential's entry is not valid");

  const fromSend: number[] = [];
  const fromAnswer: number[] = [];
  const patch: number[] = [];
  let measuredPolls = 0;
  for (let i = 0; i < WARMUP_CHANGES + changes; i++) {
    const suspend = i % 2 === 0;
    const expected = suspend ? STATUS_SUSPENDED : STATUS_VALID;
    const pollsBefore = polls;
    const sentAt = performance.now();
    const response = await fetch(`${hub.baseUrl}/v1/cards/${student.escn}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(
        suspend
          ? { status: "INACTIVE", inactiveReason: "suspended" }
          : { status: "ACTIVE", inactiveReason: null },
      ),
    });
    const text = await response.text();
    const answeredAt = performance.now();
    if (response.status !== 200) throw new Error(`PATCH answered ${response.status}: ${text}`);
    let seenAt: number | undefined;
    while (seenAt === undefined) {
      const value = await entryNow();
      if (value === expected) seenAt = performance.now();
      else if (performance.now() - sentAt > TIMEOUT_MS) {
        throw new Error(`change ${i}: the served list still said ${value} after ${TIMEOUT_MS} ms`);
      } else await sleep(pollMs);
    }
    if (i >= WARMUP_CHANGES) {
      fromSend.push(seenAt - sentAt);
      fromAnswer.push(seenAt - answeredAt);
      patch.push(answeredAt - sentAt);
      measuredPolls += polls - pollsBefore;
    }
    await sleep(SETTLE_MS);
  }

  // The last list seen is the hub's genuine token: it verifies with the key its issuer metadata publishes.
  const header = JSON.parse(Buffer.from(last.split(".")[0]!, "base64url").toString("utf8"));
  const issuer = uri.slice(0, uri.indexOf("/status-lists/"));
  const metadata = await hub.call(
    "GET",
    `/.well-known/jwt-vc-issuer${new URL(issuer).pathname}`,
    null,
    undefined,
    [200],
  );
  const jwk = (metadata["jwks"] as { keys: JsonWebKey[] }).keys.find((key) => key.kid === header.kid);
  if (!jwk) throw new Error(`the issuer metadata does not publish ${header.kid}`);
  const verified = await verifyStatusListToken(last, {
    key: createPublicKey({ key: jwk, format: "jwk" }),
    expectedUri: uri,
  });
  return {
    changes,
    pollMs,
    fromSendMs: percentiles(fromSend),
    fromAnswerMs: percentiles(fromAnswer),
    patchMs: percentiles(patch),
    polls: measuredPolls,
    listBytes: Buffer.byteLength(last),
    listEntries: verified.list.size,
  };
}
