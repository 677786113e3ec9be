import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { Webhook } from "standardwebhooks";
import { cardPayload, personPayload } from "./fixtures.ts";
import { exited, type HubProcess } from "./hub-process.ts";
import { ADMIN_TOKEN } from "./test-hub.ts";
import { WebhookReceiver } from "./webhook-receiver.ts";

/*
 * What the event tests that run real hub processes share: HTTP calls, a webhook subscriber that records
 * what it answered, a server-sent-event reader, the pull feed as the record, and the checks of the
 * delivery promises (docs/events.md, "Guarantees") against that record.
 */

/** A CloudEvent as the feed, the stream and webhooks carry it. */
/**
 * Hub process settings for event tests: fast loops and retries, so that a test does not wait for
 * production intervals, and loopback subscribers allowed.
 */
export const FAST_HUB_ENV: Readonly<Record<string, string>> = {
  OPENESC_ADMIN_TOKEN: ADMIN_TOKEN,
  OPENESC_PUBLIC_URL: "https://hub.example.org",
  OPENESC_LOG_LEVEL: "warn",
  OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true",
  OPENESC_EVENT_POLL_MS: "50",
  OPENESC_WEBHOOK_RETRY_BASE_MS: "50",
  OPENESC_WEBHOOK_RETRY_MAX_MS: "400",
};

/** The card event types the process tests subscribe to. */
export const CARD_EVENT_TYPES = ["card.created", "card.updated"];

/** Whether a feed event is one of {@link CARD_EVENT_TYPES}. */
export const isCardEvent = (e: { type: string }) =>
  CARD_EVENT_TYPES.includes(e.type.replace("eu.openesc.", ""));

export interface FeedEvent {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly sequence: string;
  readonly data: Record<string, unknown>;
}

export interface Answer {
  readonly status: number;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One request to a hub over its socket; `token` becomes the bearer token. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers["authorization"] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

/** `call`, which must answer `status`; returns the parsed body. */
export async function expect<T = Record<string, unknown>>(
  status: number,
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<T> {
  const answer = await call(baseUrl, method, path, options);
  if (answer.status !== status) {
    throw new Error(`${method} ${path} answered ${answer.status}, not ${status}: ${answer.text}`);
  }
  return answer.text === "" ? ({} as T) : answer.json<T>();
}

/** The operator onboards an organisation over HTTP and makes it a token; returns the token. */
export async function onboard(
  baseUrl: string,
  adminToken: string,
  organisation: { id: string },
): Promise<string> {
  await expect(201, baseUrl, "POST", "/v1/organisations", { token: adminToken, body: organisation });
  const made = await expect<{ token: string }>(
    201,
    baseUrl,
    "POST",
    `/v1/organisations/${encodeURIComponent(organisation.id)}/tokens`,
    { token: adminToken, body: { name: "event scenario" } },
  );
  return made.token;
}

export async function registerPerson(baseUrl: string, token: string, issuer: string, esi: string) {
  await expect(201, baseUrl, "POST", "/esc-rest/api/v2/persons", {
    token,
    body: personPayload(esi, issuer),
  });
}

/** A change the hub acknowledged (2xx), and the version of the card it left: its event carries it. */
export interface AcknowledgedChange {
  readonly escn: string;
  readonly type: "card.created" | "card.updated";
  readonly version: number;
}

/** Registers a card; throws when the hub does not acknowledge it (a lost connection included). */
export async function createCard(
  baseUrl: string,
  token: string,
  issuer: string,
  esi: string,
): Promise<AcknowledgedChange> {
  const card = await expect<{ cardNumber: string }>(201, baseUrl, "POST", "/esc-rest/api/v2/cards", {
    token,
    body: cardPayload(esi, issuer),
  });
  return { escn: card.cardNumber.toLowerCase(), type: "card.created", version: 1 };
}

/** Sets a card's status (every acknowledged PATCH makes a new version, hence an event). */
export async function setCardStatus(
  baseUrl: string,
  token: string,
  escn: string,
  status: "ACTIVE" | "INACTIVE",
): Promise<AcknowledgedChange> {
  const body = status === "ACTIVE" ? { status, inactiveReason: null } : { status, inactiveReason: "lost" };
  const card = await expect<{ version: number }>(200, baseUrl, "PATCH", `/v1/cards/${escn}`, { token, body });
  return { escn, type: "card.updated", version: card.version };
}

/** The whole pull feed an organisation sees after `after`, and the cursor it ends at. */
export async function readFeed(
  baseUrl: string,
  token: string,
  after = "0",
): Promise<{ events: FeedEvent[]; next: string }> {
  const events: FeedEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await expect<{ items: FeedEvent[]; next: string }>(
      200,
      baseUrl,
      "GET",
      `/v1/events?after=${cursor}&limit=100`,
      { token },
    );
    events.push(...page.items);
    if (page.next === cursor) return { events, next: cursor };
    cursor = page.next;
  }
}

/** One webhook request as the subscriber saw it, and what it answered (undefined: not yet). */
export interface Receipt {
  readonly webhookId: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly event: FeedEvent;
  /** `Date.now()` when the request had arrived. */
  readonly at: number;
  /** The process that sent it, when {@link RecordingSubscriber.senders} could tell. */
  readonly sender: number | undefined;
  status: number | undefined;
}

/**
 * A webhook subscriber that answers each request as `answer(n)` says (after a delay, to keep requests in
 * flight), and records every request with the status it gave. `pending` counts requests not yet answered.
 */
export class RecordingSubscriber {
  readonly receipts: Receipt[] = [];
  readonly #receiver = new WebhookReceiver();
  readonly #answer: (n: number) => { status: number; delayMs: number };
  #pending = 0;
  url = "";
  secret = "";
  /** Process ids that may send webhooks: each receipt records which one did (Linux only). */
  senders: readonly number[] = [];

