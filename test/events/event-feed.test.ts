/**
 * The event feed, pulled (`GET /v1/events`) and streamed (`GET /v1/events/stream`, server-sent events):
 * CloudEvents in feed order, each organisation seeing only its own audience's, resumable from a cursor.
 * The stream is read over a real socket, as a browser's EventSource would.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { eventually } from "../support/eventually.ts";
import { CANTEEN, cardPayload, OTHER_UNIVERSITY, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { ADMIN_TOKEN, startTestHub, type TestHub } from "../support/test-hub.ts";

const ESI_UNI = "urn:schac:personalUniqueCode:int:esi:fr:feed-uni-1";
const ESI_OTHER = "urn:schac:personalUniqueCode:int:esi:pl:feed-other-1";

interface CloudEventBody {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: string;
  sequence: string;
  data: Record<string, unknown>;
}

interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * A server-sent-event reader over `fetch`: parses `id:`, `event:` and `data:` lines into messages
 * (comment lines and `retry:` are skipped, as EventSource does).
 */
class SseClient {
  readonly messages: SseMessage[] = [];
  readonly response: Response;
  readonly #abort: AbortController;
  readonly #done: Promise<void>;
  #waiters = new Set<() => void>();
  ended = false;
  /** The body of an answer that was not a stream (a refusal). */
  refusal: string | undefined;

  private constructor(response: Response, abort: AbortController) {
    this.response = response;
    this.#abort = abort;
    this.#done = this.#read();
  }

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const abort = new AbortController();
    const response = await fetch(url, {
      headers: { accept: "text/event-stream", ...headers },
      signal: abort.signal,
    });
    return new SseClient(response, abort);
  }

  events(): CloudEventBody[] {
    return this.messages.map((m) => JSON.parse(m.data) as CloudEventBody);
  }

  async waitFor(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) {
        throw new Error(`expected ${count} stream messages, got ${this.messages.length}`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }

  async #read(): Promise<void> {
    const body = this.response.body;
    if (body === null || !String(this.response.headers.get("content-type")).startsWith("text/event-stream")) {
      // A refusal: read it whole, so that the connection does not stay half-read and keep the hub open.
      this.refusal = await this.response.text();
      this.ended = true;
      return;
    }
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end !== -1) {
          this.#parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // aborted by close()
    } finally {
      this.ended = true;
      this.#wake();
    }
  }

  #parse(block: string): void {
    const message: SseMessage = { id: undefined, event: undefined, data: "" };
    let hasData = false;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") message.id = value;
      else if (field === "event") message.event = value;
      else if (field === "data") {
        message.data = hasData ? `${message.data}\n${value}` : value;
        hasData = true;
      }
    }
    if (!hasData) return;
    this.messages.push(message);
    this.#wake();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}

