/**
 * A Token Status List of 1,000,000 entries (2 bits each, as the hub keeps them): its compressed size empty
 * and with a realistic fill, and the time to sign it again after one entry changed (`set` and
 * `signStatusListToken`, which deflates on the thread pool with `encodeAsync()`), against its ceiling: zlib
 * `deflateSync` of the same bytes at the same level plus one raw ES256 signature over a signing input as
 * long as the token's, measured alone. Then how long the event loop went without a turn during a re-sign,
 * and, for comparison, during the synchronous `encode()` the hub used before.
 */
import { randomInt } from "node:crypto";
import { deflateSync } from "node:zlib";
import { statusListUrl } from "../src/credentials/issuer-identifier.ts";
import {
  STATUS_INVALID,
  STATUS_SUSPENDED,
  StatusList,
  signStatusListToken,
} from "../src/credentials/token-status-list.ts";
import { UNIVERSITY } from "./credentials-hub.ts";
import { benchSigner } from "./credentials-issuance.ts";
import { median, rawKeyPair, rawSign, signedPartOf, signingInputOf } from "./credentials-measure.ts";

export const STATUS_LIST_ENTRIES = 1_000_000;
/** The hub's entries are 2 bits: valid, invalid, suspended. */
const BITS = 2;
/** The share of entries given out: the hub stops giving out a list's entries at half full. */
const ALLOCATED = 0.5;
/** Of the allocated entries: revoked (invalid) and suspended. */
const REVOKED = 0.03;
const SUSPENDED = 0.01;
/** `StatusList.encode()` and `encodeAsync()` deflate at this level. */
const DEFLATE_LEVEL = 9;

export interface StatusListSize {
  readonly fill: string;
  readonly nonValidEntries: number;
  readonly packedBytes: number;
  /** The deflated bytes, before base64url. */
  readonly deflatedBytes: number;
  /** The `lst` claim: deflated, base64url. */
  readonly lstBytes: number;
  /** The whole signed token as served (header with kid and x5c, payload, signature). */
  readonly tokenBytes: number;
}

export interface ResignResult {
  readonly runs: number;
  /** Set one entry, then `signStatusListToken` (which calls `encodeAsync()`), per run. */
  readonly resignMs: readonly number[];
  /** Deflate of the same bytes at the same level + one raw ES256 signature, per run. */
  readonly ceilingMs: readonly number[];
  readonly deflateMs: readonly number[];
  readonly medianMs: number;
  readonly ceilingMedianMs: number;
  readonly ratio: number;
  readonly signingInputBytes: number;
}

/** The event loop during one operation, probed by a chain of 1 ms timers. */
export interface LoopProbe {
  /** How long the operation took. */
  readonly ms: number;
  /** The longest time between two timer callbacks (1 ms apart when nothing blocks the loop). */
  readonly longestGapMs: number;
  /** Timer callbacks during the operation. */
  readonly timers: number;
}

export interface StatusListResult {
  readonly entries: number;
  readonly sizes: readonly StatusListSize[];
  readonly resign: ResignResult;
  /** Re-signs (after one change each) with the loop probed, after the timed runs. */
  readonly loopDuringResign: readonly LoopProbe[];
  /** After each probed re-sign, the loop probed as long with nothing else to do: the machine's own noise. */
  readonly loopIdle: readonly LoopProbe[];
  /** The synchronous `encode()` of the same list (deflateSync, as the hub signed before), probed alike. */
  readonly loopDuringSyncEncode: LoopProbe;
}

/** Probed re-signs: the longest gap of these is the figure. */
const PROBED_RESIGNS = 5;

