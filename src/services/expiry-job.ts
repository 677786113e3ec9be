import { studentStatusEvent } from "../domain/event-builders.ts";
import type { DomainEvent } from "../domain/events.ts";
import { addDays, type IsoDate } from "../domain/iso-date.ts";
import type { KeysetPage } from "../ports/storage.ts";
import { cardEvent } from "./card-service.ts";
import type { LeaderLock } from "./leader-lock.ts";
import type { ServiceContext } from "./service-context.ts";
import { today } from "./today.ts";

/** The expiry job's progress, kept in the store so that a run cut short resumes where it stopped. */
export const EXPIRY_CURSOR = "expiry";

interface ExpiryProgress {
  /** Every card and status whose validity ended on or before this day has been announced. */
  readonly through: IsoDate;
  /**
   * Within the current run: the last day it announces. A run cut short and resumed on a later day finishes
   * this range first, since its keyset position means nothing for a wider one (cards behind it that expired
   * since would be skipped).
   */
  readonly until?: IsoDate;
  /** Within the current run: which kind is being announced, and after which keyset position. */
  readonly phase: "cards" | "statuses";
  readonly after: number;
}

/** The lease was lost mid-run (taken over after it lapsed): stop writing. */
export class ExpiryLeaseLost extends Error {}

export interface ExpiryReport {
  readonly ran: boolean;
  readonly cardsExpired: number;
  readonly statusesExpired: number;
}

/**
 * Time-driven changes are changes too: the day after a card's `expiresAt` it is expired, the day after a
 * status's `validUntil` the student no longer holds it, and subscribers must hear of it like of any other
 * change. Nothing is written to the card or the status (their state follows from the date); the job only
 * emits `card.expired` and `student-status.expired`, once each, in batches that commit with their
 * progress, so a crash mid-run neither repeats nor skips one. One process at a time runs it (the lease
 * "expiry"). On its first run on a store it starts from today: what expired before is not announced.
 */
export class ExpiryJob {
  readonly #ctx: Pick<ServiceContext, "storage" | "clock" | "timeZone">;
  readonly #lock: LeaderLock;
  readonly #batch: number;
  readonly #onEvents: () => void;

  constructor(
    ctx: Pick<ServiceContext, "storage" | "clock" | "timeZone">,
    options: { lock: LeaderLock; batchSize?: number; onEvents?: () => void },
  ) {
    this.#ctx = ctx;
    this.#lock = options.lock;
    this.#batch = options.batchSize ?? 500;
    this.#onEvents = options.onEvents ?? (() => undefined);
  }

  async runOnce(): Promise<ExpiryReport> {
    let cardsExpired = 0;
    let statusesExpired = 0;
    if (!(await this.#lock.acquire())) return { ran: false, cardsExpired, statusesExpired };
    // A validity that ended yesterday (the last valid day) is over today.
    const target = addDays(today(this.#ctx), -1);
    const storage = this.#ctx.storage;
    for (;;) {
      const step = await storage.transaction(async (tx) => {
        if (!(await this.#lock.holdsIn(tx))) throw new ExpiryLeaseLost();
        const raw = await tx.cursors.get(EXPIRY_CURSOR);
        if (raw === undefined) {
          await tx.cursors.set(EXPIRY_CURSOR, JSON.stringify({ through: target, phase: "cards", after: 0 }));
          return { done: true, cards: 0, statuses: 0 };
        }
        const progress = JSON.parse(raw) as ExpiryProgress;
        if (progress.until === undefined && progress.through >= target) {
          return { done: true, cards: 0, statuses: 0 };
        }
        const until = progress.until ?? target;
        const from = addDays(progress.through, 1);
        const page: KeysetPage = { after: progress.after, limit: this.#batch };
        const at = this.#ctx.clock.now().toISOString();
        const events: DomainEvent[] = [];
        let next: number | null;
        if (progress.phase === "cards") {
          const cards = await tx.cards.listExpiringBetween(from, until, page);
          for (const card of cards.items) events.push(cardEvent("card.expired", card, at));
          next = cards.next;
        } else {
          const statuses = await tx.statuses.listEndingBetween(from, until, page);
          for (const status of statuses.items) {
            if (status.state === "ended") continue; // already announced as ended
            events.push(studentStatusEvent("student-status.expired", status, at));
          }
          next = statuses.next;
        }
        if (events.length > 0) await tx.outbox.append(events);
        const cards = progress.phase === "cards" ? events.length : 0;
        const statuses = events.length - cards;
        let after: ExpiryProgress;
        if (next !== null) after = { ...progress, until, after: next };
        else if (progress.phase === "cards") after = { ...progress, until, phase: "statuses", after: 0 };
        else after = { through: until, phase: "cards", after: 0 };
        await tx.cursors.set(EXPIRY_CURSOR, JSON.stringify(after));
        return { done: after.until === undefined && after.through >= target, cards, statuses };
      });
      cardsExpired += step.cards;
      statusesExpired += step.statuses;
      if (step.cards + step.statuses > 0) this.#onEvents();
      if (step.done) break;
    }
    return { ran: true, cardsExpired, statusesExpired };
  }

  release(): Promise<void> {
    return this.#lock.release();
  }
}
