/** Where a background loop reports what went wrong (pino's logger fits). */
export interface PumpLog {
  error(details: object, message: string): void;
}

/**
 * Runs a unit of background work again and again, never twice at once: at once when woken, again straight
 * away while the work says there is more, otherwise every `idleMs` (to notice work nobody woke it for). A
 * failing run is logged and retried after `idleMs`, so a store that is down for a while costs one log line
 * per interval, not a busy loop.
 *
 * ```ts
 * const pump = new Pump("relay", () => relay.runOnce(), { idleMs: 1000, log });
 * pump.start();
 * onCommit(() => pump.wake());
 * ```
 */
export class Pump {
  readonly name: string;
  readonly #work: () => Promise<boolean>;
  readonly #idleMs: number;
  readonly #log: PumpLog | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #wokenWhileRunning = false;
  #started = false;
  #stopped = false;

  constructor(name: string, work: () => Promise<boolean>, options: { idleMs: number; log?: PumpLog }) {
    this.name = name;
    this.#work = work;
    this.#idleMs = options.idleMs;
    this.#log = options.log;
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.wake();
  }

  /** Runs the work now (or right after the run under way). */
  wake(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#running !== undefined) {
      this.#wokenWhileRunning = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      if (this.#wokenWhileRunning) {
        this.#wokenWhileRunning = false;
        this.wake();
      } else {
        this.#timer = setTimeout(() => this.wake(), this.#idleMs);
        this.#timer.unref();
      }
    });
  }

  /** Stops scheduling and waits for the run under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #loop(): Promise<void> {
    try {
      this.#wokenWhileRunning = false;
      while (!this.#stopped && (await this.#work())) {
        // More work is waiting: go on without sleeping, but let I/O callbacks run between rounds.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      this.#wokenWhileRunning = false;
      this.#log?.error({ err: error, job: this.name }, `${this.name} failed; it tries again shortly`);
    }
  }
}
