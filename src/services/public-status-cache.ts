/** How the cache has served so far, for the metrics (`openesc_status_cache_*`) and the benchmark. */
export interface StatusCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly entries: number;
  readonly capacity: number;
}

/** A kept answer: the JSON body, and whose personal data it shows (null when none). */
export interface CachedStatus {
  readonly body: string;
  readonly disclosedPersonId: number | null;
}

/**
 * Answers of the public card status, kept in memory because that endpoint is the hottest of all.
 * Exact, not approximate: every write to a card or an issuer invalidates it before the write's answer
 * leaves, and an entry is valid only for the calendar day it was made on (EXPIRED follows from the date).
 * Least recently used entries leave first.
 *
 * A reader takes a {@link ticket} before it reads the store and hands it to {@link set}: if any
 * invalidation happened in between (a write committed while the read was awaited), the answer it read
 * may be stale and is not kept.
 */
export class PublicStatusCache {
  readonly #capacity: number;
  readonly #entries = new Map<string, CachedStatus & { day: string }>();
  #epoch = 0;
  #hits = 0;
  #misses = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(escn: string, day: string): string | undefined {
    return this.lookup(escn, day)?.body;
  }

  /** The answer with what it discloses, so that serving it from memory is audited like serving it fresh. */
  lookup(escn: string, day: string): CachedStatus | undefined {
    const entry = this.#entries.get(escn);
    if (!entry) {
      this.#misses++;
      return undefined;
    }
    if (entry.day !== day) {
      this.#misses++;
      this.#entries.delete(escn);
      return undefined;
    }
    this.#hits++;
    // Move the entry to the most recently used end, so that eviction takes the least recently used one.
    this.#entries.delete(escn);
    this.#entries.set(escn, entry);
    return entry;
  }

  /** A mark to pass to {@link set}; it stops being current at the next invalidation. */
  ticket(): number {
    return this.#epoch;
  }

  /** `disclosedPersonId`: the holder, when the answer shows personal data (displayName); null otherwise. */
  set(
    escn: string,
    day: string,
    body: string,
    ticket: number,
    disclosedPersonId: number | null = null,
  ): void {
    if (this.#capacity === 0 || ticket !== this.#epoch) return;
    this.#entries.delete(escn);
    this.#entries.set(escn, { day, body, disclosedPersonId });
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  invalidate(escn: string): void {
    this.#epoch++;
    this.#entries.delete(escn);
  }

  /** After an issuer changes its name or display choice, every answer may be stale. */
  clear(): void {
    this.#epoch++;
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  get stats(): StatusCacheStats {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size, capacity: this.#capacity };
  }
}
