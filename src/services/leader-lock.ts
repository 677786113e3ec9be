import { randomUUID } from "node:crypto";
import type { Clock } from "../ports/clock.ts";
import type { Repositories, Storage } from "../ports/storage.ts";

/** This process's name as a lease holder: random, so that it says nothing about the machine it runs on. */
export const PROCESS_HOLDER_ID = `process-${randomUUID()}`;

export interface LeaderLockOptions {
  /** How long a lease lasts unless renewed, in milliseconds; a holder that dies frees it after that. */
  readonly ttlMs: number;
  /** Who holds it; one id per process by default. */
  readonly holder?: string;
}

/**
 * Lets one process at a time run a job among several sharing a store, through the lease port: the lease
 * is taken (or renewed, by the process that holds it) for `ttlMs`, and lapses if its holder stops
 * renewing it. Renewing inside the job's own transactions ({@link holdsIn}) means a holder whose lease
 * lapsed and was taken over writes nothing more.
 *
 * ```ts
 * const lock = new LeaderLock(storage, clock, "retention", { ttlMs: 2 * 60 * 60_000 });
 * if (await lock.acquire()) await purge();
 * ```
 */
export class LeaderLock {
  readonly name: string;
  readonly holder: string;
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(storage: Storage, clock: Clock, name: string, options: LeaderLockOptions) {
    if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs < 1) {
      throw new TypeError(`ttlMs must be a positive whole number, got ${options.ttlMs}`);
    }
    this.name = name;
    this.holder = options.holder ?? PROCESS_HOLDER_ID;
    this.#storage = storage;
    this.#clock = clock;
    this.#ttlMs = options.ttlMs;
  }

  /** Takes or renews the lease; true when this holder has it for the next `ttlMs`. */
  acquire(): Promise<boolean> {
    return this.#storage.transaction((tx) => this.holdsIn(tx));
  }

  /** {@link acquire} inside a transaction the caller runs: its writes commit only if the lease is still ours. */
  holdsIn(tx: Repositories): Promise<boolean> {
    const now = this.#clock.now();
    return tx.leases.tryAcquire(
      this.name,
      this.holder,
      now.toISOString(),
      new Date(now.getTime() + this.#ttlMs).toISOString(),
    );
  }

  /** Gives the lease up at once (when this holder has it), so that another process may take over. */
  release(): Promise<void> {
    return this.#storage.transaction((tx) => tx.leases.release(this.name, this.holder));
  }
}
