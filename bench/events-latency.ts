/**
 * The webhook measurements of the events benchmark: how long a card change takes from its commit to the
 * subscriber (paced changes through the HTTP API), how long one change takes to reach 1,000
 * subscriptions, and the ceiling of the latter, 1,000 signed POSTs from a bare node:http client.
 */
import { type Agent, request } from "node:http";
import { signWebhook } from "../src/delivery/standard-webhooks.ts";
import { type Arrivals, epochNow } from "./events-arrivals.ts";
import { sleep } from "./processes.ts";

/** One paced change: when it was sent, when its 2xx answer came, when its webhook came (ms since the epoch). */
export interface Change {
  readonly escn: string;
  readonly version: number;
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly receivedAt: number | null;
  /** Sent more than 1 ms after its slot in the schedule. */
  readonly late: boolean;
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface LatencyResult {
  readonly changes: number;
  readonly intervalMs: number;
  /** Webhook arrival − the change's 2xx answer: the commit was acknowledged then (a lower bound). */
  readonly fromAnswerMs: Percentiles;
  /** Webhook arrival − just before the request was sent (an upper bound: the commit came later). */
  readonly fromSendMs: Percentiles;
  /** The write's own round trip: answer − send (the ceiling). */
  readonly roundTripMs: Percentiles;
  /** Changes sent per second on the schedule, and answered per second (below it: the hubs fell behind). */
  readonly offeredPerSecond: number;
  readonly answeredPerSecond: number;
  /** Most writes waiting for their answer at once: more than a few means they queued in the hubs. */
  readonly maxInFlight: number;
  readonly missing: number;
  readonly lateSends: number;
  readonly badSignatures: number;
}

export interface LatencyRun {
  /** The hubs' base URLs; changes go to them in turn. */
  readonly targets: readonly string[];
  readonly token: string;
  /** Cards changed in turn, so that one card changes again only long after its last webhook. */
  readonly escns: readonly string[];
  readonly changes: number;
  readonly intervalMs: number;
  readonly arrivals: Arrivals;
  /** The subscription's path on the receiver. */
  readonly path: string;
  /** Distinguishes the display names of successive runs. */
  readonly label: string;
  readonly timeoutMs: number;
}

/** Sends `changes` card updates on a fixed schedule (open loop) and matches each to its webhook. */
export async function measureLatency(run: LatencyRun): Promise<{ result: LatencyResult; changes: Change[] }> {
  const mark = run.arrivals.count;
  const start = epochNow() + 20;
  const sent: Promise<Omit<Change, "receivedAt">>[] = [];
  for (let i = 0; i < run.changes; i++) {
    const slot = start + i * run.intervalMs;
    const wait = slot - epochNow();
    if (wait > 0) await sleep(wait);
    const escn = run.escns[i % run.escns.length]!;
    const target = run.targets[i % run.targets.length]!;
    sent.push(patchCard(target, run.token, escn, `Bench ${run.label} ${i}`, slot));
  }
  const answered = await Promise.all(sent);
  const key = (escn: string, version: number) => `${escn} ${version}`;
  const wanted = new Set(answered.map((c) => key(c.escn, c.version)));
  const received = new Map<string, number>();
  let badSignatures = 0;
  let seen = 0;
  await run.arrivals.waitUntil(
    mark,
    (arrivals) => {
      for (; seen < arrivals.length; seen++) {
        const a = arrivals[seen]!;
        if (a.path !== run.path || a.subject === null || a.version === null) continue;
        if (a.signed === false) badSignatures++;
        const k = key(a.subject, a.version);
        if (wanted.has(k) && !received.has(k)) received.set(k, a.at);
      }
      return received.size === wanted.size;
    },
    run.timeoutMs,
  );
  const changes = answered.map((c) => ({ ...c, receivedAt: received.get(key(c.escn, c.version)) ?? null }));
  const delivered = changes.filter((c) => c.receivedAt !== null);
  return {
    changes,
    result: {
      changes: changes.length,
      intervalMs: run.intervalMs,
      fromAnswerMs: percentiles(delivered.map((c) => c.receivedAt! - c.answeredAt)),
      fromSendMs: percentiles(delivered.map((c) => c.receivedAt! - c.sentAt)),
      roundTripMs: percentiles(changes.map((c) => c.answeredAt - c.sentAt)),
      offeredPerSecond: 1000 / run.intervalMs,
      answeredPerSecond:
        (changes.length * 1000) /
        (Math.max(...changes.map((c) => c.answeredAt)) -
          Math.min(...changes.map((c) => c.sentAt)) +
          run.intervalMs),
      maxInFlight: maxInFlight(changes),
      missing: changes.length - delivered.length,
      lateSends: changes.filter((c) => c.late).length,
      badSignatures,
    },
  };
}

async function patchCard(
  baseUrl: string,
  token: string,
  escn: string,
  displayName: string,
  slot: number,
): Promise<Omit<Change, "receivedAt">> {
  const sentAt = epochNow();
  const response = await fetch(`${baseUrl}/v1/cards/${escn}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ displayName }),
  });
  const text = await response.text();
  const answeredAt = epochNow();
  if (response.status !== 200) throw new Error(`PATCH /v1/cards/${escn}: ${response.status} ${text}`);
  const version = (JSON.parse(text) as { version: number }).version;
  return { escn, version, sentAt, answeredAt, late: sentAt - slot > 1 };
}

export interface FanOutRound {
  /** Last of the subscriptions' webhooks − the change's 2xx answer. */
  readonly fromAnswerMs: number;
  /** Last webhook − just before the change was sent. */
  readonly fromSendMs: number;
  /** First webhook − the change's answer. */
  readonly firstMs: number;
  readonly received: number;
  readonly badSignatures: number;
}

/** One card change, and the time until every one of `paths` has its webhook. */
export async function fanOutRound(options: {
  readonly target: string;
  readonly token: string;
  readonly escn: string;
  readonly label: string;
  readonly arrivals: Arrivals;
  readonly paths: ReadonlySet<string>;
  readonly timeoutMs: number;
}): Promise<FanOutRound> {
  const { arrivals, paths, escn } = options;
  const mark = arrivals.count;
  const change = await patchCard(options.target, options.token, escn, `Bench ${options.label}`, epochNow());
  const firstAt = new Map<string, number>();
  let badSignatures = 0;
  let seen = 0;
  await arrivals.waitUntil(
    mark,
    (all) => {
      for (; seen < all.length; seen++) {
        const a = all[seen]!;
        if (a.subject !== escn || !paths.has(a.path) || firstAt.has(a.path)) continue;
        if (a.signed === false) badSignatures++;
        firstAt.set(a.path, a.at);
      }
      return firstAt.size === paths.size;
    },
    options.timeoutMs,
  );
  const times = [...firstAt.values()];
  const last = times.length === 0 ? Number.NaN : Math.max(...times);
  const first = times.length === 0 ? Number.NaN : Math.min(...times);
  return {
    fromAnswerMs: last - change.answeredAt,
    fromSendMs: last - change.sentAt,
    firstMs: first - change.answeredAt,
    received: firstAt.size,
    badSignatures,
  };
}

/**
 * The ceiling of the fan-out: the same number of POSTs to the same receiver paths, each signed per Standard
 * Webhooks with the path's secret (the hub's own `signWebhook`), from a bare node:http client with
 * keep-alive and `concurrency` requests in flight, as the hub's sender keeps at most. Returns the time from
 * the first send to the last answer, in ms.
 */
export async function bareFanOut(options: {
  readonly receiverUrl: string;
  readonly secrets: ReadonlyMap<string, string>;
  readonly body: string;
  readonly eventId: string;
  readonly concurrency: number;
  readonly agent: Agent;
}): Promise<number> {
  const paths = [...options.secrets.keys()];
  const url = new URL(options.receiverUrl);
  let next = 0;
  const started = epochNow();
  const worker = async () => {
    for (let i = next++; i < paths.length; i = next++) {
      const path = paths[i]!;
      const headers = {
        ...signWebhook(options.secrets.get(path)!, options.eventId, new Date(), options.body),
        "content-type": "application/cloudevents+json",
        "content-length": String(Buffer.byteLength(options.body)),
      };
      await new Promise<void>((resolve, reject) => {
        const req = request(
          { host: url.hostname, port: url.port, path, method: "POST", headers, agent: options.agent },
          (res) => {
            res.resume();
            res.on("end", () =>
              res.statusCode === 204 ? resolve() : reject(new Error(`${res.statusCode}`)),
            );
          },
        );
        req.on("error", reject);
        req.end(options.body);
      });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return epochNow() - started;
}

/** The most changes sent but not yet answered at any send. */
function maxInFlight(changes: readonly Omit<Change, "receivedAt">[]): number {
  const sends = changes.map((c) => c.sentAt).sort((a, b) => a - b);
  const answers = changes.map((c) => c.answeredAt).sort((a, b) => a - b);
  let most = 0;
  let answered = 0;
  for (const [i, sentAt] of sends.entries()) {
    while (answered < answers.length && answers[answered]! <= sentAt) answered++;
    most = Math.max(most, i + 1 - answered);
  }
  return most;
}

/** Nearest-rank percentiles. */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

export function median(values: readonly number[]): number {
  return percentiles(values).p50;
}
