/**
 * Tells the feed's open streams that the feed may have grown. Woken from three sides: this process's own
 * commits, the bus (events relayed by any process), and, while streams are waiting, a poll of the feed's
 * newest position, which covers processes that share a store without sharing a bus.
 */
export class FeedWatch {
  readonly #readLatest: () => Promise<number>;
  readonly #pollMs: number;
  readonly #waiters = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #latest = -1;
  #closed = false;

  constructor(readLatest: () => Promise<number>, options: { pollMs: number }) {
    this.#readLatest = readLatest;
    this.#pollMs = options.pollMs;
  }

  /** True once the hub is stopping: streams end. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The feed may have grown: every waiting stream reads on. */
  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * Resolves true at the next {@link notify}, or false after `timeoutMs` (a stream's keep-alive),
   * whichever comes first.
   */
  wait(timeoutMs: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiters = this.#waiters;
      const woken = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiters.delete(woken);
        resolve(false);
      }, timeoutMs);
      waiters.add(woken);
      this.#schedulePoll();
    });
  }

  /** Wakes every stream one last time and stops polling (shutdown). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.notify();
  }

  #schedulePoll(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(async () => {
      this.#timer = undefined;
      if (this.#waiters.size === 0) return;
      try {
        const latest = await this.#readLatest();
        if (this.#latest !== -1 && latest !== this.#latest) this.notify();
        this.#latest = latest;
      } catch {
        // The store is away: the streams' own reads will say so; poll again later.
      }
      if (this.#waiters.size > 0) this.#schedulePoll();
    }, this.#pollMs);
    this.#timer.unref();
  }
}
