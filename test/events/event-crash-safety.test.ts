import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import Database from "better-sqlite3";
import {
  type AcknowledgedChange,
  CARD_EVENT_TYPES,
  createCard,
  deliveryBreaches,
  eventsOfChanges,
  expect,
  FAST_HUB_ENV,
  type FeedEvent,
  isCardEvent,
  killHub,
  onboard,
  RecordingSubscriber,
  readFeed,
  registerPerson,
  repetitions,
  setCardStatus,
  stopHub,
  subscribe,
  waitUntil,
} from "../support/event-scenario.ts";
import { UNIVERSITY } from "../support/fixtures.ts";
import { type HubProcess, startHubProcess } from "../support/hub-process.ts";
import { deleteStream, NATS_TEST_URL, natsAvailability, throwawayStream } from "../support/nats-server.ts";
import {
  adminQuery,
  postgresAvailability,
  TEST_DATABASE_URL,
  throwawayName,
} from "../support/postgres-server.ts";
import { ADMIN_TOKEN } from "../support/test-hub.ts";

/*
 * "Nothing is lost" across a SIGKILL (docs/events.md, Guarantees): a stream of card changes, a slow
 * subscriber that sometimes answers 503, and a hub process killed while events are being relayed and
 * webhooks are in flight. Afterwards the pull feed is the record, and against it: every acknowledged
 * change has its event and that event reached the subscriber (answered 2xx) at least once; a repetition
 * carries the same webhook-id (= CloudEvent id) and the same bytes; per card, first receipts come in feed
 * order; nothing arrives that the feed does not hold.
 */

const FAST = {
  ...FAST_HUB_ENV,
  // A claim outlives the attempt by 2 × timeout + 5 s: what a killed sender's claims take to lapse.
  OPENESC_WEBHOOK_TIMEOUT_MS: "2000",
};
/** The relay lease is 15 s, NATS's ack wait 30 s: a generous bound for the survivor to catch up. */
const CATCH_UP_MS = 120_000;

/** Slow answers (so that requests are in flight at the kill), and a 503 every seventh request. */
const slowAndFlaky = (n: number) => ({ status: n % 7 === 0 ? 503 : 200, delayMs: 10 + ((n * 37) % 60) });

/**
 * Writers, one per card, each flipping its card's status again and again through the hubs in turn, until
 * stopped. A request that gets no answer (the hub died under it) is not acknowledged; the writer goes on
 * with the next hub still up.
 */
class CardWriters {
  readonly acknowledged: AcknowledgedChange[] = [];
  readonly escns: string[] = [];
  readonly down = new Set<HubProcess>();
  #stopped = false;
  #running: Promise<void>[] = [];
  #failure: unknown;

  constructor(
    readonly hubs: () => readonly HubProcess[],
    readonly token: string,
  ) {}

  start(esis: readonly string[]): void {
    this.#running = esis.map((esi, w) =>
      this.#write(esi, w).catch((error: unknown) => {
        this.#failure ??= error;
        this.#stopped = true;
      }),
    );
  }

  /** Throws what made a writer give up: a refusal from a hub that was up is a bug, not a crash. */
  check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#running);
    this.check();
  }

  #hub(n: number): HubProcess | undefined {
    const up = this.hubs().filter((hub) => !this.down.has(hub));
    return up[n % Math.max(up.length, 1)];
  }

  async #write(esi: string, w: number): Promise<void> {
    let escn: string | undefined;
    let status: "ACTIVE" | "INACTIVE" = "INACTIVE";
    for (let n = w; !this.#stopped; n++) {
      const hub = this.#hub(n);
      if (hub === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      try {
        if (escn === undefined) {
          const created = await createCard(hub.baseUrl, this.token, UNIVERSITY.id, esi);
          escn = created.escn;
          this.escns.push(escn);
          this.acknowledged.push(created);
        } else {
          this.acknowledged.push(await setCardStatus(hub.baseUrl, this.token, escn, status));
          status = status === "ACTIVE" ? "INACTIVE" : "ACTIVE";
        }
      } catch (error) {
        // A hub that died under the request: unacknowledged, so promised nothing. Anything else is a bug.
        if (!this.down.has(hub)) throw error;
      }
    }
  }
}

