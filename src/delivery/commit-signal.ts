import type { DomainEvent } from "../domain/events.ts";
import type { OutboxRepository, Repositories, Storage } from "../ports/storage.ts";

/**
 * The store, seen through a window that notices commits carrying events: `onEventsCommitted` runs after
 * every transaction that appended to the outbox has committed (never for one that rolled back), so the
 * relay and the feed's readers wake at once instead of at their next poll. Everything else passes through.
 */
export function signalCommits(storage: Storage, onEventsCommitted: () => void): Storage {
  const transaction = async <T>(work: (tx: Repositories) => Promise<T>): Promise<T> => {
    let appended = false;
    const result = await storage.transaction((tx) => {
      const outbox = tx.outbox;
      const append = (events: readonly DomainEvent[]) => {
        if (events.length > 0) appended = true;
        return outbox.append(events);
      };
      const spied = new Proxy(outbox, {
        get: (target, name) => (name === "append" ? append : bound(target, name)),
      }) as OutboxRepository;
      return work(
        new Proxy(tx, { get: (target, name) => (name === "outbox" ? spied : Reflect.get(target, name)) }),
      );
    });
    if (appended) onEventsCommitted();
    return result;
  };
  return new Proxy(storage, {
    get: (target, name) => (name === "transaction" ? transaction : bound(target, name)),
  });
}

/** A property of `target`, with methods bound to it (classes with private fields need their own `this`). */
function bound(target: object, name: string | symbol): unknown {
  const value: unknown = Reflect.get(target, name);
  return typeof value === "function" ? value.bind(target) : value;
}
