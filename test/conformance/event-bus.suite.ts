import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import type { StoredEvent } from "../../src/domain/events.ts";
import type { BatchHandler, EventBus } from "../../src/ports/event-bus.ts";

/** What an adapter's test file hands the suite for one test: a bus on throwaway state, and how to drop it. */
export interface EventBusUnderTest {
  /** Initialised. */
  readonly bus: EventBus;
  /**
   * The bus as another process sharing it would open it (NATS: a new connection to the same stream). In
   * process there is no other process: the same bus.
   */
  peer(): Promise<EventBus>;
  /** Closes every bus handed out and drops the state; works when a test already closed `bus`. */
  cleanup(): Promise<void>;
}

/** Where adapters legitimately differ; every other case holds for both as written. */
export interface EventBusCapabilities {
  /**
   * Events wait in the bus for a group that joins later (a durable stream). In process nothing is kept:
   * a group gets what is published while it has a member, and reads the rest from the outbox.
   */
  readonly keepsEventsForLateGroups: boolean;
  /**
   * `publish` resolves once every group of this process handled the events, and rejects when one failed
   * (in process); otherwise it resolves once the events are stored and handlers run later.
   */
  readonly publishWaitsForHandlers: boolean;
  /** `peer()` opens a separate bus, as another process would; otherwise it is the same bus. */
  readonly peersAreSeparate: boolean;
}

/*
 * One test per behaviour, each on its own throwaway bus state. Where a test must show that something did
 * NOT arrive, it publishes a later event and waits for that one: events reach a group in order, so once
 * the later one is there, anything duplicated or misrouted would have been seen.
 */
