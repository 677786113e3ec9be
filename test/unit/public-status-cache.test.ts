import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PublicStatusCache } from "../../src/services/public-status-cache.ts";

const DAY = "2026-10-15";
const NEXT_DAY = "2026-10-16";

function filled(capacity: number, keys: readonly string[]): PublicStatusCache {
  const cache = new PublicStatusCache(capacity);
  for (const key of keys) cache.set(key, DAY, `body of ${key}`, cache.ticket());
  return cache;
}

describe("PublicStatusCache", () => {
  it("answers what was stored for the same day", () => {
    const cache = filled(10, ["a"]);
    assert.equal(cache.get("a", DAY), "body of a");
    assert.equal(cache.get("b", DAY), undefined);
  });

  it("replaces the answer of a key set again, without growing", () => {
    const cache = filled(10, ["a"]);
    cache.set("a", DAY, "new body", cache.ticket());
    assert.equal(cache.get("a", DAY), "new body");
    assert.equal(cache.size, 1);
  });

  describe("least recently used eviction", () => {
    it("evicts the oldest entry first when nothing was read", () => {
      const cache = filled(3, ["a", "b", "c", "d"]);
      assert.equal(cache.size, 3);
      assert.equal(cache.get("a", DAY), undefined);
      assert.equal(cache.get("b", DAY), "body of b");
      assert.equal(cache.get("c", DAY), "body of c");
      assert.equal(cache.get("d", DAY), "body of d");
    });

    it("keeps an entry that was read recently and evicts the least recently used one", () => {
      const cache = filled(3, ["a", "b", "c"]);
      assert.equal(cache.get("a", DAY), "body of a"); // a is now the most recently used
      cache.set("d", DAY, "body of d", cache.ticket());
      assert.equal(cache.get("b", DAY), undefined, "b was the least recently used");
      assert.equal(cache.get("a", DAY), "body of a");
      assert.equal(cache.get("c", DAY), "body of c");
      assert.equal(cache.get("d", DAY), "body of d");
    });

    it("counts setting a key again as a use", () => {
      const cache = filled(3, ["a", "b", "c"]);
      cache.set("a", DAY, "body of a, again", cache.ticket());
      cache.set("d", DAY, "body of d", cache.ticket());
      assert.equal(cache.get("b", DAY), undefined);
      assert.equal(cache.get("a", DAY), "body of a, again");
    });

    it("evicts in the order of last use over a longer sequence", () => {
      const cache = filled(3, ["a", "b", "c"]);
      cache.get("b", DAY);
      cache.get("a", DAY);
      // order of use, oldest first: c, b, a
      cache.set("d", DAY, "body of d", cache.ticket());
      assert.equal(cache.size, 3);
      assert.equal(cache.get("c", DAY), undefined);
      // now: b, a, d → next eviction takes b
      cache.set("e", DAY, "body of e", cache.ticket());
      assert.equal(cache.get("b", DAY), undefined);
      assert.deepEqual(
        ["a", "d", "e"].map((k) => cache.get(k, DAY)),
        ["body of a", "body of d", "body of e"],
      );
    });

    it("never holds more than its capacity", () => {
      const cache = new PublicStatusCache(5);
      for (let i = 0; i < 100; i++) {
        cache.set(`k${i}`, DAY, String(i), cache.ticket());
        cache.get(`k${i % 7}`, DAY);
        assert.ok(cache.size <= 5, `size ${cache.size} after ${i + 1} sets`);
      }
    });

    it("with capacity 1 keeps only the last entry", () => {
      const cache = filled(1, ["a", "b"]);
      assert.equal(cache.size, 1);
      assert.equal(cache.get("a", DAY), undefined);
      assert.equal(cache.get("b", DAY), "body of b");
    });
  });

  it("with capacity 0 keeps nothing", () => {
    const cache = filled(0, ["a", "b"]);
    assert.equal(cache.size, 0);
    assert.equal(cache.get("a", DAY), undefined);
    assert.equal(cache.get("b", DAY), undefined);
  });

  it("forgets an answer made on another day (EXPIRED follows from the date)", () => {
    const cache = filled(10, ["a", "b"]);
    assert.equal(cache.get("a", NEXT_DAY), undefined);
    assert.equal(cache.size, 1, "the stale entry is dropped");
    // going back to the old day does not resurrect it
    assert.equal(cache.get("a", DAY), undefined);
    assert.equal(cache.get("b", DAY), "body of b");
    cache.set("a", NEXT_DAY, "tomorrow's body", cache.ticket());
    assert.equal(cache.get("a", NEXT_DAY), "tomorrow's body");
    assert.equal(cache.get("a", DAY), undefined);
  });

  it("invalidate drops one answer and leaves the others", () => {
    const cache = filled(10, ["a", "b"]);
    cache.invalidate("a");
    assert.equal(cache.get("a", DAY), undefined);
    assert.equal(cache.get("b", DAY), "body of b");
    assert.equal(cache.size, 1);
    cache.invalidate("not-there");
    assert.equal(cache.size, 1);
  });

  it("clear drops every answer, and the cache fills again afterwards", () => {
    const cache = filled(10, ["a", "b", "c"]);
    cache.clear();
    assert.equal(cache.size, 0);
    for (const key of ["a", "b", "c"]) assert.equal(cache.get(key, DAY), undefined);
    cache.set("a", DAY, "fresh", cache.ticket());
    assert.equal(cache.get("a", DAY), "fresh");
  });
});

describe("a read that raced a write", () => {
  it("is not kept when an invalidation happened between the ticket and the set", () => {
    const cache = new PublicStatusCache(10);
    const ticket = cache.ticket();
    cache.invalidate("a"); // a write to the card committed while the reader awaited the store
    cache.set("a", "2026-01-01", "stale body", ticket);
    assert.equal(cache.get("a", "2026-01-01"), undefined);
    cache.set("a", "2026-01-01", "fresh body", cache.ticket());
    assert.equal(cache.get("a", "2026-01-01"), "fresh body");
  });
});