/** The university's card events in the feed: what its subscription must receive. */
async function cardEventsInFeed(hub: HubProcess, token: string): Promise<FeedEvent[]> {
  const { events } = await readFeed(hub.baseUrl, token);
  return events.filter(isCardEvent);
}

async function subscriptionCounts(hub: HubProcess, token: string, id: string) {
  const report = await expect<{ deliveries: { pending: number; delivered: number; dead: number } }>(
    200,
    hub.baseUrl,
    "GET",
    `/v1/subscriptions/${id}`,
    { token },
  );
  return report.deliveries;
}

/** The promises, checked once the subscriber has everything: see the comment at the top. */
async function assertNothingLost(
  t: TestContext,
  hub: HubProcess,
  token: string,
  subscriptionId: string,
  subscriber: RecordingSubscriber,
  acknowledged: readonly AcknowledgedChange[],
): Promise<void> {
  const feed = await cardEventsInFeed(hub, token);
  const { missing } = eventsOfChanges(feed, acknowledged);
  assert.deepEqual(missing, [], "every acknowledged change has its event in the feed");
  const accepted = () => new Set(subscriber.accepted().map((r) => r.webhookId));
  await waitUntil(
    () => feed.every((e) => accepted().has(e.id)),
    CATCH_UP_MS,
    () => `${feed.filter((e) => !accepted().has(e.id)).length} of ${feed.length} events not accepted yet`,
  );
  // Every delivery settled: no further request can come, so what was received is all there will be.
  await waitUntil(
    async () => {
      const counts = await subscriptionCounts(hub, token, subscriptionId);
      return counts.pending === 0 && counts.delivered === feed.length;
    },
    CATCH_UP_MS,
    () => "the subscription's deliveries did not all settle as delivered",
  );
  const counts = await subscriptionCounts(hub, token, subscriptionId);
  assert.deepEqual(counts, { pending: 0, delivered: feed.length, dead: 0 });
  assert.deepEqual(deliveryBreaches(subscriber, feed, { exactlyOnce: false }), []);
  t.diagnostic(
    `${acknowledged.length} acknowledged changes, ${feed.length} card events in the feed, ` +
      `${subscriber.receipts.length} webhook requests (${repetitions(subscriber.receipts)} repetitions, ` +
      `${subscriber.receipts.filter((r) => r.status === 503).length} answered 503)`,
  );
}

