/**
 * The keys a run has met (ESI keys, ESCNs), each with the row it was first met on, to tell a duplicate
 * within one source from a record seen in an earlier run.
 *
 * Kept as 64-bit fingerprints in typed arrays, not as strings in a Map: about 26 bytes per key instead of
 * a hundred and more, so that a million-row source needs tens of megabytes, not hundreds (rows take 4
 * bytes each while they are whole numbers below 2^32, else 8). Two different keys share a fingerprint with
 * odds of about one in 3·10^7 for a million keys; the cost of that is one good row reported as a
 * duplicate, never a wrong write.
 */
export class RunKeys {
  #mask = 1023;
  #size = 0;
  #hi = new Uint32Array(1024);
  #lo = new Uint32Array(1024);
  #rows: Uint32Array | Float64Array = new Uint32Array(1024);
  #used = new Uint8Array(1024);

  /** How many distinct keys were met. */
  get size(): number {
    return this.#size;
  }

  /** Records `key` as met on `row`; when it was met before, returns that first row and records nothing. */
  claim(key: string, row: number): number | undefined {
    fingerprint(key);
    const slot = this.#find(hashHi, hashLo);
    if (this.#used[slot] === 1) return this.#rows[slot];
    this.#hi[slot] = hashHi;
    this.#lo[slot] = hashLo;
    // A row a 32-bit unsigned integer cannot hold (past 2^32 - 1, or not a whole number) widens them all.
    if (row >>> 0 !== row && this.#rows instanceof Uint32Array) this.#rows = Float64Array.from(this.#rows);
    this.#rows[slot] = row;
    this.#used[slot] = 1;
    if (++this.#size * 2 > this.#mask + 1) this.#grow();
    return undefined;
  }

  has(key: string): boolean {
    fingerprint(key);
    return this.#used[this.#find(hashHi, hashLo)] === 1;
  }

  /** The slot holding the fingerprint, or the empty slot where it belongs (linear probing). */
  #find(hi: number, lo: number): number {
    let slot = lo & this.#mask;
    while (this.#used[slot] === 1 && (this.#hi[slot] !== hi || this.#lo[slot] !== lo)) {
      slot = (slot + 1) & this.#mask;
    }
    return slot;
  }

  #grow(): void {
    const { hi, lo, rows, used } = { hi: this.#hi, lo: this.#lo, rows: this.#rows, used: this.#used };
    const capacity = (this.#mask + 1) * 2;
    this.#mask = capacity - 1;
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint32Array(capacity);
    this.#rows = rows instanceof Uint32Array ? new Uint32Array(capacity) : new Float64Array(capacity);
    this.#used = new Uint8Array(capacity);
    for (let i = 0; i < used.length; i++) {
      if (used[i] !== 1) continue;
      const slot = this.#find(hi[i] ?? 0, lo[i] ?? 0);
      this.#hi[slot] = hi[i] ?? 0;
      this.#lo[slot] = lo[i] ?? 0;
      this.#rows[slot] = rows[i] ?? 0;
      this.#used[slot] = 1;
    }
  }
}

// The last fingerprint, in two module variables rather than a fresh array per call.
let hashHi = 0;
let hashLo = 0;

/** Two 32-bit halves of a 64-bit string hash (the mixing of cyrb53, both lanes kept). */
function fingerprint(key: string): void {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  hashHi = h1 >>> 0;
  hashLo = h2 >>> 0;
}
