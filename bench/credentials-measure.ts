/**
 * What the credentials benchmark measures with: operations timed in alternating slices against their
 * ceiling (so that other work on the machine weighs on both alike), percentiles, and the raw `node:crypto`
 * ES256 operations the ceilings are made of.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";

/** How many operations ran in how much time, pooled over the slices. */
export interface Rate {
  readonly operations: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/** An operation to count: synchronous, or a promise awaited before the next one starts. */
export type Operation = () => unknown;

/**
 * Runs `subject` and `ceiling` in turn, `slices` times each for `sliceMs`, one operation at a time, and
 * pools each side's operations and time. `warmupMs` of each comes first and is not counted.
 */
export async function alternate(
  subject: Operation,
  ceiling: Operation,
  options: { slices: number; sliceMs: number; warmupMs: number },
): Promise<{ subject: Rate; ceiling: Rate }> {
  await slice(subject, options.warmupMs);
  await slice(ceiling, options.warmupMs);
  const pooled = { subject: { operations: 0, ms: 0 }, ceiling: { operations: 0, ms: 0 } };
  for (let i = 0; i < options.slices; i++) {
    // Which side goes first changes every slice, so that neither always follows a collection of the other.
    const order = i % 2 === 0 ? (["subject", "ceiling"] as const) : (["ceiling", "subject"] as const);
    for (const side of order) {
      const done = await slice(side === "subject" ? subject : ceiling, options.sliceMs);
      pooled[side].operations += done.operations;
      pooled[side].ms += done.ms;
    }
  }
  return { subject: rateOf(pooled.subject), ceiling: rateOf(pooled.ceiling) };
}

/**
 * {@link alternate} for a subject that can run only so many times (each operation uses up something made
 * beforehand): `perSlice` operations of the subject, then the ceiling for as long as they took, in turn,
 * `slices` times. `warmup` operations of the subject come first, and the ceiling for as long, not counted.
 */
export async function alternateCounted(
  subject: Operation,
  ceiling: Operation,
  options: { slices: number; perSlice: number; warmup: number },
): Promise<{ subject: Rate; ceiling: Rate }> {
  let lastMs = (await counted(subject, options.warmup)).ms;
  await slice(ceiling, lastMs);
  const pooled = { subject: { operations: 0, ms: 0 }, ceiling: { operations: 0, ms: 0 } };
  const add = (side: "subject" | "ceiling", done: { operations: number; ms: number }) => {
    pooled[side].operations += done.operations;
    pooled[side].ms += done.ms;
  };
  for (let i = 0; i < options.slices; i++) {
    // As in `alternate`, the order changes every slice; going first, the ceiling runs as long as the
    // subject's last slice took.
    if (i % 2 === 1) add("ceiling", await slice(ceiling, lastMs));
    const done = await counted(subject, options.perSlice);
    add("subject", done);
    lastMs = done.ms;
    if (i % 2 === 0) add("ceiling", await slice(ceiling, lastMs));
  }
  return { subject: rateOf(pooled.subject), ceiling: rateOf(pooled.ceiling) };
}

const rateOf = (p: { operations: number; ms: number }): Rate => ({
  operations: p.operations,
  seconds: p.ms / 1000,
  perSecond: p.operations / (p.ms / 1000),
});

/** Runs the operation `operations` times, one at a time; returns how long that took. */
async function counted(
  operation: Operation,
  operations: number,
): Promise<{ operations: number; ms: number }> {
  const start = performance.now();
  for (let i = 0; i < operations; i++) {
    const result = operation();
    if (result instanceof Promise) await result;
  }
  return { operations, ms: performance.now() - start };
}

/** Runs the operation until `ms` have passed (at least once); returns how often and how long. */
async function slice(operation: Operation, ms: number): Promise<{ operations: number; ms: number }> {
  const start = performance.now();
  let operations = 0;
  let now = start;
  do {
    const result = operation();
    if (result instanceof Promise) await result;
    operations++;
    now = performance.now();
  } while (now - start < ms);
  return { operations, ms: now - start };
}

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function percentiles(values: readonly number[]): Percentiles {
  return { p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) };
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** A P-256 key pair for the raw ceilings. */
export function rawKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "P-256" });
}

/**
 * A JWS signing input (`header.payload`, ASCII) of exactly `length` bytes: what an ES256 signature
 * covers. Filled with base64url characters, so that it hashes like a real one.
 */
export function signingInputOf(length: number, seed: string): Buffer {
  const chunks: string[] = [];
  let made = 0;
  for (let i = 0; made < length; i++) {
    const chunk = createHash("sha256").update(`${seed} ${i}`).digest("base64url");
    chunks.push(chunk);
    made += chunk.length;
  }
  const text = chunks.join("").slice(0, length);
  const dot = Math.min(40, Math.floor(length / 2));
  return Buffer.from(`${text.slice(0, dot)}.${text.slice(dot + 1)}`, "ascii");
}

/** Raw ES256: SHA-256 and ECDSA P-256 over `input`, the signature in JWS form (r ‖ s). */
export function rawSign(input: Buffer, key: KeyObject): Buffer {
  return sign("sha256", input, { key, dsaEncoding: "ieee-p1363" });
}

export function rawVerify(input: Buffer, key: KeyObject, signature: Buffer): boolean {
  return verify("sha256", input, { key, dsaEncoding: "ieee-p1363" }, signature);
}

/** The part of a compact JWS its signature covers, and the signature's length. */
export function signedPartOf(jws: string): { signingInputBytes: number; signature: string } {
  const lastDot = jws.lastIndexOf(".");
  return { signingInputBytes: Buffer.byteLength(jws.slice(0, lastDot)), signature: jws.slice(lastDot + 1) };
}