describe("webhooks across a SIGKILL: SQLite and the in-process bus, one process", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "openesc-event-crash-"));
  const env = { ...FAST, OPENESC_DATA_DIR: dataDir, DATABASE_URL: "", NATS_URL: "" };
  const subscriber = new RecordingSubscriber(slowAndFlaky);
  let hub: HubProcess | undefined;
  let restartLatencyMs: number | undefined;
  after(async () => {
    await killHub(hub);
    await subscriber.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("loses no acknowledged change's webhook, repeats only by id, and keeps each card's order", async (t) => {
    hub = await startHubProcess(env);
    const token = await onboard(hub.baseUrl, ADMIN_TOKEN, UNIVERSITY);
    await subscriber.start();
    const subscriptionId = await subscribe(hub.baseUrl, token, subscriber, { types: CARD_EVENT_TYPES });
    const esis = Array.from({ length: 3 }, (_, i) => `urn:schac:personalUniqueCode:int:esi:fr:crash${i}`);
    for (const esi of esis) await registerPerson(hub.baseUrl, token, UNIVERSITY.id, esi);
    // Two cards for each of three persons: six subjects written at once.
    const writers = new CardWriters(() => (hub ? [hub] : []), token);
    writers.start([...esis, ...esis]);

    const victim = hub;
    await waitUntil(
      () => {
        writers.check();
        return (
          writers.acknowledged.length >= 80 && subscriber.receipts.length >= 20 && subscriber.pending > 0
        );
      },
      60_000,
      () => `${writers.acknowledged.length} changes, ${subscriber.receipts.length} webhooks`,
    );
    const unanswered = subscriber.pending;
    writers.down.add(victim);
    await killHub(victim);
    await writers.stop();
    const acknowledgedAtKill = writers.acknowledged.length;

    // What the hub had not finished when it died, read from its file.
    const file = new Database(join(dataDir, "openesc.db"), { fileMustExist: true });
    const state = file
      .prepare(
        `SELECT (SELECT max(position) FROM outbox) AS latest,
           (SELECT value FROM cursors WHERE name = 'relay') AS relayed,
           (SELECT value FROM cursors WHERE name = 'dispatch') AS dispatched,
           (SELECT count(*) FROM deliveries WHERE state = 'pending') AS pending,
           (SELECT expires_at FROM leases WHERE name = 'relay') AS leaseEnds`,
      )
      .get() as { latest: number; relayed: string; dispatched: string; pending: number; leaseEnds: string };
    file.close();
    t.diagnostic(
      `at the kill: feed at #${state.latest}, relayed to #${state.relayed}, dispatched to #${state.dispatched}, ` +
        `${state.pending} deliveries pending, ${unanswered} webhook requests unanswered; the dead ` +
        `process's relay lease runs ${Date.parse(state.leaseEnds) - Date.now()} ms more`,
    );
    assert.ok(state.pending > 0, "the kill came with webhooks still to send");

    const restartedAt = Date.now();
    const receiptsBefore = subscriber.receipts.length;
    hub = await startHubProcess(env);
    const restarted = hub;
    // A new card (a subject with nothing queued before it): how soon the restarted process sends it.
    const writtenAt = Date.now();
    const fresh = await createCard(restarted.baseUrl, token, UNIVERSITY.id, esis[0]!);
    writers.acknowledged.push(fresh);
    // A few more changes after the restart, through the new process.
    for (const escn of writers.escns) {
      const card = await expect<{ status: string }>(200, restarted.baseUrl, "GET", `/v1/cards/${escn}`, {
        token,
      });
      const next = card.status === "ACTIVE" ? "INACTIVE" : "ACTIVE";
      writers.acknowledged.push(await setCardStatus(restarted.baseUrl, token, escn, next));
    }
    await assertNothingLost(t, restarted, token, subscriptionId, subscriber, writers.acknowledged);
    const freshEvent = eventsOfChanges(await cardEventsInFeed(restarted, token), [fresh]).found.get(fresh);
    const freshReceipt = subscriber.receipts.find((r) => r.webhookId === freshEvent?.id);
    assert.ok(freshReceipt, "the new card's webhook arrived");
    restartLatencyMs = freshReceipt.at - writtenAt;
    t.diagnostic(`a card created right after the restart was sent ${restartLatencyMs} ms after its creation`);
    t.diagnostic(
      `${acknowledgedAtKill} changes acknowledged before the kill; ${subscriber.receipts.length - receiptsBefore} ` +
        `webhook requests after the restart; everything delivered ${Date.now() - restartedAt} ms after it`,
    );
    await stopHub(restarted);
  });

  it("a restarted hub sends a new change's webhook within seconds", () => {
    assert.ok(restartLatencyMs !== undefined, "needs the test above");
    assert.ok(restartLatencyMs < 3000, `sent ${restartLatencyMs} ms after the change`);
  });
});

const [postgres, nats] = await Promise.all([postgresAvailability(), natsAvailability()]);
const unavailable = [postgres, nats].flatMap((a) => (a.skip === false ? [] : [a]))[0];

