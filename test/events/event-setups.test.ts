import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
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
  StreamReader,
  setCardStatus,
  stopHub,
  subscribe,
  waitUntil,
} from "../support/event-scenario.ts";
import { CANTEEN, OTHER_UNIVERSITY, UNIVERSITY } from "../support/fixtures.ts";
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
 * One scenario, every setup the hub runs in: SQLite with the in-process bus (one process); PostgreSQL
 * alone (two processes, each with its in-process bus: one relays by lease, both send webhooks);
 * PostgreSQL and NATS (two processes). In the normal case (no failure) each event reaches each webhook
 * subscription entitled to it exactly once, each organisation gets only what it may see, and a stream
 * open on each process shows every event of its organisation, whichever process committed it, in feed
 * order.
 */

const FAST = FAST_HUB_ENV;
/** Cards per organisation, and status changes per card: 2 × 3 × (1 + 9) = 60 card changes. */
const CARDS = 3;
const FLIPS = 9;
const WAIT_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Organisation {
  readonly id: string;
  readonly token: string;
  readonly subscriber: RecordingSubscriber;
  subscriptionId: string;
  readonly escns: string[];
  readonly acknowledged: AcknowledgedChange[];
}

/** The scenario on `hubs` (one or two processes sharing a store). */
async function scenario(t: TestContext, hubs: readonly HubProcess[], subscribers: RecordingSubscriber[]) {
  const via = (n: number) => hubs[n % hubs.length]!.baseUrl;
  const organisation = async (fixture: { id: string }, n: number): Promise<Organisation> => {
    const subscriber = new RecordingSubscriber((i) => ({ status: 200, delayMs: i % 4 }));
    subscriber.senders = hubs.flatMap((hub) => (hub.child.pid === undefined ? [] : [hub.child.pid]));
    subscribers.push(subscriber);
    await subscriber.start();
    const token = await onboard(via(n), ADMIN_TOKEN, fixture);
    return { id: fixture.id, token, subscriber, subscriptionId: "", escns: [], acknowledged: [] };
  };
  const university = await organisation(UNIVERSITY, 0);
  const other = await organisation(OTHER_UNIVERSITY, 1);
  const canteen = await organisation(CANTEEN, 0);
  university.subscriptionId = await subscribe(via(0), university.token, university.subscriber, {
    types: CARD_EVENT_TYPES,
  });
  other.subscriptionId = await subscribe(via(1), other.token, other.subscriber, { types: CARD_EVENT_TYPES });

  // Every event from here on: the streams start after it, and it is where the feed is read from.
  const start = (await readFeed(via(0), university.token)).next;
  const streams = hubs.flatMap((hub) =>
    [university, other].map((org) => ({ hub, org, reader: new StreamReader() })),
  );
  await Promise.all(streams.map(({ hub, org, reader }) => reader.open(hub.baseUrl, org.token, start)));
  try {
    const writers = [university, other].flatMap((org, o) =>
      Array.from({ length: CARDS }, (_, c) => ({ org, o, c })),
    );
    const esiOf = (o: number, c: number) =>
      `urn:schac:personalUniqueCode:int:esi:${o === 0 ? "fr" : "pl"}:setup${o}x${c}`;
    await Promise.all(
      writers.map(async ({ org, o, c }) => {
        await registerPerson(via(o + c), org.token, org.id, esiOf(o, c));
        const created = await createCard(via(o + c + 1), org.token, org.id, esiOf(o, c));
        org.escns[c] = created.escn;
        org.acknowledged.push(created);
      }),
    );
    // The canteen follows two of the university's cards from now on: their status changes, in public form.
    const followed = university.escns.slice(0, 2);
    await sleep(5);
    canteen.subscriptionId = await subscribe(via(1), canteen.token, canteen.subscriber, {
      types: ["card.updated"],
      cards: followed,
    });
    await Promise.all(
      writers.map(async ({ org, o, c }) => {
        for (let k = 0; k < FLIPS; k++) {
          const status = k % 2 === 0 ? "INACTIVE" : "ACTIVE";
          org.acknowledged.push(await setCardStatus(via(o + c + k), org.token, org.escns[c]!, status));
        }
      }),
    );

    // The record: each organisation's feed after `start`.
    const feeds = new Map<Organisation, FeedEvent[]>();
    for (const org of [university, other]) {
      const { events } = await readFeed(via(0), org.token, start);
      feeds.set(org, events);
      assert.deepEqual(
        eventsOfChanges(events, org.acknowledged).missing,
        [],
        `${org.id}: every change's event`,
      );
      assert.equal(
        events.filter(isCardEvent).length,
        CARDS * (1 + FLIPS),
        `${org.id}: card events in the feed`,
      );
    }
    const expected = new Map<Organisation, FeedEvent[]>([
      [university, feeds.get(university)!.filter(isCardEvent)],
      [other, feeds.get(other)!.filter(isCardEvent)],
      [
        canteen,
        feeds
          .get(university)!
          .filter((e) => e.type === "eu.openesc.card.updated" && followed.includes(e.subject)),
      ],
    ]);
    assert.equal(expected.get(canteen)!.length, followed.length * FLIPS);

    // Webhooks: everything settled (delivered, nothing pending), then counted exactly.
    for (const [org, events] of expected) {
      await waitUntil(
        async () => {
          const report = await expect<{ deliveries: Record<string, number> }>(
            200,
            via(0),
            "GET",
            `/v1/subscriptions/${org.subscriptionId}`,
            { token: org.token },
          );
          return report.deliveries["pending"] === 0 && report.deliveries["delivered"] === events.length;
        },
        WAIT_MS,
        () => `${org.id}: ${org.subscriber.receipts.length} of ${events.length} webhooks`,
      );
    }
    await sleep(200); // a duplicate would have to be on its way now: it would show below
    for (const [org, events] of expected) {
      assert.deepEqual(deliveryBreaches(org.subscriber, events, { exactlyOnce: true }), [], org.id);
      assert.equal(org.subscriber.receipts.length, events.length, `${org.id}: one request per event`);
    }
    for (const org of [university, other]) {
      for (const { event } of org.subscriber.receipts) {
        assert.equal(event.data["issuer"], org.id, `${org.id} receives its own cards only`);
        assert.ok(org.escns.includes(event.subject));
      }
    }
    for (const { event } of canteen.subscriber.receipts) {
      assert.ok(followed.includes(event.subject), "the canteen receives the cards it follows only");
      assert.deepEqual(Object.keys(event.data).sort(), ["escn", "expiresAt", "status"], "public form only");
    }

    // Streams: each process's stream shows its organisation's whole feed, in order.
    for (const { hub, org, reader } of streams) {
      const events = feeds.get(org)!;
      await waitUntil(
        () => reader.events.length >= events.length || reader.ended !== undefined,
        WAIT_MS,
        () => `${org.id} on ${hub.baseUrl}: ${reader.events.length} of ${events.length} events streamed`,
      );
      assert.equal(reader.ended, undefined, "the stream stays open");
      assert.deepEqual(
        reader.events.map((e) => `${e.sequence} ${e.id}`),
        events.map((e) => `${e.sequence} ${e.id}`),
        `${org.id}'s stream on ${hub.baseUrl}: its feed, in order`,
      );
    }
    const receipts = [university, other, canteen].flatMap((org) => org.subscriber.receipts);
    const bySender = hubs.map((hub, i) => {
      const sent = receipts.filter((r) => r.sender === hub.child.pid).length;
      return `process ${i + 1}: ${sent}`;
    });
    t.diagnostic(
      `${university.acknowledged.length + other.acknowledged.length} changes through ${hubs.length} ` +
        `process(es); webhooks: ${[...expected].map(([o, e]) => `${o.id} ${e.length}`).join(", ")} ` +
        `(sent by ${bySender.join(", ")}); ${streams.length} streams`,
    );
  } finally {
    await Promise.all(streams.map(({ reader }) => reader.close()));
  }
}