export function eventBusConformance(
  adapter: string,
  capabilities: EventBusCapabilities,
  open: () => Promise<EventBusUnderTest>,
): void {
  const test = (name: string, body: (world: EventBusUnderTest) => Promise<void>) =>
    it(name, async () => {
      const world = await open();
      try {
        await body(world);
      } finally {
        await world.cleanup();
      }
    });

  describe(`event bus conformance: ${adapter}`, () => {
    test("a group gets every event once, in publish order, across publications", async ({ bus }) => {
      const group = recorder();
      await bus.consume("webhooks.fan-out", group.handler, { batchSize: 4 });
      const events = storedEvents(10);
      await bus.publish(events.slice(0, 6));
      await bus.publish(events.slice(6));
      const sentinel = storedEvents(1);
      await bus.publish(sentinel);
      await until(() => group.ids().includes(sentinel[0]!.id), "the sentinel event");
      assert.deepEqual(group.ids(), ids([...events, ...sentinel]));
    });

    if (capabilities.keepsEventsForLateGroups) {
      test("a group that joins late gets the events published before it joined", async ({ bus }) => {
        const before = storedEvents(3);
        await bus.publish(before);
        const group = recorder();
        await bus.consume("late-group", group.handler);
        const after = storedEvents(3);
        await bus.publish(after);
        await until(() => group.ids().length >= 6, "six events");
        assert.deepEqual(group.ids(), ids([...before, ...after]));
      });
    } else {
      test("a group that joins late gets only what is published while it has a member (the outbox keeps the rest)", async ({
        bus,
      }) => {
        const before = storedEvents(3);
        await bus.publish(before);
        const group = recorder();
        await bus.consume("late-group", group.handler);
        const after = storedEvents(3);
        await bus.publish(after);
        await until(() => group.ids().length >= 3, "three events");
        assert.deepEqual(group.ids(), ids(after));
      });
    }

    test("an event id published again (in the same call or a later one) is delivered once", async ({
      bus,
    }) => {
      const group = recorder();
      await bus.consume("webhooks", group.handler);
      const [a, b, c, d, e] = storedEvents(5) as [
        StoredEvent,
        StoredEvent,
        StoredEvent,
        StoredEvent,
        StoredEvent,
      ];
      await bus.publish([a, b]);
      await bus.publish([b, c]);
      await bus.publish([a]);
      await bus.publish([d, d]);
      await bus.publish([e]);
      await until(() => group.ids().includes(e.id), "the last event");
      assert.deepEqual(group.ids(), ids([a, b, c, d, e]));
    });

    test("a batch whose handler rejects is delivered again, and each event is handled once", async ({
      bus,
    }) => {
      const group = recorder({ failFirstCalls: 1 });
      await bus.consume("webhooks", group.handler, { batchSize: 10 });
      const events = storedEvents(3);
      // What the relay does: publish, and when that rejects, publish the same events again later.
      const outcome = await bus.publish(events).then(
        () => "stored",
        async () => {
          await bus.publish(events);
          return "published again";
        },
      );
      assert.equal(outcome, capabilities.publishWaitsForHandlers ? "published again" : "stored");
      await until(() => group.ids().length >= 3, "three handled events");
      const failed = group.calls[0]!.map((event) => event.id);
      assert.ok(failed.length > 0);
      assert.ok(
        failed.every((id) => group.ids().includes(id)),
        "every event of the failed batch was handled later",
      );
      assert.deepEqual([...group.ids()].sort(), ids(events).sort());
    });

    test("two members of one group split the events, without duplicates", async ({ bus, peer }) => {
      const other = await peer();
      const first = recorder({ delayMs: 15 });
      const second = recorder({ delayMs: 15 });
      await bus.consume("webhooks", first.handler, { batchSize: 2 });
      await other.consume("webhooks", second.handler, { batchSize: 2 });
      const events = storedEvents(12);
      await bus.publish(events);
      const handled = () => [...first.ids(), ...second.ids()];
      await until(() => handled().length >= 12, "twelve events");
      const sentinel = storedEvents(1);
      await bus.publish(sentinel);
      await until(() => handled().includes(sentinel[0]!.id), "the sentinel event");
      assert.deepEqual([...handled()].sort(), ids([...events, ...sentinel]).sort());
      assert.ok(first.handled.length > 0 && second.handled.length > 0, "both members took batches");
      assert.ok([...first.handled, ...second.handled].every((batch) => batch.length <= 2));
    });

    test("two groups each get every event", async ({ bus }) => {
      const webhooks = recorder();
      const mirror = recorder();
      await bus.consume("webhooks", webhooks.handler);
      await bus.consume("mirror", mirror.handler);
      const events = storedEvents(5);
      await bus.publish(events);
      await until(() => webhooks.ids().length >= 5 && mirror.ids().length >= 5, "five events in each group");
      assert.deepEqual(webhooks.ids(), ids(events));
      assert.deepEqual(mirror.ids(), ids(events));
    });

    test(
      capabilities.peersAreSeparate
        ? "watch sees the events another process publishes"
        : "watch sees the events published on the bus",
      async ({ bus, peer }) => {
        const publisher = await peer();
        const seen: StoredEvent[] = [];
        // Watching has begun once watch resolves: an event published right after is seen.
        await bus.watch((event) => seen.push(event));
        const events = storedEvents(3);
        await publisher.publish(events);
        await until(() => seen.length >= 3, "three watched events");
        assert.deepEqual(ids(seen), ids(events));
        assert.deepEqual(seen[0], events[0], "the listener gets the whole event");
      },
    );

    test("a watcher that throws breaks neither publish nor other watchers nor groups", async ({ bus }) => {
      await bus.watch(() => {
        throw new Error("listener bug");
      });
      const seen: StoredEvent[] = [];
      await bus.watch((event) => seen.push(event));
      const group = recorder();
      await bus.consume("webhooks", group.handler);
      const events = storedEvents(3);
      await bus.publish(events);
      await until(() => seen.length >= 3 && group.ids().length >= 3, "three events watched and consumed");
      assert.deepEqual(ids(seen), ids(events));
      assert.deepEqual(group.ids(), ids(events));
    });

    test("a stopped member gets nothing more; stop waits for the batch under way", async ({ bus }) => {
      const release = gate();
      const member = recorder({ until: release.wait });
      const witness = recorder();
      const consumer = await bus.consume("webhooks", member.handler);
      await bus.consume("witness", witness.handler);
      const first = storedEvents(2);
      const publishing = bus.publish(first);
      await until(() => member.calls.length === 1, "the member's first batch");
      // The first batch may hold both events or only the first (NATS may deliver before the second is stored).
      const taken = member.calls[0]!.map((event) => event.id);
      assert.deepEqual(taken, ids(first).slice(0, taken.length));
      let stopped = false;
      const stopping = consumer.stop().then(() => {
        stopped = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(stopped, false, "stop waits while the handler runs");
      release.open();
      await stopping;
      await publishing;
      const later = storedEvents(2);
      await bus.publish(later);
      await until(() => witness.ids().length >= 4, "the witness group's four events");
      assert.deepEqual(member.ids(), taken, "nothing after stop");
      if (capabilities.keepsEventsForLateGroups) {
        // The group is durable: what its stopped member did not take waits for the next member.
        const left = [...ids(first).slice(taken.length), ...ids(later)];
        const next = recorder();
        await bus.consume("webhooks", next.handler);
        await until(() => next.ids().length >= left.length, "the events the stopped member left");
        assert.deepEqual(next.ids(), left);
      }
    });

    test("close stops delivery and watching, and can be called twice", async ({ bus, peer }) => {
      const group = recorder();
      const seen: StoredEvent[] = [];
      await bus.consume("webhooks", group.handler);
      await bus.watch((event) => seen.push(event));
      const publisher = capabilities.peersAreSeparate ? await peer() : undefined;
      const witness = recorder();
      await publisher?.consume("witness", witness.handler);
      await bus.close();
      await bus.close();
      const events = storedEvents(3);
      if (publisher !== undefined) {
        await publisher.publish(events);
        await until(() => witness.ids().length >= 3, "the witness group's three events");
      } else {
        await assert.rejects(bus.publish(events), /closed/);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(group.ids(), []);
      assert.deepEqual(seen, []);
      await assert.rejects(bus.consume("webhooks", group.handler), /closed/);
    });

    test("a batch never holds more than batchSize events", async ({ bus }) => {
      const group = recorder();
      await bus.consume("webhooks", group.handler, { batchSize: 3 });
      const events = storedEvents(10);
      await bus.publish(events);
      await until(() => group.ids().length >= 10, "ten events");
      assert.ok(
        group.handled.every((batch) => batch.length <= 3),
        JSON.stringify(sizes(group.handled)),
      );
      assert.deepEqual(group.ids(), ids(events));
      if (capabilities.publishWaitsForHandlers) assert.deepEqual(sizes(group.handled), [3, 3, 3, 1]);
      if (capabilities.keepsEventsForLateGroups) {
        // Events already waiting are handed over together, not one by one.
        const late = recorder();
        await bus.consume("late", late.handler, { batchSize: 3 });
        await until(() => late.ids().length >= 10, "ten events for the late group");
        assert.ok(
          late.handled.every((batch) => batch.length <= 3),
          JSON.stringify(sizes(late.handled)),
        );
        assert.ok(
          late.handled.some((batch) => batch.length === 3),
          JSON.stringify(sizes(late.handled)),
        );
        assert.deepEqual(late.ids(), ids(events));
      }
    });
  });
}

/** Events as the outbox stores them, with fresh ids and increasing positions. */
export function storedEvents(count: number, issuer = "999859608"): StoredEvent[] {
  return Array.from({ length: count }, () => {
    position++;
    return {
      id: randomUUID(),
      position,
      type: "card.updated",
      subject: randomUUID(),
      audience: [issuer],
      data: { issuer, status: "active" },
      occurredAt: "2026-10-15T10:00:00.000Z",
    };
  });
}
let position = 0;

export interface Recorder {
  /** Every call of the handler, failed ones included. */
  readonly calls: StoredEvent[][];
  /** The batches the handler accepted. */
  readonly handled: StoredEvent[][];
  readonly handler: BatchHandler;
  /** Ids of the accepted events, in the order handled. */
  ids(): string[];
}

/** A batch handler that records what it gets; it can fail its first calls, take time, or wait for a gate. */
export function recorder(options: { failFirstCalls?: number; delayMs?: number; until?: Promise<void> } = {}) {
  const calls: StoredEvent[][] = [];
  const handled: StoredEvent[][] = [];
  const handler: BatchHandler = async (batch) => {
    calls.push([...batch]);
    if (calls.length <= (options.failFirstCalls ?? 0)) throw new Error("handler failed on purpose");
    if (options.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    await options.until;
    handled.push([...batch]);
  };
  return { calls, handled, handler, ids: () => handled.flat().map((event) => event.id) } satisfies Recorder;
}

/** Waits until `condition` holds, or fails naming what did not come. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A gate a test opens by hand. */
export function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

function ids(events: readonly StoredEvent[]): string[] {
  return events.map((event) => event.id);
}

function sizes(batches: readonly (readonly StoredEvent[])[]): number[] {
  return batches.map((batch) => batch.length);
}