  constructor(
    answer: (n: number) => { status: number; delayMs: number } = () => ({ status: 200, delayMs: 0 }),
  ) {
    this.#answer = answer;
    this.#receiver.fallback = (response) => this.#respond(response);
  }

  get pending(): number {
    return this.#pending;
  }

  async start(): Promise<string> {
    this.url = await this.#receiver.start();
    return this.url;
  }

  #respond(response: ServerResponse): void {
    const request = this.#receiver.received[this.#receiver.received.length - 1]!;
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
    );
    const receipt: Receipt = {
      webhookId: headers["webhook-id"] ?? "",
      body: request.body,
      headers,
      event: JSON.parse(request.body) as FeedEvent,
      at: Date.now(),
      sender: socketOwner(response.socket?.remotePort, this.senders),
      status: undefined,
    };
    this.receipts.push(receipt);
    const { status, delayMs } = this.#answer(this.receipts.length);
    this.#pending += 1;
    const reply = () => {
      this.#pending -= 1;
      receipt.status = status;
      if (!response.destroyed) response.writeHead(status).end();
    };
    if (delayMs > 0) setTimeout(reply, delayMs);
    else reply();
  }

  /** Requests not answered yet, from `sender` when given (as far as {@link senders} can tell). */
  unanswered(sender?: number): Receipt[] {
    return this.receipts.filter(
      (r) =>
        r.status === undefined && (sender === undefined || r.sender === undefined || r.sender === sender),
    );
  }

  /** The receipts the subscriber accepted (answered 2xx). */
  accepted(): Receipt[] {
    return this.receipts.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  }

  /** Resolves once `check` holds, rejecting after `timeoutMs` with `describe()`. */
  async until(check: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  close(): Promise<void> {
    return this.#receiver.close();
  }
}

/**
 * Which of `pids` holds the loopback TCP socket whose local port is `port`, read from `/proc` (undefined
 * elsewhere, or when the socket is gone).
 */
export function socketOwner(port: number | undefined, pids: readonly number[]): number | undefined {
  if (port === undefined || pids.length === 0) return undefined;
  try {
    const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
    const inodes = new Set<string>();
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields[1]?.endsWith(hexPort) && fields[9] !== undefined) inodes.add(`socket:[${fields[9]}]`);
      }
    }
    return pids.find((pid) =>
      readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
        } catch {
          return false; // closed meanwhile
        }
      }),
    );
  } catch {
    return undefined;
  }
}

/** Creates a webhook subscription for `subscriber` and keeps its secret there. */
export async function subscribe(
  baseUrl: string,
  token: string,
  subscriber: RecordingSubscriber,
  body: Record<string, unknown>,
): Promise<string> {
  const made = await expect<{ id: string; secret: string }>(201, baseUrl, "POST", "/v1/subscriptions", {
    token,
    body: { url: subscriber.url, ...body },
  });
  subscriber.secret = made.secret;
  return made.id;
}

/**
 * A client of `GET /v1/events/stream` over fetch: collects the events in the order they arrive. `close()`
 * aborts the request, so nothing keeps the test process alive.
 */
export class StreamReader {
  readonly events: FeedEvent[] = [];
  /** Why the stream ended, when it ended before `close()`. */
  ended: string | undefined;
  readonly #abort = new AbortController();
  #done: Promise<void> = Promise.resolve();

  /** Resolves once the hub has answered with the stream's headers (from then on nothing is missed). */
  async open(baseUrl: string, token: string, after: string): Promise<void> {
    const response = await fetch(`${baseUrl}/v1/events/stream?after=${after}`, {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
      signal: this.#abort.signal,
    });
    if (response.status !== 200 || response.body === null) {
      throw new Error(`the stream answered ${response.status}: ${await response.text()}`);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    this.#done = (async () => {
      let buffer = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            this.ended = "the hub ended the stream";
            return;
          }
          buffer += value;
          let end = buffer.indexOf("\n\n");
          while (end !== -1) {
            const data = buffer
              .slice(0, end)
              .split("\n")
              .find((line) => line.startsWith("data: "));
            if (data !== undefined) this.events.push(JSON.parse(data.slice("data: ".length)) as FeedEvent);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf("\n\n");
          }
        }
      } catch (error) {
        if (!this.#abort.signal.aborted) this.ended = `the stream failed: ${(error as Error).message}`;
      }
    })();
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}

