import type { NewAuditEntry } from "../domain/audit-entry.ts";
import type { Card } from "../domain/card.ts";
import type { DomainEvent } from "../domain/events.ts";
import type { Person, PersonLink } from "../domain/person.ts";
import type { StudentStatus } from "../domain/student-status.ts";
import type { Repositories } from "../ports/storage.ts";
import { cardEvent } from "../services/card-service.ts";
import type { RecordPlan } from "./record-diff.ts";
import { type AuditedChange, connectorAuditEntry, linkEvent, statusChangedEvent } from "./sync-events.ts";

/**
 * A row the batch read was changed by another writer before the batch wrote it (another process on a
 * shared store): the batch rolls back, and is read and compared again.
 */
export class StaleBatchError extends Error {
  constructor(what: string) {
    super(`${what} changed while the batch was written`);
    this.name = "StaleBatchError";
  }
}

/** Who applies the batch: the run, for the presence it records. */
export interface BatchRun {
  readonly id: number;
  readonly connector: string;
  readonly organisationId: string;
  readonly at: string;
  /** Whether the run remembers whom it found (false for an upload, which withdraws no one). */
  readonly remembers: boolean;
  /** The API token the run acts through, or null: its audit entries name it. */
  readonly tokenId: string | null;
}

/**
 * Writes what the plans of one batch change, in the caller's transaction: new persons, links, statuses
 * and cards in a few bulk statements, then the events and audit entries in record order, as the services
 * write them for the same changes. `seen` are the persons of refused records that the organisation holds:
 * they were in the source, so they are not missing.
 */
export async function applyBatch(
  tx: Repositories,
  plans: readonly RecordPlan[],
  seen: readonly number[],
  run: BatchRun,
): Promise<void> {
  const { at, organisationId } = run;
  const fresh = plans.filter((p) => p.person === null);
  const inserted = await tx.syncState.insertPersons(
    fresh.map((p) => ({ esi: p.entry.esi, esiKey: p.entry.esiKey, createdAt: at, updatedAt: at })),
  );
  const persons = new Map<RecordPlan, Person>(fresh.map((plan, i) => [plan, inserted[i] as Person]));
  const personOf = (plan: RecordPlan): Person => plan.person ?? (persons.get(plan) as Person);

  const links: PersonLink[] = [];
  const touched: number[] = [];
  const newStatuses: Omit<StudentStatus, "version">[] = [];
  const newCards: Omit<Card, "version">[] = [];
  for (const plan of plans) {
    const person = personOf(plan);
    if (plan.link.op !== "keep") {
      links.push({ ...plan.link.value, personId: person.id });
      if (plan.person !== null) touched.push(person.id);
    }
    if (plan.status?.op === "create")
      newStatuses.push({ ...plan.status.value, personId: person.id, esi: person.esi });
    if (plan.card?.op === "create")
      newCards.push({ ...plan.card.value, personId: person.id, esi: person.esi });
  }
  await tx.syncState.upsertLinks(links);
  await tx.syncState.touchPersons(touched, at);
  if ((await tx.syncState.insertStatuses(newStatuses)) !== newStatuses.length) {
    throw new StaleBatchError("a student status");
  }
  await tx.cards.insertMany(newCards);

  const events: DomainEvent[] = [];
  const audit: NewAuditEntry[] = [];
  const record = (event: DomainEvent, change: AuditedChange) => {
    events.push(event);
    audit.push(connectorAuditEntry(change, organisationId, at, run.tokenId));
  };
  for (const plan of plans) {
    const person = personOf(plan);
    const personId = person.id;
    if (plan.link.op !== "keep") {
      const type = plan.link.op === "create" ? "person.linked" : "person.updated";
      const action = plan.link.op;
      record(linkEvent(type, person.esi, organisationId, at), {
        action,
        subjectType: "person",
        subject: String(personId),
        personId,
      });
    }
    const status = plan.status;
    if (status && status.op !== "keep") {
      let saved: StudentStatus | undefined = { ...status.value, personId, esi: person.esi, version: 1 };
      if (status.op === "update") {
        saved = await tx.statuses.save(
          { ...status.value, personId, esi: person.esi },
          status.current?.version ?? 0,
        );
        if (!saved) throw new StaleBatchError("a student status");
      }
      record(statusChangedEvent(saved, at), {
        action: status.op,
        subjectType: "student-status",
        subject: String(personId),
        personId,
      });
    }
    const card = plan.card;
    if (card && card.op !== "keep") {
      let saved: Card | undefined = { ...card.value, personId, esi: person.esi, version: 1 };
      if (card.op === "update" && card.current) {
        saved = await tx.cards.update({ ...card.current, ...card.value });
        if (!saved) throw new StaleBatchError(`the card ${card.current.escn}`);
      }
      record(cardEvent(card.op === "create" ? "card.created" : "card.updated", saved, at), {
        action: card.op,
        subjectType: "card",
        subject: saved.escn,
        personId,
      });
    }
  }
  await tx.outbox.append(events);
  await tx.audit.append(audit);
  if (!run.remembers) return;
  await tx.connectorPresence.markSeen(
    run.connector,
    organisationId,
    // A duplicate's person may be in the batch already: each person once per statement.
    [...new Set([...plans.map((p) => personOf(p).id), ...seen])],
    run.id,
    at,
  );
}
