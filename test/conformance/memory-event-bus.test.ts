import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryEventBus } from "../../src/adapters/bus/memory/memory-event-bus.ts";
import { eventBusConformance, recorder, storedEvents } from "./event-bus.suite.ts";

eventBusConformance(
  "memory",
  { keepsEventsForLateGroups: false, publishWaitsForHandlers: true, peersAreSeparate: false },
  async () => {
    const bus = new MemoryEventBus();
    await bus.init();
    return { bus, peer: async () => bus, cleanup: () => bus.close() };
  },
);

describe("memory event bus: its own semantics", () => {
  it("forgets the oldest ids beyond its window size, so they are delivered again", async () => {
    const bus = new MemoryEventBus({ duplicateWindowSize: 2 });
    const group = recorder();
    await bus.consume("webhooks", group.handler);
    const [a, b, c] = storedEvents(3);
    await bus.publish([a!, b!, c!]);
    await bus.publish([a!]);
    await bus.publish([c!]);
    assert.deepEqual(group.ids(), [a!.id, b!.id, c!.id, a!.id], "a was forgotten, c was not");
    await bus.close();
  });

  it("forgets ids older than its time window", async () => {
    let now = Date.parse("2026-10-15T10:00:00Z");
    const bus = new MemoryEventBus({ duplicateWindowMs: 1000, clock: { now: () => new Date(now) } });
    const group = recorder();
    await bus.consume("webhooks", group.handler);
    const [a] = storedEvents(1);
    await bus.publish([a!]);
    now += 999;
    await bus.publish([a!]);
    assert.equal(group.ids().length, 1, "within the window: dropped");
    now += 2;
    await bus.publish([a!]);
    assert.equal(group.ids().length, 2, "past the window: delivered again");
    await bus.close();
  });

  it("hands a group's batches to its members in turn", async () => {
    const bus = new MemoryEventBus();
    const first = recorder();
    const second = recorder();
    await bus.consume("webhooks", first.handler, { batchSize: 2 });
    await bus.consume("webhooks", second.handler, { batchSize: 2 });
    const events = storedEvents(8);
    await bus.publish(events);
    const ids = events.map((event) => event.id);
    assert.deepEqual(first.ids(), [...ids.slice(0, 2), ...ids.slice(4, 6)]);
    assert.deepEqual(second.ids(), [...ids.slice(2, 4), ...ids.slice(6, 8)]);
    await bus.close();
  });

  it("a failed publication lets groups that had handled the events see them again (at least once)", async () => {
    const bus = new MemoryEventBus();
    const steady = recorder();
    const flaky = recorder({ failFirstCalls: 1 });
    await bus.consume("steady", steady.handler);
    await bus.consume("flaky", flaky.handler);
    const events = storedEvents(2);
    await assert.rejects(bus.publish(events), /on purpose/);
    await bus.publish(events);
    assert.equal(steady.ids().length, 4);
    assert.equal(flaky.ids().length, 2);
    // Once every group has them, the ids are remembered.
    await bus.publish(events);
    assert.equal(steady.ids().length, 4);
    await bus.close();
  });

  it("rejects a batch size that is not a positive integer", async () => {
    const bus = new MemoryEventBus();
    await assert.rejects(
      bus.consume("webhooks", async () => undefined, { batchSize: 0 }),
      TypeError,
    );
    await bus.close();
  });
});
