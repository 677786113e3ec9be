import type { Escn } from "../domain/escn.ts";
import type { DomainEvent } from "../domain/events.ts";
import { addDays, type IsoDate, isoDateOf } from "../domain/iso-date.ts";
import type { StudentStatus } from "../domain/student-status.ts";
import type { Pseudonymisation, Repositories } from "../ports/storage.ts";
import type { LeaderLock } from "./leader-lock.ts";
import { cardDeletedEvent, erasedPseudonym, personUnlinkedEvent } from "./person-removal.ts";
import type { ServiceContext } from "./service-context.ts";

/** The documented retention periods (docs/privacy.md, "Retention"; set in docs/configuration.md). */
export interface RetentionPeriods {
  /**
   * Days a card is kept after its expiry, and a link with its status after the status ended (when the
   * organisation holds no card of that person any more).
   */
  readonly retentionDays: number;
  /** Days a withdrawn consent is kept as proof of what was agreed and withdrawn. */
  readonly consentProofDays: number;
  /** Days an audit entry is kept. */
  readonly auditRetentionDays: number;
  /**
   * Days a delivered webhook delivery is kept for its subscriber to see, and a mirror job that left the ESC
   * Router holding nothing (a removal) or was refused, for the organisation's report.
   */
  readonly deliveryRetentionDays: number;
}

/** What one run purged. */
export interface RetentionReport {
  /** False when another process holds the lease: this run purged nothing. */
  readonly ran: boolean;
  readonly cardsDeleted: number;
  readonly statusesDeleted: number;
  readonly linksDeleted: number;
  readonly personsDeleted: number;
  readonly consentsPurged: number;
  readonly deliveriesPurged: number;
  readonly auditEntriesPurged: number;
  /** Records of issued credentials past their expiry (the credential no longer verifies anyway). */
  readonly credentialsPurged: number;
  /** Credential offers and nonces past their expiry. */
  readonly credentialOffersPurged: number;
  /** Mirror jobs past their period, or of organisations no longer mirrored. */
  readonly mirrorJobsPurged: number;
}

/** Where a scheduled run reports (a pino logger fits). */
export interface RetentionLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface RetentionJobOptions {
  readonly periods: RetentionPeriods;
  /** The lease "retention": only its holder purges. */
  readonly lock: LeaderLock;
  /** Told of deleted cards, so that answers kept in memory (the public status) are dropped. */
  readonly onCardsDeleted?: (escns: readonly Escn[]) => void;
  /** Rows removed per transaction, so that a large purge never holds the store for long. */
  readonly batchSize?: number;
  /** Organisations with a mirror to an ESC Router: the jobs of any other are purged (default none). */
  readonly mirroredOrganisations?: readonly string[];
}

const MS_PER_DAY = 86_400_000;

/** The lease was lost mid-run (taken over after it lapsed): stop writing. */
class LeaseLost extends Error {}

type Counts = { -readonly [K in Exclude<keyof RetentionReport, "ran">]: number };

/**
 * Purges what is past its documented period, in this order:
 *
 * 1. cards `retentionDays` after their expiry (`expiresAt` before today minus the period);
 * 2. a student status and its organisation's link `retentionDays` after the status ended (state `ended`,
 *    dated by when it was recorded unless `validUntil` is earlier, or `validUntil` passed), when the
 *    organisation holds no card of that person any more; a person left without links goes with its
 *    consents;
 * 3. withdrawn consents `consentProofDays` after their withdrawal;
 * 4. audit entries older than `auditRetentionDays`, moving the chain's anchor so the rest still verifies;
 * 5. mirror jobs that left the router holding nothing, or were refused, `deliveryRetentionDays` after,
 *    and every job of an organisation no longer mirrored.
 *
 * Each removal writes its events (`card.deleted`, `person.unlinked`) like any change, and the ESI in the
 * events of a removed link (of every event, once the person is gone) is replaced by its pseudonym, as an
 * erasure does. Only the holder of the lease "retention" runs: every batch renews it in its own
 * transaction, so two processes never purge at once. After a run the store is scrubbed.
 */
export class RetentionJob {
  readonly #ctx: Pick<ServiceContext, "storage" | "clock" | "timeZone">;
  readonly #options: RetentionJobOptions;
  readonly #batch: number;
  #running: Promise<RetentionReport> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #log: RetentionLog | undefined;

  constructor(ctx: Pick<ServiceContext, "storage" | "clock" | "timeZone">, options: RetentionJobOptions) {
    this.#ctx = ctx;
    this.#options = options;
    this.#batch = options.batchSize ?? 500;
  }