export async function measureStatusList(baseUrl: string, runs: number): Promise<StatusListResult> {
  const signer = await benchSigner();
  const uri = statusListUrl(`${baseUrl}/issuers/${UNIVERSITY.id}`, 1);
  const sign = (list: StatusList) => {
    const issuedAt = new Date();
    return signStatusListToken({
      list,
      uri,
      key: signer.key,
      alg: signer.alg,
      kid: signer.kid,
      x5c: signer.x5c,
      issuedAt,
      expiresAt: new Date(issuedAt.getTime() + 24 * 3600 * 1000),
      ttlSeconds: 300,
    });
  };
  const sizeOf = async (fill: string, list: StatusList, nonValidEntries: number): Promise<StatusListSize> => {
    const packed = list.toBytes();
    const lst = list.encode();
    return {
      fill,
      nonValidEntries,
      packedBytes: packed.length,
      deflatedBytes: deflateSync(packed, { level: DEFLATE_LEVEL }).length,
      lstBytes: lst.length,
      tokenBytes: Buffer.byteLength(await sign(list)),
    };
  };

  const empty = new StatusList(STATUS_LIST_ENTRIES, BITS);
  const { list, allocated, nonValid } = realisticList();
  const sizes = [
    await sizeOf("empty", empty, 0),
    await sizeOf(
      `${ALLOCATED * 100} % allocated, ${REVOKED * 100} % of those revoked, ${SUSPENDED * 100} % suspended`,
      list,
      nonValid,
    ),
  ];

  // Re-signing after one change, in alternation with the ceiling; one warm-up run of each first.
  const token = await sign(list);
  const { signingInputBytes } = signedPartOf(token);
  const raw = rawKeyPair();
  const signingInput = signingInputOf(signingInputBytes, "status list");
  const resignMs: number[] = [];
  const ceilingMs: number[] = [];
  const deflateMs: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const index = allocated[randomInt(allocated.length)]!;
    let start = performance.now();
    list.set(index, list.get(index) === STATUS_SUSPENDED ? 0 : STATUS_SUSPENDED);
    await sign(list);
    const resign = performance.now() - start;
    const bytes = list.toBytes();
    start = performance.now();
    deflateSync(bytes, { level: DEFLATE_LEVEL });
    const deflated = performance.now() - start;
    rawSign(signingInput, raw.privateKey);
    const ceiling = performance.now() - start;
    if (run === 0) continue;
    resignMs.push(resign);
    ceilingMs.push(ceiling);
    deflateMs.push(deflated);
  }
  const medianMs = median(resignMs);
  const ceilingMedianMs = median(ceilingMs);

  // The event loop during a re-sign, in runs of its own after the timed ones.
  const loopDuringResign: LoopProbe[] = [];
  const loopIdle: LoopProbe[] = [];
  for (let run = 0; run < PROBED_RESIGNS; run++) {
    const index = allocated[randomInt(allocated.length)]!;
    const probed = await probeLoop(async () => {
      list.set(index, list.get(index) === STATUS_SUSPENDED ? 0 : STATUS_SUSPENDED);
      await sign(list);
    });
    loopDuringResign.push(probed);
    loopIdle.push(await probeLoop(() => new Promise((done) => setTimeout(done, probed.ms))));
  }
  const loopDuringSyncEncode = await probeLoop(async () => {
    list.encode();
  });
  return {
    entries: STATUS_LIST_ENTRIES,
    loopDuringResign,
    loopIdle,
    loopDuringSyncEncode,
    sizes,
    resign: {
      runs,
      resignMs,
      ceilingMs,
      deflateMs,
      medianMs,
      ceilingMedianMs,
      ratio: medianMs / ceilingMedianMs,
      signingInputBytes,
    },
  };
}

/**
 * Runs `work` while a chain of 1 ms timers notes when the event loop gets to them; returns the longest time
 * between two. The clock starts before `work` is called, so its synchronous start counts. A chain of
 * `setImmediate` would measure finer, but it keeps the main thread spinning, which on a busy 2-core machine
 * slows the deflate on the thread pool and gets the main thread preempted: gaps of the machine, not the code.
 */
async function probeLoop(work: () => Promise<void>): Promise<LoopProbe> {
  let running = true;
  let timers = 0;
  let longest = 0;
  const start = performance.now();
  let last = start;
  const turn = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    timers++;
    if (running) setTimeout(turn, 1);
  };
  setTimeout(turn, 1);
  await work();
  const end = performance.now();
  running = false;
  longest = Math.max(longest, end - last);
  return { ms: end - start, longestGapMs: longest, timers };
}

/** Half the entries given out at random places; of those, a few revoked and suspended at random. */
function realisticList(): { list: StatusList; allocated: number[]; nonValid: number } {
  const list = new StatusList(STATUS_LIST_ENTRIES, BITS);
  const taken = new Uint8Array(STATUS_LIST_ENTRIES);
  const allocated: number[] = [];
  const wanted = Math.floor(STATUS_LIST_ENTRIES * ALLOCATED);
  while (allocated.length < wanted) {
    const index = randomInt(STATUS_LIST_ENTRIES);
    if (taken[index] === 1) continue;
    taken[index] = 1;
    allocated.push(index);
  }
  // `allocated` is in random order: its first entries are a random sample of it.
  const revoked = Math.round(wanted * REVOKED);
  const suspended = Math.round(wanted * SUSPENDED);
  for (let i = 0; i < revoked; i++) list.set(allocated[i]!, STATUS_INVALID);
  for (let i = revoked; i < revoked + suspended; i++) list.set(allocated[i]!, STATUS_SUSPENDED);
  return { list, allocated, nonValid: revoked + suspended };
}