if (unavailable !== undefined) {
  describe("webhooks across a SIGKILL: PostgreSQL and NATS, two processes", () => {
    if (unavailable.fail) {
      it("needs PostgreSQL and NATS (CI=true)", () => {
        throw new Error(unavailable.skip);
      });
    } else {
      it("runs against PostgreSQL and NATS", { skip: unavailable.skip }, () => undefined);
    }
  });
} else {
  describe("webhooks across a SIGKILL: PostgreSQL and NATS, two processes", () => {
    const schema = throwawayName();
    const { stream, subjectPrefix } = throwawayStream();
    const databaseUrl = new URL(TEST_DATABASE_URL);
    databaseUrl.searchParams.set("options", `-c search_path=${schema}`);
    const folders: string[] = [];
    const hubs: HubProcess[] = [];
    const subscriber = new RecordingSubscriber(slowAndFlaky);
    const start = async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "openesc-event-crash-pg-"));
      folders.push(dataDir);
      const hub = await startHubProcess({
        ...FAST,
        OPENESC_DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl.toString(),
        NATS_URL: NATS_TEST_URL,
        OPENESC_NATS_STREAM: stream,
        OPENESC_NATS_SUBJECT_PREFIX: subjectPrefix,
      });
      hubs.push(hub);
      return hub;
    };
    const relayHolder = async (): Promise<string | undefined> =>
      (await adminQuery(`SELECT holder FROM ${schema}.leases WHERE name = 'relay'`)).rows[0]?.holder;

    before(() => adminQuery(`CREATE SCHEMA ${schema}`));
    after(async () => {
      await Promise.all(hubs.map((hub) => killHub(hub)));
      await subscriber.close();
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await deleteStream(stream);
      for (const dir of folders) rmSync(dir, { recursive: true, force: true });
    });

    it("the survivor takes over: no acknowledged change's webhook lost, order per card kept", async (t) => {
      // A starts alone, so that it takes the relay lease: killing it makes the survivor take over.
      const a = await start();
      await waitUntil(
        async () => (await relayHolder()) !== undefined,
        30_000,
        () => "A took no relay lease",
      );
      const holderBefore = await relayHolder();
      const b = await start();
      const token = await onboard(a.baseUrl, ADMIN_TOKEN, UNIVERSITY);
      subscriber.senders = [a.child.pid, b.child.pid].flatMap((pid) => (pid === undefined ? [] : [pid]));
      await subscriber.start();
      const subscriptionId = await subscribe(b.baseUrl, token, subscriber, { types: CARD_EVENT_TYPES });
      const esis = Array.from({ length: 3 }, (_, i) => `urn:schac:personalUniqueCode:int:esi:fr:pgcrash${i}`);
      for (const [i, esi] of esis.entries()) {
        await registerPerson(hubs[i % 2]!.baseUrl, token, UNIVERSITY.id, esi);
      }
      const writers = new CardWriters(() => hubs, token);
      writers.start([...esis, ...esis]);

      // The kill comes while A has a webhook request in flight: A cannot settle that delivery any more, and
      // B cannot take it before A's claim lapses.
      await waitUntil(
        () => {
          writers.check();
          return (
            writers.acknowledged.length >= 80 &&
            subscriber.receipts.length >= 20 &&
            subscriber.unanswered(a.child.pid).length > 0
          );
        },
        60_000,
        () => `${writers.acknowledged.length} changes, ${subscriber.receipts.length} webhooks`,
      );
      const unanswered = subscriber.unanswered(a.child.pid).length;
      writers.down.add(a);
      await killHub(a);
      const killedAt = Date.now();
      const acknowledgedAtKill = writers.acknowledged.length;
      const state = (
        await adminQuery(
          `SELECT (SELECT max(position) FROM ${schema}.outbox) AS latest,
             (SELECT value FROM ${schema}.cursors WHERE name = 'relay') AS relayed,
             (SELECT value FROM ${schema}.cursors WHERE name = 'dispatch') AS dispatched,
             (SELECT count(*) FROM ${schema}.deliveries WHERE state = 'pending') AS pending,
             (SELECT count(*) FROM ${schema}.deliveries WHERE state = 'pending' AND claimed_until IS NOT NULL) AS claimed`,
        )
      ).rows[0];
      t.diagnostic(
        `at the kill: feed at #${state.latest}, relayed to #${state.relayed}, dispatched to ` +
          `#${state.dispatched}, ${state.pending} deliveries pending (${state.claimed} claimed), ` +
          `${unanswered} webhook requests from the victim unanswered`,
      );
      assert.ok(Number(state.pending) > 0, "the kill came with webhooks still to send");

      // Writes go on through the survivor for a while.
      await waitUntil(
        () => {
          writers.check();
          return writers.acknowledged.length >= acknowledgedAtKill + 40;
        },
        60_000,
        () => `${writers.acknowledged.length - acknowledgedAtKill} changes through the survivor`,
      );
      await writers.stop();
      await waitUntil(
        async () => {
          const holder = await relayHolder();
          return holder !== undefined && holder !== holderBefore;
        },
        CATCH_UP_MS,
        () => "the survivor never took the relay lease over",
      );
      const tookOverAfter = Date.now() - killedAt;
      await assertNothingLost(t, b, token, subscriptionId, subscriber, writers.acknowledged);
      t.diagnostic(
        `${acknowledgedAtKill} changes acknowledged before the kill; the survivor took the relay over ` +
          `${tookOverAfter} ms after it, and everything was delivered ${Date.now() - killedAt} ms after it`,
      );
      await stopHub(b);
    });
  });
}
