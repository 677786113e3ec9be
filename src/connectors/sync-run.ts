import { isOpenEscError } from "../domain/errors.ts";
import { type Escn, generateEscns } from "../domain/escn.ts";
import { parseEsi } from "../domain/esi.ts";
import { issuesCards, type Organisation } from "../domain/organisation.ts";
import { isPic } from "../domain/pic.ts";
import type { ConnectorRun } from "../ports/storage.ts";
import type { ServiceContext } from "../services/service-context.ts";
import { applyBatch, StaleBatchError } from "./apply-batch.ts";
import {
  type BatchEntry,
  BatchState,
  type DiffContext,
  diffRecord,
  type RecordPlan,
  type RefusedRecord,
} from "./record-diff.ts";
import { RunKeys } from "./run-keys.ts";
import type { RecordProblem, Source, SourceRecord } from "./source-record.ts";
import type { SyncOptions } from "./sync-options.ts";
import { type SyncResult, SyncTally } from "./sync-report.ts";

/** Rounds of a batch that lost a race with another writer before it counts as failed. */
const BATCH_ATTEMPTS = 3;

export interface SyncRunSettings {
  readonly organisation: Organisation;
  readonly escnPrefix: string;
  /** The run's record; null for a dry run. */
  readonly record: ConnectorRun | null;
  readonly options: SyncOptions;
  readonly batchSize: number;
}

/**
 * One run of the sync engine: reads its source in batches, compares and writes each, and keeps its counts
 * and the keys it met. `SyncEngine.run` makes one per run and does what comes before and after.
 */
export class SyncRun {
  readonly tally: SyncTally;
  /** ESI keys of every record read (duplicates, and who was seen, for a dry run's withdrawals). */
  readonly esiKeys = new RunKeys();
  readonly #escns = new RunKeys();
  /** ESI keys of rows refused for another field: still in the source (see {@link #protect}). */
  readonly #protected = new RunKeys();
  /** Those not yet renewed in the store. */
  #protectedKeys: string[] = [];
  readonly #ctx: Pick<ServiceContext, "storage" | "clock" | "timeZone">;
  readonly #settings: SyncRunSettings;
  readonly #organisationId: string;
  /** Records the store refused even alone: the run did not take in everything it read. */
  storeFailures = 0;
  #lastProgress = 0;

