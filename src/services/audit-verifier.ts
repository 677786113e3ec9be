import { firstBrokenLink } from "../domain/audit-entry.ts";
import type { Storage } from "../ports/storage.ts";

export interface AuditVerification {
  /** Entries that checked out: all of them when the chain holds, those before the break otherwise. */
  readonly entries: number;
  /** Sequence numbers of the first and last entry checked; null when there was none. */
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  /** The first entry whose link or content does not match, and why; absent when the chain holds. */
  readonly broken?: { readonly seq: number; readonly reason: string };
}

export interface AuditVerifyOptions {
  /** Entries read per batch: memory stays flat however long the trail is. */
  readonly batchSize?: number;
}

/**
 * Checks the whole audit trail, from its anchor (the last purged entry, or the genesis hash) to its last
 * entry, reading it in batches. Each batch is checked against the last entry of the one before.
 *
 * What the chain cannot show by itself: entries removed from the end (the trail then simply looks
 * shorter), or a rewritten anchor. Comparing `lastSeq` with an earlier run's catches the first. A
 * retention purge that runs during the check moves the anchor under it and shows as a missing entry:
 * run the check again.
 *
 * ```ts
 * const result = await verifyAuditTrail(storage);
 * if (result.broken) console.log(`broken at #${result.broken.seq}: ${result.broken.reason}`);
 * ```
 */
export async function verifyAuditTrail(
  storage: Storage,
  options: AuditVerifyOptions = {},
): Promise<AuditVerification> {
  const batchSize = options.batchSize ?? 5000;
  const audit = storage.read.audit;
  const start = await audit.anchor();
  // An intact chain runs without a gap from start.seq + 1; so the counts follow from sequence numbers.
  const span = (lastSeq: number) =>
    lastSeq > start.seq
      ? { entries: lastSeq - start.seq, firstSeq: start.seq + 1, lastSeq }
      : { entries: 0, firstSeq: null, lastSeq: null };
  let anchor = start;
  for (;;) {
    const batch = await audit.readAfter(anchor.seq, batchSize);
    const broken = firstBrokenLink(batch, anchor);
    if (broken) return { ...span(broken.seq - 1), broken };
    const last = batch.at(-1);
    if (last) anchor = { seq: last.seq, hash: last.hash };
    if (batch.length < batchSize) return span(anchor.seq);
  }
}
