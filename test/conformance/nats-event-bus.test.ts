import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { connect } from "@nats-io/transport-node";
import { NatsEventBus, type NatsEventBusOptions } from "../../src/adapters/bus/nats/nats-event-bus.ts";
import { natsConsumerName, natsSubjectFor } from "../../src/adapters/bus/nats/nats-subject.ts";
import type { StoredEvent } from "../../src/domain/events.ts";
import type { EventBus } from "../../src/ports/event-bus.ts";
import {
  deleteStream,
  NATS_TEST_URL,
  natsAvailability,
  startSilentServer,
  startTcpRelay,
  throwawayStream,
  unusedUrl,
  withAdmin,
} from "../support/nats-server.ts";
import { eventBusConformance, gate, recorder, storedEvents, until } from "./event-bus.suite.ts";

/** Short waits so that redelivery and failure cases take about a second each. */
const FAST = { timeoutMs: 2000, ackWaitMs: 1000, nakDelayMs: 100 } as const;

/** Buses on one throwaway stream, closed and the stream deleted by `cleanup`. */
function throwawayWorld(options: Partial<NatsEventBusOptions> = {}) {
  const names = throwawayStream();
  const buses: NatsEventBus[] = [];
  const open = async (extra: Partial<NatsEventBusOptions> = {}) => {
    const bus = new NatsEventBus({ servers: NATS_TEST_URL, ...names, ...FAST, ...options, ...extra });
    buses.push(bus);
    await bus.init();
    return bus;
  };
  return {
    ...names,
    open,
    async cleanup() {
      await Promise.all(buses.map((bus) => bus.close()));
      await deleteStream(names.stream);
    },
  };
}

const availability = await natsAvailability();