  constructor(ctx: Pick<ServiceContext, "storage" | "clock" | "timeZone">, settings: SyncRunSettings) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.#organisationId = settings.organisation.id;
    this.tally = new SyncTally(settings.options.problemLimit ?? 1000);
  }

  /** Reads the source to its end, batch by batch; returns how many records (not problems) it held. */
  async readAll(source: Source): Promise<number> {
    let batch: BatchEntry[] = [];
    let records = 0;
    for await (const item of source.items()) {
      this.tally.rows++;
      if ("problem" in item) {
        await this.#reject(item.problem);
        this.#protect(item.problem);
      } else {
        records++;
        batch.push(this.#admit(item.record));
        if (batch.length >= this.#settings.batchSize) {
          await this.#flush(batch);
          batch = [];
        }
      }
      if (this.tally.rows - this.#lastProgress >= this.#settings.batchSize) {
        this.#lastProgress = this.tally.rows;
        this.#settings.options.onProgress?.(this.tally.summary());
      }
    }
    if (batch.length > 0 || this.#protectedKeys.length > 0) await this.#flush(batch);
    return records;
  }

  /** Whether the run met this ESI key in its source: in a record, or in a row refused for another field. */
  met(esiKey: string): boolean {
    return this.esiKeys.has(esiKey) || this.#protected.has(esiKey);
  }

  result(state: SyncResult["state"], error: string | null): SyncResult {
    return {
      runId: this.#settings.record?.id ?? null,
      dryRun: this.#settings.record === null,
      state,
      summary: this.tally.summary(),
      problems: this.tally.problems,
      error,
    };
  }

  /**
   * A student whose row was refused for another field than the ESI is still in the source: their presence
   * is renewed with the next batch, so that no sync withdraws them for a typo elsewhere in their row.
   */
  #protect(problem: RecordProblem): void {
    if (problem.esi === undefined) return;
    try {
      const key = parseEsi(problem.esi, "esi").key;
      this.#protected.claim(key, problem.origin.row);
      this.#protectedKeys.push(key);
    } catch {
      // An ESI a source accepted but the engine does not: nothing to protect.
    }
  }

  /** A record's ESI read, and duplicates of an ESI or an ESCN earlier in the run refused. */
  #admit(record: SourceRecord): BatchEntry {
    let esi: string;
    let esiKey: string;
    try {
      ({ value: esi, key: esiKey } = parseEsi(record.person.esi, "esi"));
    } catch (error) {
      if (!isOpenEscError(error)) throw error;
      return refused(record, record.person.esi, "", "esi", error.issues[0]?.reason ?? error.message);
    }
    const first = this.esiKeys.claim(esiKey, record.origin.row);
    if (first !== undefined) return refused(record, esi, esiKey, "esi", `duplicate of row ${first}`);
    const escn = record.card?.escn;
    if (escn) {
      const firstCard = this.#escns.claim(escn, record.origin.row);
      if (firstCard !== undefined) {
        return refused(record, esi, esiKey, "escn", `duplicate of row ${firstCard}`);
      }
    }
    return { record, esi, esiKey, problem: null };
  }

  /**
   * Compares and writes one batch. A batch the store refuses as a whole is written again record by
   * record: the record it refuses alone is reported, the others are kept. A store that is unavailable
   * fails the run.
   */
  async #flush(entries: readonly BatchEntry[]): Promise<void> {
    try {
      await this.#commit(entries);
    } catch (error) {
      // A store that does not answer refuses every record alike: the run fails, to be run again.
      if (isOpenEscError(error) && error.kind === "unavailable") throw error;
      if (entries.length > 1) {
        for (const entry of entries) await this.#flush([entry]);
        return;
      }
      const entry = entries[0];
      if (!entry) return;
      this.storeFailures++;
      const reason = `could not be stored: ${error instanceof Error ? error.message : String(error)}`;
      await this.#reject({ origin: entry.record.origin, field: "", reason });
    }
  }

  async #commit(entries: readonly BatchEntry[]): Promise<void> {
    const storage = this.#ctx.storage;
    const protectedKeys = this.#protectedKeys.splice(0);
    const keys = [...entries.filter((e) => e.esiKey !== "").map((e) => e.esiKey), ...protectedKeys];
    const escns = entries.flatMap((e) =>
      e.problem === null && e.record.card?.escn ? [e.record.card.escn] : [],
    );
    const record = this.#settings.record;
    if (record === null) {
      const at = this.#ctx.clock.now().toISOString();
      const state = new BatchState(
        await storage.read.syncState.snapshot(this.#organisationId, keys, escns),
        this.#organisationId,
      );
      await this.#account(diffAll(entries, state, this.#diffContext(at, entries.length)));
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await storage.transaction(async (tx) => {
          const at = this.#ctx.clock.now().toISOString();
          const snapshot = await tx.syncState.snapshot(this.#organisationId, keys, escns);
          // The diff only reads the state: the protected keys below are looked up in the same one.
          const state = new BatchState(snapshot, this.#organisationId);
          const diffed = diffAll(entries, state, this.#diffContext(at, entries.length));
          const seen = [
            ...diffed.refused.flatMap((r) => (r.linkedPersonId === null ? [] : [r.linkedPersonId])),
            ...protectedKeys.flatMap((key) => {
              const id = state.linkedPersonId(key);
              return id === null ? [] : [id];
            }),
          ];
          const run = {
            id: record.id,
            connector: record.connector,
            organisationId: this.#organisationId,
            at,
            remembers: this.#settings.options.withdraw !== false,
            tokenId: this.#settings.options.tokenId ?? null,
          };
          await applyBatch(tx, diffed.plans, seen, run);
          const counts = this.tally.summaryWith(
            diffed.plans.map((p) => p.outcome),
            diffed.refused.length,
          );
          await tx.connectorRuns.recordCounts(record.id, counts);
          return diffed;
        });
        await this.#account(outcome);
        return;
      } catch (error) {
        const lostRace =
          error instanceof StaleBatchError || (isOpenEscError(error) && error.kind === "conflict");
        if (!lostRace || attempt >= BATCH_ATTEMPTS) throw error;
      }
    }
  }

  /** Counts a batch once it is final (committed, or compared in a dry run). */
  async #account(diffed: { plans: readonly RecordPlan[]; refused: readonly RefusedRecord[] }): Promise<void> {
    for (const plan of diffed.plans) this.tally.count(plan.outcome);
    for (const refused of diffed.refused) await this.#reject(refused.problem);
  }

  async #reject(problem: RecordProblem): Promise<void> {
    this.tally.reject(problem);
    await this.#settings.options.onProblem?.(problem);
  }

  #diffContext(at: string, size: number): DiffContext {
    const { organisation, escnPrefix } = this.#settings;
    const cardPic = issuesCards(organisation.kind) && isPic(organisation.id) ? organisation.id : null;
    // One draw of randomness for the batch's new card numbers, made when the first is needed.
    let pool: Escn[] = [];
    const newEscn = (): Escn => {
      if (cardPic === null) throw new TypeError("no card numbers for an organisation that issues no cards");
      if (pool.length === 0) pool = generateEscns(size, { prefix: escnPrefix, pic: cardPic });
      return pool.pop() as Escn;
    };
    return { organisationId: organisation.id, cardPic, newEscn, at };
  }
}

/** A record refused before the diff, for `field`. */
function refused(
  record: SourceRecord,
  esi: string,
  esiKey: string,
  field: string,
  reason: string,
): BatchEntry {
  return { record, esi, esiKey, problem: { origin: record.origin, field, reason } };
}

function diffAll(
  entries: readonly BatchEntry[],
  state: BatchState,
  ctx: DiffContext,
): { plans: RecordPlan[]; refused: RefusedRecord[] } {
  const plans: RecordPlan[] = [];
  const refused: RefusedRecord[] = [];
  for (const entry of entries) {
    const diffed = diffRecord(entry, state, ctx);
    if ("problem" in diffed) refused.push(diffed);
    else plans.push(diffed);
  }
  return { plans, refused };
}