  /** One run now, unless one of this process is already under way (then its report). */
  runOnce(): Promise<RetentionReport> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Runs now and then every `intervalMs`, until {@link stop}; each run that purged is reported to `log`. */
  start(intervalMs: number, log?: RetentionLog): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#log = log;
    const schedule = (delay: number) => {
      this.#timer = setTimeout(async () => {
        try {
          const report = await this.runOnce();
          const { ran, ...purged } = report;
          if (ran && Object.values(purged).some((n) => n > 0)) {
            this.#log?.info({ retention: purged }, "retention run");
          }
        } catch (error) {
          this.#log?.error({ err: error }, "retention run failed; the next run tries again");
        }
        if (!this.#stopped) schedule(intervalMs);
      }, delay);
      this.#timer.unref();
    };
    schedule(0);
  }

  /** Stops the schedule, lets a run under way finish its current batch, and gives the lease up. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
    await this.#options.lock.release().catch(() => undefined);
  }

  async #run(): Promise<RetentionReport> {
    const counts: Counts = {
      cardsDeleted: 0,
      statusesDeleted: 0,
      linksDeleted: 0,
      personsDeleted: 0,
      consentsPurged: 0,
      deliveriesPurged: 0,
      auditEntriesPurged: 0,
      credentialsPurged: 0,
      credentialOffersPurged: 0,
      mirrorJobsPurged: 0,
    };
    if (this.#stopped || !(await this.#options.lock.acquire())) return { ran: false, ...counts };
    const now = this.#ctx.clock.now();
    const at = now.toISOString();
    const { retentionDays, consentProofDays, auditRetentionDays, deliveryRetentionDays } =
      this.#options.periods;
    const cutoff = addDays(isoDateOf(now, this.#ctx.timeZone), -retentionDays);
    try {
      await this.#purgeCards(cutoff, at, counts);
      await this.#purgeStatusesAndLinks(cutoff, at, counts);
      await this.#purgeUnlinkedPersons(counts);
      const consentsBefore = new Date(now.getTime() - consentProofDays * MS_PER_DAY).toISOString();
      counts.consentsPurged += await this.#step((tx) => tx.consents.purgeWithdrawnBefore(consentsBefore));
      const deliveredBefore = new Date(now.getTime() - deliveryRetentionDays * MS_PER_DAY).toISOString();
      counts.deliveriesPurged += await this.#step((tx) =>
        tx.deliveries.purgeDeliveredBefore(deliveredBefore),
      );
      counts.credentialsPurged += await this.#step((tx) => tx.credentials.purgeExpiredBefore(at));
      counts.credentialOffersPurged += await this.#step(async (tx) => {
        await tx.nonces.purgeExpiredBefore(at);
        return tx.credentialOffers.purgeExpiredBefore(at);
      });
      counts.mirrorJobsPurged += await this.#step(
        async (tx) =>
          (await tx.mirrorJobs.purgeSettledBefore(deliveredBefore)) +
          (await tx.mirrorJobs.purgeUnmirrored(this.#options.mirroredOrganisations ?? [])),
      );
      const auditBefore = new Date(now.getTime() - auditRetentionDays * MS_PER_DAY).toISOString();
      counts.auditEntriesPurged += await this.#step(async (tx) => {
        const last = await tx.audit.lastSeqBefore(auditBefore);
        return last > (await tx.audit.anchor()).seq ? tx.audit.purgeThrough(last) : 0;
      });
    } catch (error) {
      if (!(error instanceof LeaseLost)) throw error;
      this.#log?.error({ retention: counts }, "retention lease lost mid-run; stopped");
    }
    await this.#ctx.storage.scrub();
    return { ran: true, ...counts };
  }

  async #purgeCards(cutoff: IsoDate, at: string, counts: Counts): Promise<void> {
    while (!this.#stopped) {
      const due = await this.#ctx.storage.read.cards.listExpiredBefore(cutoff, this.#batch);
      if (due.length === 0) return;
      const deleted = await this.#step(async (tx) => {
        const escns: Escn[] = [];
        const events: DomainEvent[] = [];
        for (const candidate of due) {
          const card = await tx.cards.findByEscn(candidate.escn);
          if (!card || card.expiresAt >= cutoff) continue;
          await tx.cards.delete(card.escn);
          escns.push(card.escn);
          events.push(cardDeletedEvent(card, at));
        }
        await tx.outbox.append(events);
        return escns;
      });
      if (deleted.length > 0) this.#options.onCardsDeleted?.(deleted);
      counts.cardsDeleted += deleted.length;
      if (due.length < this.#batch || deleted.length === 0) return;
    }
  }

  async #purgeStatusesAndLinks(cutoff: IsoDate, at: string, counts: Counts): Promise<void> {
    let after = 0;
    while (!this.#stopped) {
      const page = await this.#ctx.storage.read.statuses.listEndedCandidates(cutoff, {
        after,
        limit: this.#batch,
      });
      const due = page.items.filter((s) => this.#endedBefore(s, cutoff));
      if (due.length > 0) {
        const removed = await this.#step(async (tx) => {
          const events: DomainEvent[] = [];
          const pseudonymise: Pseudonymisation[] = [];
          const done = { statusesDeleted: 0, linksDeleted: 0, personsDeleted: 0 };
          for (const candidate of due) {
            const { personId, organisationId } = candidate;
            const status = await tx.statuses.find(personId, organisationId);
            if (!status || !this.#endedBefore(status, cutoff)) continue;
            // The organisation still holds a card of that person: the card's own period decides.
            if ((await tx.cards.countForPerson(personId, [organisationId])) > 0) continue;
            await tx.statuses.delete(personId, organisationId);
            done.statusesDeleted++;
            const key = storedEsiKey(status.esi);
            let audience: string[] | null = [organisationId];
            if (await tx.persons.findLink(personId, organisationId)) {
              await tx.persons.deleteLink(personId, organisationId);
              events.push(personUnlinkedEvent(status.esi, organisationId, at));
              done.linksDeleted++;
            }
            if (await deletePersonIfUnheld(tx, personId)) {
              done.personsDeleted++;
              audience = null;
            }
            pseudonymise.push({ key, pseudonym: erasedPseudonym(key), audience });
          }
          await tx.outbox.append(events);
          await tx.outbox.pseudonymise(pseudonymise);
          return done;
        });
        counts.statusesDeleted += removed.statusesDeleted;
        counts.linksDeleted += removed.linksDeleted;
        counts.personsDeleted += removed.personsDeleted;
      }
      if (page.next === null) return;
      after = page.next;
    }
  }

  /** Persons no organisation holds any more (left over by other removals): gone with their consents. */
  async #purgeUnlinkedPersons(counts: Counts): Promise<void> {
    while (!this.#stopped) {
      const unheld = await this.#ctx.storage.read.persons.listUnlinked(this.#batch);
      if (unheld.length === 0) return;
      const deleted = await this.#step(async (tx) => {
        const pseudonymise: Pseudonymisation[] = [];
        for (const person of unheld) {
          if (!(await deletePersonIfUnheld(tx, person.id))) continue;
          pseudonymise.push({
            key: person.esiKey,
            pseudonym: erasedPseudonym(person.esiKey),
            audience: null,
          });
        }
        await tx.outbox.pseudonymise(pseudonymise);
        return pseudonymise.length;
      });
      counts.personsDeleted += deleted;
      if (unheld.length < this.#batch || deleted === 0) return;
    }
  }

  /** One batch in its own transaction, written only while this process still holds the lease. */
  #step<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    return this.#ctx.storage.transaction(async (tx) => {
      if (!(await this.#options.lock.holdsIn(tx))) throw new LeaseLost("the retention lease was lost");
      return work(tx);
    });
  }

  /** Whether the status ended before `cutoff` (see the class comment for when a status ends). */
  #endedBefore(status: StudentStatus, cutoff: IsoDate): boolean {
    const ended = endedOn(status, this.#ctx.timeZone);
    return ended !== null && ended < cutoff;
  }
}

/**
 * The last day a status held, or null while it holds: `validUntil` once passed, and for the state `ended`
 * the day it was recorded as ended (its last change) unless `validUntil` is earlier.
 */
export function endedOn(
  status: Pick<StudentStatus, "state" | "validUntil" | "updatedAt">,
  timeZone: string,
): IsoDate | null {
  const recorded = status.state === "ended" ? isoDateOf(new Date(status.updatedAt), timeZone) : null;
  if (status.validUntil !== null && (recorded === null || status.validUntil < recorded)) {
    return status.validUntil;
  }
  return recorded;
}

/** Deletes the person with its consents when nothing (link, status, card) refers to it any more. */
async function deletePersonIfUnheld(tx: Repositories, personId: number): Promise<boolean> {
  if ((await tx.persons.links(personId)).length > 0) return false;
  if ((await tx.statuses.listForPerson(personId)).length > 0) return false;
  if ((await tx.cards.listForPerson(personId)).length > 0) return false;
  await tx.consents.deleteForPerson(personId);
  await tx.persons.delete(personId);
  return true;
}

/** The matching key of a stored ESI: its value in lower case (see `esi.ts`). */
function storedEsiKey(esi: string): string {
  return esi.toLowerCase();
}