if (availability.skip === false) {
  eventBusConformance(
    "nats",
    { keepsEventsForLateGroups: true, publishWaitsForHandlers: false, peersAreSeparate: true },
    async () => {
      const world = throwawayWorld();
      try {
        const bus = await world.open();
        return { bus, peer: () => world.open(), cleanup: () => world.cleanup() };
      } catch (error) {
        await world.cleanup();
        throw error;
      }
    },
  );

  describe("nats event bus: what only a broker shows", () => {
    const worlds: ReturnType<typeof throwawayWorld>[] = [];
    const world = (options: Partial<NatsEventBusOptions> = {}) => {
      const created = throwawayWorld(options);
      worlds.push(created);
      return created;
    };
    after(async () => {
      await Promise.all(worlds.map((w) => w.cleanup()));
    });

    it("a member that dies holding a batch: the batch goes to the other member after the ack wait", async () => {
      const w = world();
      const relay = await startTcpRelay();
      const doomed = await w.open({ servers: relay.url, timeoutMs: 500 });
      const survivor = await w.open();
      const stuck = gate();
      const dying = recorder({ until: stuck.wait });
      const living = recorder();
      await doomed.consume("webhooks", dying.handler, { batchSize: 3 });
      const events = storedEvents(3);
      await survivor.publish(events);
      await until(() => dying.calls.length === 1, "the doomed member's batch");
      await survivor.consume("webhooks", living.handler, { batchSize: 3 });
      const killedAt = Date.now();
      await relay.cut();
      await until(() => living.ids().length >= 3, "the batch at the surviving member", 5000);
      assert.ok(Date.now() - killedAt >= 500, "not before the ack wait ran out");
      assert.deepEqual(
        living.ids(),
        events.map((event) => event.id),
      );
      stuck.open();
    });

    it("init rejects within the timeout when nothing listens, or when the server never answers", async () => {
      const silent = await startSilentServer();
      try {
        for (const servers of [await unusedUrl(), silent.url]) {
          const bus = new NatsEventBus({ servers, timeoutMs: 400 });
          const started = Date.now();
          await assert.rejects(bus.init());
          assert.ok(Date.now() - started < 1400, `${servers}: ${Date.now() - started} ms`);
          await bus.close();
        }
      } finally {
        await silent.close();
      }
    });

    it("NATS_URL may list several servers: a dead one is skipped", async () => {
      const w = world();
      const dead = await unusedUrl();
      for (const servers of [`${dead}, ${NATS_TEST_URL}`, `${NATS_TEST_URL},${dead}`]) {
        const bus = await w.open({ servers });
        const seen: StoredEvent[] = [];
        await bus.watch((event) => seen.push(event));
        await bus.publish(storedEvents(1));
        await until(() => seen.length === 1, `the event (${servers})`);
      }
    });

    it("publish rejects within the timeout when the server goes away, and does not hang", async () => {
      const w = world();
      const relay = await startTcpRelay();
      const bus = await w.open({ servers: relay.url, timeoutMs: 500 });
      await bus.publish(storedEvents(1));
      await relay.cut();
      const started = Date.now();
      await assert.rejects(bus.publish(storedEvents(3)));
      assert.ok(Date.now() - started < 1500, `${Date.now() - started} ms`);
    });

    it("a payload that does not decode is set aside; the group goes on", async () => {
      const w = world();
      const bus = await w.open();
      const group = recorder();
      await bus.consume("webhooks", group.handler);
      const nc = await connect({ servers: NATS_TEST_URL, timeout: 2000 });
      try {
        await nc.request(`${w.subjectPrefix}.card.999859608`, "not json", { timeout: 2000 });
        await nc.request(`${w.subjectPrefix}.card.999859608`, JSON.stringify({ id: 1 }), { timeout: 2000 });
      } finally {
        await nc.close();
      }
      const events = storedEvents(2);
      await bus.publish(events);
      await until(() => group.ids().length >= 2, "the two good events");
      assert.deepEqual(
        group.ids(),
        events.map((event) => event.id),
      );
      // Set aside for good (terminated), not left to come back after the ack wait.
      const consumerInfo = () => withAdmin((jsm) => jsm.consumers.info(w.stream, "webhooks"));
      let info = await consumerInfo();
      for (let tries = 0; info.num_ack_pending > 0 && tries < 50; tries++) info = await consumerInfo();
      assert.equal(info.num_ack_pending, 0);
      assert.equal(info.num_pending, 0);
      assert.equal(info.delivered.stream_seq, 4);
    });

    it("stores each event under <prefix>.<family>.<issuer>, with its id for de-duplication", async () => {
      const w = world();
      const bus = await w.open();
      const [card] = storedEvents(1, "fr.univ-exemple*");
      const consent: StoredEvent = { ...storedEvents(1)[0]!, type: "consent.given", data: { purpose: "x" } };
      await bus.publish([card!, consent]);
      const stored = await withAdmin(async (jsm) => [
        await jsm.streams.getMessage(w.stream, { seq: 1 }),
        await jsm.streams.getMessage(w.stream, { seq: 2 }),
      ]);
      assert.equal(stored[0]?.subject, `${w.subjectPrefix}.card.fr%2Euniv-exemple%2A`);
      assert.equal(stored[0]?.subject, natsSubjectFor(w.subjectPrefix, card!));
      assert.equal(stored[1]?.subject, `${w.subjectPrefix}.consent._`);
      assert.equal(stored[0]?.header.get("Nats-Msg-Id"), card!.id);
      assert.deepEqual(stored[0]?.json(), card);
    });

    it("init creates the stream as configured; another process's init reuses and updates it", async () => {
      const w = world({ duplicateWindowMs: 60_000, maxAgeMs: 3_600_000 });
      await w.open();
      const first = await withAdmin((jsm) => jsm.streams.info(w.stream));
      assert.equal(first.config.storage, "file");
      assert.deepEqual(first.config.subjects, [`${w.subjectPrefix}.>`]);
      assert.equal(first.config.duplicate_window, 60_000 * 1e6);
      assert.equal(first.config.max_age, 3_600_000 * 1e6);
      await w.open();
      await w.open({ duplicateWindowMs: 30_000 });
      const second = await withAdmin((jsm) => jsm.streams.info(w.stream));
      assert.equal(second.config.duplicate_window, 30_000 * 1e6);
      assert.deepEqual(second.config.subjects, [`${w.subjectPrefix}.>`]);
    });

    it("a group is one durable pull consumer, named after the group, limited to one batch in flight", async () => {
      const w = world();
      const bus = await w.open();
      const other = await w.open();
      await bus.consume("webhooks.fan out", async () => undefined, { batchSize: 7 });
      await other.consume("webhooks.fan out", async () => undefined, { batchSize: 7 });
      const consumers = await withAdmin(async (jsm) => {
        const list = [];
        for await (const consumer of jsm.consumers.list(w.stream)) list.push(consumer);
        return list;
      });
      assert.equal(consumers.length, 1);
      const config = consumers[0]!.config;
      assert.equal(config.durable_name, natsConsumerName("webhooks.fan out"));
      assert.equal(config.filter_subject, `${w.subjectPrefix}.>`);
      assert.equal(config.ack_policy, "explicit");
      assert.equal(config.deliver_policy, "all");
      assert.equal(config.max_ack_pending, 7);
      assert.equal(config.ack_wait, FAST.ackWaitMs * 1e6);
    });

    it("publish, consume and watch before init are mistakes of ours (TypeError)", async () => {
      const bus: EventBus = new NatsEventBus({ servers: NATS_TEST_URL });
      await assert.rejects(bus.publish(storedEvents(1)), TypeError);
      await assert.rejects(
        bus.consume("webhooks", async () => undefined),
        TypeError,
      );
      await assert.rejects(
        bus.watch(() => undefined),
        TypeError,
      );
      await bus.close();
    });
  });
} else if (availability.fail) {
  describe("event bus conformance: nats", () => {
    it("needs the NATS server (CI=true)", () => {
      throw new Error(availability.skip);
    });
  });
} else {
  describe("event bus conformance: nats", () => {
    it("runs against NATS with JetStream", { skip: availability.skip }, () => undefined);
  });
}