interface Setup {
  readonly name: string;
  readonly processes: number;
  readonly needs: "nothing" | "postgres" | "postgres and nats";
  /** Environment of the processes, given a data directory of their own. */
  env(dataDir: string): Record<string, string>;
  prepare(): Promise<unknown>;
  cleanup(): Promise<unknown>;
}

const pgSetup = (nats: boolean): Setup => {
  const schema = throwawayName();
  const { stream, subjectPrefix } = throwawayStream();
  const databaseUrl = new URL(TEST_DATABASE_URL);
  databaseUrl.searchParams.set("options", `-c search_path=${schema}`);
  return {
    name: nats ? "PostgreSQL and NATS, two processes" : "PostgreSQL and the in-process bus, two processes",
    processes: 2,
    needs: nats ? "postgres and nats" : "postgres",
    env: (dataDir) => ({
      ...FAST,
      OPENESC_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl.toString(),
      NATS_URL: nats ? NATS_TEST_URL : "",
      OPENESC_NATS_STREAM: stream,
      OPENESC_NATS_SUBJECT_PREFIX: subjectPrefix,
    }),
    prepare: () => adminQuery(`CREATE SCHEMA ${schema}`),
    cleanup: async () => {
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      if (nats) await deleteStream(stream);
    },
  };
};

const SETUPS: Setup[] = [
  {
    name: "SQLite and the in-process bus, one process",
    processes: 1,
    needs: "nothing",
    env: (dataDir) => ({ ...FAST, OPENESC_DATA_DIR: dataDir, DATABASE_URL: "", NATS_URL: "" }),
    prepare: async () => undefined,
    cleanup: async () => undefined,
  },
  pgSetup(false),
  pgSetup(true),
];

const [postgres, nats] = await Promise.all([postgresAvailability(), natsAvailability()]);

for (const setup of SETUPS) {
  const missing = [
    ...(setup.needs === "nothing" ? [] : [postgres]),
    ...(setup.needs === "postgres and nats" ? [nats] : []),
  ].flatMap((a) => (a.skip === false ? [] : [a]))[0];
  describe(`events on ${setup.name}`, () => {
    if (missing !== undefined) {
      if (missing.fail) {
        it(`needs ${setup.needs} (CI=true)`, () => {
          throw new Error(missing.skip);
        });
      } else {
        it(`runs against ${setup.needs}`, { skip: missing.skip }, () => undefined);
      }
      return;
    }
    const folders: string[] = [];
    const hubs: HubProcess[] = [];
    const subscribers: RecordingSubscriber[] = [];
    before(async () => {
      await setup.prepare();
      // Each process is kept as soon as it runs, so that `after` stops it even if another fails to start.
      await Promise.all(
        Array.from({ length: setup.processes }, async () => {
          const dataDir = mkdtempSync(join(tmpdir(), "openesc-event-setup-"));
          folders.push(dataDir);
          hubs.push(await startHubProcess(setup.env(dataDir)));
        }),
      );
    });
    after(async () => {
      await Promise.all(hubs.map((hub) => stopHub(hub).catch(() => killHub(hub))));
      await Promise.all(subscribers.map((subscriber) => subscriber.close()));
      await setup.cleanup();
      for (const dir of folders) rmSync(dir, { recursive: true, force: true });
    });

    it("each webhook exactly once, to whom may see it; every process's stream in feed order", (t) =>
      scenario(t, hubs, subscribers));
  });
}