describe("the event feed and the event stream", () => {
  let hub: TestHub;
  let university: string;
  let other: string;
  let canteen: string;
  let base: string;
  let escnUni: string;
  let escnOther: string;
  const streams: SseClient[] = [];

  const get = (url: string, token?: string): Promise<LightMyRequestResponse> =>
    hub.request({ method: "GET", url, ...(token === undefined ? {} : { token }) });

  async function feed(token: string, query = ""): Promise<{ items: CloudEventBody[]; next: string }> {
    const res = await get(`/v1/events${query}`, token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  }

  /** Every event the caller may see from `after` on, in pages of `limit`. */
  async function readAll(token: string, after = "0", limit = 100, extra = ""): Promise<CloudEventBody[]> {
    const items: CloudEventBody[] = [];
    let cursor = after;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await feed(token, `?after=${cursor}&limit=${limit}${extra}`);
      assert.ok(page.items.length <= limit);
      assert.ok(Number(page.next) >= Number(cursor), `next goes forward: ${cursor} → ${page.next}`);
      items.push(...page.items);
      if (page.items.length === 0 && page.next === cursor) return items;
      cursor = page.next;
    }
    throw new Error("the feed did not end");
  }

  async function setStatus(token: string, escn: string, status: "ACTIVE" | "INACTIVE") {
    const res = await hub.request({
      method: "PATCH",
      url: `/v1/cards/${escn}`,
      token,
      payload: status === "ACTIVE" ? { status, inactiveReason: null } : { status, inactiveReason: "lost" },
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ version: number }>().version;
  }

  async function seedPerson(token: string, esi: string, organisation: string): Promise<string> {
    const person = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/persons",
      token,
      payload: personPayload(esi, organisation),
    });
    assert.equal(person.statusCode, 201, person.body);
    const card = await hub.request({
      method: "POST",
      url: "/esc-rest/api/v2/cards",
      token,
      payload: cardPayload(esi, organisation),
    });
    assert.equal(card.statusCode, 201, card.body);
    return card.json().cardNumber;
  }

  async function stream(token: string, query = "", headers: Record<string, string> = {}) {
    const client = await SseClient.open(`${base}/v1/events/stream${query}`, {
      authorization: `Bearer ${token}`,
      ...headers,
    });
    streams.push(client);
    return client;
  }

  before(async () => {
    hub = await startTestHub({
      delivery: true,
      env: { OPENESC_EVENT_POLL_MS: "50", OPENESC_MAX_PAGE_SIZE: "200" },
    });
    university = await hub.onboard(UNIVERSITY);
    other = await hub.onboard(OTHER_UNIVERSITY);
    canteen = await hub.onboard(CANTEEN);
    escnUni = await seedPerson(university, ESI_UNI, UNIVERSITY.id);
    escnOther = await seedPerson(other, ESI_OTHER, OTHER_UNIVERSITY.id);
    for (let i = 0; i < 4; i++) {
      await setStatus(university, escnUni, i % 2 === 0 ? "INACTIVE" : "ACTIVE");
      await setStatus(other, escnOther, i % 2 === 0 ? "INACTIVE" : "ACTIVE");
    }
    await hub.app.listen({ port: 0, host: "127.0.0.1" });
    const address = hub.app.server.address();
    assert.ok(address !== null && typeof address === "object");
    base = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await Promise.all(streams.map((s) => s.close()));
    await hub.close();
  });

  describe("the pull feed", () => {
    it("returns the caller's CloudEvents in order, and pages on without gaps or repeats", async () => {
      const whole = await feed(university, "?limit=200");
      const types = whole.items.map((e) => `${e.type} ${e.subject}`);
      assert.deepEqual(types, [
        `eu.openesc.organisation.created ${UNIVERSITY.id}`,
        `eu.openesc.person.linked ${ESI_UNI}`,
        `eu.openesc.card.created ${escnUni}`,
        `eu.openesc.card.updated ${escnUni}`,
        `eu.openesc.card.updated ${escnUni}`,
        `eu.openesc.card.updated ${escnUni}`,
        `eu.openesc.card.updated ${escnUni}`,
      ]);
      const sequences = whole.items.map((e) => Number(e.sequence));
      assert.ok(
        sequences.every((s, i) => i === 0 || s > (sequences[i - 1] ?? 0)),
        `increasing: ${sequences}`,
      );
      assert.deepEqual(
        whole.items.filter((e) => e.type === "eu.openesc.card.updated").map((e) => e.data["version"]),
        [2, 3, 4, 5],
      );
      for (const event of whole.items) {
        assert.equal(event.specversion, "1.0");
        assert.equal(event.source, "https://hub.example.org/v1/events");
        assert.equal(event.datacontenttype, "application/json");
        assert.match(event.sequence, /^\d+$/);
        assert.match(event.id, /^[0-9a-f-]{36}$/);
      }
      // `next` is the last event looked at: here past ours, over the other organisation's last change.
      assert.ok(Number(whole.next) > Number(whole.items.at(-1)?.sequence), whole.next);
      assert.equal(whole.next, String(await hub.services.events.latest()));

      // Page by page, with pages smaller than the feed: the same events, once each.
      for (const limit of [1, 2, 3]) {
        const paged = await readAll(university, "0", limit);
        assert.deepEqual(
          paged.map((e) => e.id),
          whole.items.map((e) => e.id),
          `pages of ${limit}`,
        );
      }
      // From a cursor in the middle: exactly what follows it.
      const middle = whole.items[3];
      assert.ok(middle);
      const rest = await readAll(university, middle.sequence, 2);
      assert.deepEqual(
        rest.map((e) => e.id),
        whole.items.slice(4).map((e) => e.id),
      );
      // Past the end: an empty page that stays where it is.
      const end = await feed(university, `?after=${whole.next}`);
      assert.deepEqual(end, { items: [], next: whole.next });
      // A later event appears after the old end, and only it.
      await setStatus(university, escnUni, "INACTIVE");
      const later = await feed(university, `?after=${whole.next}`);
      assert.deepEqual(
        later.items.map((e) => [e.type, e.data["version"]]),
        [["eu.openesc.card.updated", 6]],
      );
    });

    it("shows each organisation only its own audience's events", async () => {
      const mine = await readAll(university);
      const theirs = await readAll(other);
      const canteens = await readAll(canteen);
      const mineText = JSON.stringify(mine);
      const theirsText = JSON.stringify(theirs);
      assert.ok(mine.some((e) => e.subject === escnUni));
      assert.ok(theirs.some((e) => e.subject === escnOther));
      assert.ok(!mineText.includes(escnOther) && !mineText.includes(ESI_OTHER), "nothing of the other's");
      assert.ok(!theirsText.includes(escnUni) && !theirsText.includes(ESI_UNI), "nothing of ours");
      for (const event of mine) {
        const about = event.data["issuer"] ?? event.data["organisation"];
        assert.equal(about, UNIVERSITY.id, JSON.stringify(event));
      }
      // A service provider holds no students: of the feed it sees only its own organisation's event.
      assert.deepEqual(
        canteens.map((e) => e.type),
        ["eu.openesc.organisation.created"],
      );
    });

    it("applies a named subscription's filters and card set, in the public form for a service provider", async () => {
      const followed = await hub.request({
        method: "POST",
        url: "/v1/subscriptions",
        token: canteen,
        payload: { url: "https://canteen.example.org/hook", cards: [escnUni] },
      });
      assert.equal(followed.statusCode, 201, followed.body);
      const canteenSubscription = followed.json().id as string;
      const named = await readAll(canteen, "0", 100, `&subscription=${canteenSubscription}`);
      // Besides the followed card's events, only the canteen's own organisation event passes the filters.
      assert.deepEqual(
        named.filter((e) => !e.type.startsWith("eu.openesc.card.")).map((e) => e.subject),
        [CANTEEN.id],
      );
      const events = named.filter((e) => e.type.startsWith("eu.openesc.card."));
      assert.ok(events.length >= 5, `the card's history: ${events.length}`);
      for (const event of events) {
        assert.equal(event.subject, escnUni);
        assert.match(event.type, /^eu\.openesc\.card\./);
        assert.deepEqual(Object.keys(event.data).sort(), ["escn", "expiresAt", "status"]);
      }
      assert.equal(events[0]?.type, "eu.openesc.card.created");
      const body = JSON.stringify(events);
      assert.ok(!body.includes(ESI_UNI) && !body.includes("inactiveReason") && !body.includes('"lost"'));
      assert.ok(!body.includes(escnOther));
      // Without naming it, the canteen's own feed still shows none of the card's events.
      assert.ok((await readAll(canteen)).every((e) => e.subject !== escnUni));

      const typed = await hub.request({
        method: "POST",
        url: "/v1/subscriptions",
        token: university,
        payload: { url: "https://hooks.example.org/typed", types: ["eu.openesc.card.updated"] },
      });
      const typedEvents = await readAll(university, "0", 100, `&subscription=${typed.json().id}`);
      assert.ok(typedEvents.length >= 4);
      assert.ok(typedEvents.every((e) => e.type === "eu.openesc.card.updated"));
      assert.ok(typedEvents.every((e) => e.data["issuer"] === UNIVERSITY.id && "inactiveReason" in e.data));

      // Another organisation's subscription answers as one that does not exist.
      for (const id of [canteenSubscription, "00000000-0000-4000-8000-000000000000", "nope"]) {
        const res = await get(`/v1/events?subscription=${id}`, university);
        assert.equal(res.statusCode, 404, res.body);
        assert.equal(res.json().code, "SUBSCRIPTION_NOT_FOUND");
      }
      const streamed = await get(`/v1/events/stream?subscription=${canteenSubscription}`, university);
      assert.equal(streamed.statusCode, 404, streamed.body);
    });

    it("refuses malformed cursors, pages above the maximum, and callers without events:read", async () => {
      for (const after of ["abc", "-1", "1e3", "1.5", "0x10", "1".repeat(30)]) {
        const res = await get(`/v1/events?after=${after}`, university);
        assert.equal(res.statusCode, 400, `${after}: ${res.body}`);
        const problem = res.json<{ code: string; errors: { field: string }[] }>();
        assert.equal(problem.code, "CURSOR_INVALID", `${after}: ${res.body}`);
        assert.deepEqual(
          problem.errors.map((e) => e.field),
          ["after"],
        );
      }
      const tooMany = await get("/v1/events?limit=201", university);
      assert.equal(tooMany.statusCode, 400, tooMany.body);
      assert.equal(tooMany.json().code, "PAGE_SIZE_TOO_LARGE");
      assert.equal((await get("/v1/events?limit=200", university)).statusCode, 200);
      const zero = await get("/v1/events?limit=0", university);
      assert.equal(zero.statusCode, 400, zero.body);

      const anonymous = await get("/v1/events");
      assert.equal(anonymous.statusCode, 401, anonymous.body);
      const limited = await hub.request({
        method: "POST",
        url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
        token: ADMIN_TOKEN,
        payload: { name: "cards only", scopes: ["cards:read", "subscriptions:manage"] },
      });
      assert.equal(limited.statusCode, 201, limited.body);
      const token = limited.json().token as string;
      for (const url of ["/v1/events", "/v1/events/stream"]) {
        const res = await get(url, token);
        assert.equal(res.statusCode, 403, `${url}: ${res.body}`);
        assert.equal(res.json().code, "SCOPE_MISSING");
      }
    });
  });

  describe("the server-sent event stream", () => {
    it("sends each change made after connecting as a message: id = sequence, event = type", async () => {
      const client = await stream(university);
      assert.equal(client.response.status, 200);
      assert.match(String(client.response.headers.get("content-type")), /^text\/event-stream/);
      const version = await setStatus(university, escnUni, "ACTIVE");
      await client.waitFor(1);
      const [message] = client.messages;
      assert.ok(message);
      const event = JSON.parse(message.data) as CloudEventBody;
      assert.equal(message.id, event.sequence);
      assert.equal(message.event, event.type);
      assert.equal(event.type, "eu.openesc.card.updated");
      assert.equal(event.subject, escnUni);
      assert.equal(event.data["version"], version);
      assert.equal(event.data["status"], "ACTIVE");
      // The same event as the pull feed has.
      const pulled = await feed(university, `?after=${Number(event.sequence) - 1}&limit=1`);
      assert.deepEqual(pulled.items[0], event);
      await client.close();
    });

    it("resumes after Last-Event-ID or ?after= with no gap and no repeat, then goes on live", async () => {
      const first = await stream(university);
      for (let i = 0; i < 3; i++) await setStatus(university, escnUni, i % 2 === 0 ? "INACTIVE" : "ACTIVE");
      await first.waitFor(3);
      await first.close();
      const [m1] = first.messages;
      assert.ok(m1?.id);
      // Two changes while nobody listens.
      await setStatus(university, escnUni, "ACTIVE");
      await setStatus(university, escnUni, "INACTIVE");
      const expected = (await readAll(university, m1.id)).map((e) => e.id);
      assert.equal(expected.length, 4, "two seen before, two missed");

      for (const [query, headers] of [
        ["", { "last-event-id": m1.id }],
        [`?after=${m1.id}`, {}],
        // Last-Event-ID (what EventSource sends on reconnecting) wins over the query.
        ["?after=0", { "last-event-id": m1.id }],
      ] as const) {
        const resumed = await stream(university, query, headers);
        assert.equal(resumed.response.status, 200);
        const replayed: number = expected.length;
        await resumed.waitFor(replayed);
        const live = await setStatus(university, escnUni, "ACTIVE");
        await resumed.waitFor(replayed + 1);
        const events = resumed.events();
        assert.equal(events.length, replayed + 1);
        assert.deepEqual(
          events.slice(0, replayed).map((e) => e.id),
          expected,
          `replayed after ${m1.id} (${query} ${JSON.stringify(headers)})`,
        );
        assert.equal(events[replayed]?.data["version"], live, "then live");
        assert.equal(new Set(events.map((e) => e.id)).size, events.length, "no repeat");
        await resumed.close();
        // The next round replays that live change too.
        expected.push(events[replayed]?.id ?? "");
      }
    });

    it("refuses a malformed Last-Event-ID or after before the stream starts", async () => {
      for (const [query, headers, field] of [
        ["", { "last-event-id": "abc" }, "last-event-id"],
        ["", { "last-event-id": "-1" }, "last-event-id"],
        ["", { "last-event-id": "1".repeat(30) }, "last-event-id"],
        ["?after=1e3", {}, "after"],
      ] as const) {
        const res = await fetch(`${base}/v1/events/stream${query}`, {
          headers: { authorization: `Bearer ${university}`, ...headers },
        });
        const body = await res.text();
        assert.equal(res.status, 400, body);
        assert.match(String(res.headers.get("content-type")), /^application\/problem\+json/);
        const problem = JSON.parse(body);
        assert.equal(problem.code, "CURSOR_INVALID");
        assert.deepEqual(
          problem.errors.map((e: { field: string }) => e.field),
          [field],
        );
      }
      const anonymous = await fetch(`${base}/v1/events/stream`);
      assert.equal(anonymous.status, 401);
      await anonymous.body?.cancel();
    });

    it("ends a stream whose token is revoked, before the next event goes out", async () => {
      const made = await hub.request({
        method: "POST",
        url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
        token: university,
        payload: { name: "dashboard" },
      });
      assert.equal(made.statusCode, 201, made.body);
      const client = await stream(made.json().token);
      await setStatus(university, escnUni, "INACTIVE");
      await client.waitFor(1);
      const revoked = await hub.request({
        method: "DELETE",
        url: `/v1/organisations/${UNIVERSITY.id}/tokens/${made.json().id}`,
        token: university,
      });
      assert.equal(revoked.statusCode, 200, revoked.body);
      await setStatus(university, escnUni, "ACTIVE");
      await eventually(() => assert.ok(client.ended, "the stream ended"));
      assert.equal(client.messages.length, 1, "nothing went out after the revocation");
    });

    it("shows another organisation none of the caller's events", async () => {
      const mine = await stream(university);
      const theirs = await stream(other);
      await setStatus(university, escnUni, "INACTIVE");
      await setStatus(university, escnUni, "ACTIVE");
      await mine.waitFor(2);
      // A later change of the other organisation reaches its stream: the stream, in feed order, has looked
      // through ours by then.
      await setStatus(other, escnOther, "ACTIVE");
      await theirs.waitFor(1);
      await mine.waitFor(2);
      assert.deepEqual(
        theirs.events().map((e) => e.subject),
        [escnOther],
      );
      assert.ok(mine.events().every((e) => e.subject === escnUni));
      assert.equal(mine.messages.length, 2, "and ours shows none of theirs");
      await Promise.all([mine.close(), theirs.close()]);
    });
  });
});

describe("a hub with open event streams", () => {
  it("closes without waiting for its clients to hang up", async () => {
    const hub = await startTestHub({ delivery: true, env: { OPENESC_EVENT_POLL_MS: "50" } });
    const university = await hub.onboard(UNIVERSITY);
    await hub.app.listen({ port: 0, host: "127.0.0.1" });
    const address = hub.app.server.address();
    assert.ok(address !== null && typeof address === "object");
    const client = await SseClient.open(`http://127.0.0.1:${address.port}/v1/events/stream?after=0`, {
      authorization: `Bearer ${university}`,
    });
    await client.waitFor(1); // the organisation.created event
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      hub.close().then(() => "closed"),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve("hung"), 5000);
      }),
    ]);
    clearTimeout(timer);
    assert.equal(closed, "closed");
    await eventually(() => assert.ok(client.ended, "the stream ended"));
    await client.close();
  });
});
