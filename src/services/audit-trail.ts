import type { AuditAction, AuditSubjectType, NewAuditEntry } from "../domain/audit-entry.ts";
import type { Purpose } from "../domain/purpose.ts";
import type { Clock } from "../ports/clock.ts";
import type { Repositories, Storage } from "../ports/storage.ts";
import type { Principal } from "./principal.ts";

/** What was accessed: a card by its ESCN, or a person's data by the person's internal number. */
export interface AuditSubject {
  readonly type: AuditSubjectType;
  readonly subject: string;
  readonly personId: number | null;
}

export interface AuditTrailOptions {
  /** Longest time a read waits in memory before it is written, in milliseconds. */
  readonly flushAfterMs?: number;
  /** A batch this large is written at once. */
  readonly flushAtEntries?: number;
}

/**
 * Records every read and write of personal data in the hash-chained audit trail.
 *
 * Writes are recorded inside the transaction of the change they describe ({@link recordIn}): the change
 * and its audit entry commit together. Reads are many and must stay cheap, so they are group-committed
 * ({@link recordRead}): kept in memory and written in one transaction per batch, at most `flushAfterMs`
 * later. A crash can lose the reads of that last moment, never a write's entry.
 *
 * ```ts
 * audit.recordRead(principal, "read", [{ type: "card", subject: escn, personId }]);
 * await storage.transaction(async (tx) => { …; await audit.recordIn(tx, principal, "update", subjects); });
 * ```
 */
export class AuditTrail {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #flushAfterMs: number;
  readonly #flushAtEntries: number;
  #pending: NewAuditEntry[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(storage: Storage, clock: Clock, options: AuditTrailOptions = {}) {
    this.#storage = storage;
    this.#clock = clock;
    this.#flushAfterMs = options.flushAfterMs ?? 25;
    this.#flushAtEntries = options.flushAtEntries ?? 500;
  }

  /** Appends entries for a change, in the change's own transaction. */
  async recordIn(
    tx: Repositories,
    principal: Principal,
    action: AuditAction,
    subjects: readonly AuditSubject[],
  ): Promise<void> {
    await tx.audit.append(this.#entries(principal, action, subjects));
  }

  /**
   * Appends entries for something done without a token (a wallet redeeming an offer), in that change's
   * transaction, under `purpose`.
   */
  async recordAnonymousIn(
    tx: Repositories,
    action: AuditAction,
    subjects: readonly AuditSubject[],
    purpose: Purpose,
  ): Promise<void> {
    await tx.audit.append(this.#entries(null, action, subjects, purpose));
  }

  /**
   * Queues entries for reads; they are written within `flushAfterMs`. `purpose` is the principal's by
   * default; an anonymous read (no principal) names its own, `public-verification` unless given.
   */
  recordRead(
    principal: Principal | null,
    action: AuditAction,
    subjects: readonly AuditSubject[],
    purpose?: Purpose,
  ): void {
    if (subjects.length === 0) return;
    this.#pending.push(...this.#entries(principal, action, subjects, purpose));
    if (this.#pending.length >= this.#flushAtEntries) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#flushAfterMs);
  }

  /** Writes whatever is queued; resolves when it is committed. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0) {
      this.#flushing = this.#flushing
        // A failed batch must not stop the ones after it: each starts from a settled chain.
        .catch(() => undefined)
        .then(() => this.#storage.transaction((tx) => tx.audit.append(batch)))
        .catch((error: unknown) => {
          // The store is unavailable: keep the entries and try again with the next batch.
          this.#pending.unshift(...batch);
          this.#timer ??= setTimeout(() => void this.flush(), this.#flushAfterMs * 20).unref();
          throw error;
        });
    }
    return this.#flushing.catch(() => undefined);
  }

  #entries(
    principal: Principal | null,
    action: AuditAction,
    subjects: readonly AuditSubject[],
    purpose?: Purpose,
  ): NewAuditEntry[] {
    const at = this.#clock.now().toISOString();
    return subjects.map((s) => ({
      at,
      organisationId: principal?.organisation.id ?? null,
      tokenId: principal?.tokenId ?? null,
      action,
      purpose: purpose ?? principal?.purpose ?? "public-verification",
      subjectType: s.type,
      subject: s.subject,
      personId: s.personId,
    }));
  }
}
