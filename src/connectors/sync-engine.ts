import { InvalidValueError, NotFoundError } from "../domain/errors.ts";
import type { Organisation } from "../domain/organisation.ts";
import type { ServiceContext } from "../services/service-context.ts";
import { today } from "../services/today.ts";
import type { Source } from "./source-record.ts";
import type { SyncOptions } from "./sync-options.ts";
import type { SyncResult } from "./sync-report.ts";
import { SyncRun } from "./sync-run.ts";
import { previewWithdrawals, type WithdrawalRun, withdrawMissing } from "./withdrawals.ts";

export type { SyncOptions } from "./sync-options.ts";
export type { SyncResult, SyncSummary } from "./sync-report.ts";

export interface SyncEngineOptions {
  /** The issuing server's 3-digit prefix of generated ESCNs (`OPENESC_ESCN_PREFIX`). */
  readonly escnPrefix: string;
}

/**
 * Brings the hub's state for one organisation in line with a source: reads the source as a stream, in
 * batches of `batchSize` records, each compared with the store and written in one transaction with its
 * events and audit entries (only what differs: a source read twice writes nothing the second time).
 * A bad record is reported (row, field, reason) and the rest go on; a batch that fails as a whole is
 * retried record by record, so that one row the store refuses never costs the others.
 *
 * Only a run that read its source to the end withdraws: persons the connector saw before and not this
 * time become missing, and after `graceDays` their status is ended (`withdrawals.ts`). A run that dies
 * leaves the batches it committed and its record `running`; the next run compares afresh and completes
 * it. Two runs of one connector at once are safe (each batch re-reads what it changes, and missing means
 * "not seen since the run started"), but pointless.
 *
 * ```ts
 * const engine = new SyncEngine({ storage, clock, timeZone }, { escnPrefix: "001" });
 * const result = await engine.run("999888777", source, { connector: "import", onProblem });
 * ```
 */
export class SyncEngine {
  readonly #ctx: Pick<ServiceContext, "storage" | "clock" | "timeZone">;
  readonly #escnPrefix: string;

  constructor(ctx: Pick<ServiceContext, "storage" | "clock" | "timeZone">, options: SyncEngineOptions) {
    this.#ctx = ctx;
    this.#escnPrefix = options.escnPrefix;
  }

  /**
   * Runs `source` for the organisation. Rejects only before the run starts (an unknown organisation, one
   * that holds no students) or when its failure cannot even be recorded; otherwise resolves with the
   * run's state, summary and first problems.
   */
  async run(organisationId: string, source: Source, options: SyncOptions): Promise<SyncResult> {
    const organisation = await this.#organisation(organisationId);
    const batchSize = options.batchSize ?? 500;
    const graceDays = options.graceDays ?? 30;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new TypeError("batchSize must be a positive integer");
    if (!Number.isInteger(graceDays) || graceDays < 0)
      throw new TypeError("graceDays must be a whole number of days");
    const storage = this.#ctx.storage;
    const startedAt = this.#ctx.clock.now().toISOString();
    const dryRun = options.dryRun === true;
    const record = dryRun
      ? null
      : await storage.transaction((tx) =>
          tx.connectorRuns.start({
            connector: options.connector,
            organisationId,
            source: source.description,
            startedAt,
          }),
        );
    const run = new SyncRun(this.#ctx, {
      organisation,
      escnPrefix: this.#escnPrefix,
      record,
      options,
      batchSize,
    });
    try {
      const records = await run.readAll(source);
      const withdrawal: WithdrawalRun = {
        connector: options.connector,
        organisationId,
        startedAt,
        graceDays,
        batchSize,
      };
      // An empty or wholly unreadable source is far more likely a broken export than every student
      // leaving; a run where the store refused rows did not see them all.
      if (options.withdraw !== false && records > 0 && run.storeFailures === 0) {
        const now = this.#ctx.clock.now();
        const counts = dryRun
          ? await previewWithdrawals(storage, withdrawal, { has: (key) => run.met(key) }, now)
          : await withdrawMissing(storage, withdrawal, now, today(this.#ctx));
        run.tally.missing = counts.missing;
        run.tally.ended = counts.ended;
      }
      if (record) {
        const at = this.#ctx.clock.now().toISOString();
        await storage.transaction((tx) =>
          tx.connectorRuns.finish(record.id, "completed", run.tally.summary(), at, null),
        );
      }
      options.onProgress?.(run.tally.summary());
      return run.result("completed", null);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (record) {
        const at = this.#ctx.clock.now().toISOString();
        // When the store is what failed, this fails too: the run then stays `running`, as after a crash.
        await storage
          .transaction((tx) =>
            tx.connectorRuns.finish(record.id, "failed", run.tally.summary(), at, message.slice(0, 1000)),
          )
          .catch(() => undefined);
      }
      return run.result("failed", message);
    }
  }

  async #organisation(id: string): Promise<Organisation> {
    const organisation = await this.#ctx.storage.read.organisations.findById(id);
    if (!organisation)
      throw new NotFoundError("ORGANISATION_NOT_FOUND", `no organisation ${id} is registered`);
    if (organisation.kind !== "institution" && organisation.kind !== "student-service") {
      throw new InvalidValueError(
        "VALIDATION_FAILED",
        "organisation",
        `must be an institution or a student-service organisation, not a ${organisation.kind}`,
      );
    }
    return organisation;
  }
}