/** Waits until `check` holds, polling; rejects after `timeoutMs` with `describe()`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM, then SIGKILL when the process has not gone within 5 s; resolves once it has exited. */
export async function stopHub(hub: HubProcess | undefined): Promise<void> {
  if (hub === undefined || hub.child.exitCode !== null || hub.child.signalCode !== null) return;
  hub.child.kill("SIGTERM");
  const timer = setTimeout(() => hub.child.kill("SIGKILL"), 5000);
  await exited(hub.child);
  clearTimeout(timer);
}

export async function killHub(hub: HubProcess | undefined): Promise<void> {
  if (hub === undefined || hub.child.exitCode !== null || hub.child.signalCode !== null) return;
  hub.child.kill("SIGKILL");
  await exited(hub.child);
}

/** The feed event each acknowledged change produced, and the changes whose event is missing. */
export function eventsOfChanges(
  feed: readonly FeedEvent[],
  changes: readonly AcknowledgedChange[],
): { found: Map<AcknowledgedChange, FeedEvent>; missing: AcknowledgedChange[] } {
  const byKey = new Map(
    feed.map((e) => [changeKey(e.type.replace(/^eu\.openesc\./, ""), e.subject, e.data["version"]), e]),
  );
  const found = new Map<AcknowledgedChange, FeedEvent>();
  const missing: AcknowledgedChange[] = [];
  for (const change of changes) {
    const event = byKey.get(changeKey(change.type, change.escn, change.version));
    if (event === undefined) missing.push(change);
    else found.set(change, event);
  }
  return { found, missing };
}

function changeKey(type: string, escn: string, version: unknown): string {
  return `${type} ${escn.toLowerCase()} v${String(version)}`;
}

/**
 * Breaches of the delivery promises in what `subscriber` received, against the events it should get
 * (`expected`, in feed order): each expected event accepted at least once; nothing received that is not
 * expected; every request signed, its `webhook-id` its CloudEvent id, and every repetition of an id
 * byte-identical; per subject, the first receipt of each event in feed order. `exactlyOnce`: no event
 * received twice at all (the normal case).
 */
export function deliveryBreaches(
  subscriber: RecordingSubscriber,
  expected: readonly FeedEvent[],
  options: { exactlyOnce: boolean },
): string[] {
  const breaches: string[] = [];
  const expectedIds = new Set(expected.map((e) => e.id));
  const accepted = new Set(subscriber.accepted().map((r) => r.webhookId));
  const missing = expected.filter((e) => !accepted.has(e.id));
  if (missing.length > 0) {
    breaches.push(
      `${missing.length} of ${expected.length} events never accepted: ${missing
        .slice(0, 5)
        .map((e) => `${e.type} ${e.subject} #${e.sequence}`)
        .join(", ")}`,
    );
  }
  const verifier = new Webhook(subscriber.secret);
  const bodies = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const receipt of subscriber.receipts) {
    const id = receipt.webhookId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    if (!expectedIds.has(id)) breaches.push(`received ${id} (${receipt.event.type}), not expected here`);
    if (receipt.event.id !== id) breaches.push(`webhook-id ${id} carries CloudEvent ${receipt.event.id}`);
    const first = bodies.get(id);
    if (first === undefined) bodies.set(id, receipt.body);
    else if (first !== receipt.body) breaches.push(`a repetition of ${id} differs from the first`);
    try {
      verifier.verify(receipt.body, receipt.headers);
    } catch (error) {
      breaches.push(`${id}: signature refused (${(error as Error).message})`);
    }
  }
  if (options.exactlyOnce) {
    const twice = [...counts].filter(([, n]) => n > 1);
    if (twice.length > 0) breaches.push(`${twice.length} events received more than once`);
  }
  breaches.push(...firstReceiptOrderBreaches(subscriber.receipts));
  return breaches;
}

/** Per subject, the first receipt of each event must come in feed order (`sequence` increasing). */
export function firstReceiptOrderBreaches(receipts: readonly Receipt[]): string[] {
  const seen = new Set<string>();
  const last = new Map<string, number>();
  const breaches: string[] = [];
  for (const { event } of receipts) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    const sequence = Number(event.sequence);
    const before = last.get(event.subject) ?? 0;
    if (sequence <= before) {
      breaches.push(`${event.subject}: #${sequence} first received after #${before}`);
    }
    last.set(event.subject, Math.max(before, sequence));
  }
  return breaches;
}

/** How many requests repeated an event already received (diagnostics). */
export function repetitions(receipts: readonly Receipt[]): number {
  return receipts.length - new Set(receipts.map((r) => r.webhookId)).size;
}
