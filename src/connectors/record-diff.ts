import type { Card } from "../domain/card.ts";
import { type Escn, escnPic } from "../domain/escn.ts";
import type { Person, PersonLink } from "../domain/person.ts";
import type { Pic } from "../domain/pic.ts";
import type { StudentStatus } from "../domain/student-status.ts";
import type { SyncSnapshot } from "../ports/storage.ts";
import type { RecordProblem, SourceCard, SourceRecord, SourceStatus } from "./source-record.ts";

/** What the diff needs to know of the run. */
export interface DiffContext {
  readonly organisationId: string;
  /** The PIC the organisation issues cards under; null when it issues none. */
  readonly cardPic: Pic | null;
  /** A fresh ESCN under `cardPic`, for a card the source names without one. */
  readonly newEscn: () => Escn;
  /** The batch's time: every change of the batch is stamped with it. */
  readonly at: string;
}

/** A record of the batch, admitted (ESI read, not a duplicate), or already refused with a problem. */
export interface BatchEntry {
  readonly record: SourceRecord;
  readonly esi: string;
  readonly esiKey: string;
  readonly problem: RecordProblem | null;
}

export type Op = "create" | "update" | "keep";

/** What one record changes. `personId` is null for a person the batch creates. */
export interface RecordPlan {
  readonly entry: BatchEntry;
  readonly person: Person | null;
  readonly link: { readonly op: Op; readonly value: Omit<PersonLink, "personId"> };
  /** Null when the record carries no status: the stored one is left as it is. */
  readonly status: {
    readonly op: Op;
    readonly current: StudentStatus | null;
    readonly value: Omit<StudentStatus, "personId" | "esi" | "version">;
  } | null;
  /** Null when the record carries no card. */
  readonly card: {
    readonly op: Op;
    readonly current: Card | null;
    readonly value: Omit<Card, "personId" | "esi" | "version">;
  } | null;
  readonly outcome: "created" | "updated" | "unchanged";
}

/** A record refused at this stage, with its person's id when the organisation holds that person already. */
export interface RefusedRecord {
  readonly problem: RecordProblem;
  readonly linkedPersonId: number | null;
}

/** The snapshot of a batch, indexed for the diff. */
export class BatchState {
  readonly persons = new Map<string, Person>();
  readonly links = new Map<number, PersonLink>();
  readonly statuses = new Map<number, StudentStatus>();
  readonly cardsByEscn = new Map<string, Card>();
  readonly cardsByHolder = new Map<number, Card[]>();

  constructor(snapshot: SyncSnapshot, organisationId: string) {
    for (const person of snapshot.persons) this.persons.set(person.esiKey, person);
    for (const link of snapshot.links) this.links.set(link.personId, link);
    for (const status of snapshot.statuses) this.statuses.set(status.personId, status);
    for (const card of snapshot.cards) {
      this.cardsByEscn.set(card.escn, card);
      if (card.issuerId !== organisationId) continue;
      const held = this.cardsByHolder.get(card.personId);
      if (held) held.push(card);
      else this.cardsByHolder.set(card.personId, [card]);
    }
  }

  /** The person's id when the organisation holds a link to them. */
  linkedPersonId(esiKey: string): number | null {
    const person = this.persons.get(esiKey);
    return person && this.links.has(person.id) ? person.id : null;
  }
}

/**
 * Compares one record with the hub's state and says what to write: only what differs. A record that
 * would break a rule (a card number of another issuer, a card of another person) is refused whole,
 * before anything is written, so that the rest of its batch commits.
 */
export function diffRecord(
  entry: BatchEntry,
  state: BatchState,
  ctx: DiffContext,
): RecordPlan | RefusedRecord {
  const { record } = entry;
  if (entry.problem) return { problem: entry.problem, linkedPersonId: state.linkedPersonId(entry.esiKey) };

  const person = state.persons.get(entry.esiKey) ?? null;
  const currentLink = person ? state.links.get(person.id) : undefined;
  const currentStatus = person ? (state.statuses.get(person.id) ?? null) : null;

  let card: RecordPlan["card"] = null;
  if (record.card) {
    const planned = planCard(record.card, person, state, ctx);
    if ("reason" in planned) {
      const problem = { origin: record.origin, field: planned.field, reason: planned.reason };
      return { problem, linkedPersonId: state.linkedPersonId(entry.esiKey) };
    }
    card = planned;
  }

  const { fullName, academicLevel, email } = record.person;
  const linkOp: Op = !currentLink
    ? "create"
    : currentLink.fullName === fullName &&
        currentLink.academicLevel === academicLevel &&
        currentLink.email === email
      ? "keep"
      : "update";
  const link = {
    op: linkOp,
    // A link kept is the stored one (nothing writes it): no copy is made for the many rows that changed nothing.
    value:
      linkOp === "keep" && currentLink
        ? currentLink
        : {
            organisationId: ctx.organisationId,
            fullName,
            academicLevel,
            email,
            // The sources know neither; what the API recorded stays.
            phone: currentLink?.phone ?? null,
            fax: currentLink?.fax ?? null,
            createdAt: currentLink?.createdAt ?? ctx.at,
            updatedAt: ctx.at,
          },
  };
  const status = record.status ? planStatus(record.status, currentStatus, ctx) : null;

  const outcome =
    link.op === "create"
      ? "created"
      : changes(link.op) || changes(status?.op) || changes(card?.op)
        ? "updated"
        : "unchanged";
  return { entry, person, link, status, card, outcome };
}

const changes = (op: Op | undefined): boolean => op === "create" || op === "update";

function planStatus(
  source: SourceStatus,
  current: StudentStatus | null,
  ctx: DiffContext,
): RecordPlan["status"] {
  const same =
    current !== null &&
    current.state === source.state &&
    current.validFrom === source.validFrom &&
    current.validUntil === source.validUntil;
  if (same) return { op: "keep", current, value: current };
  return {
    op: current === null ? "create" : "update",
    current,
    value: {
      organisationId: ctx.organisationId,
      state: source.state,
      validFrom: source.validFrom,
      validUntil: source.validUntil,
      createdAt: current?.createdAt ?? ctx.at,
      updatedAt: ctx.at,
    },
  };
}

/**
 * The card a record means: the one with its ESCN (which must be this organisation's, and this person's
 * when it exists), or without one the holder's newest card of that type from this organisation, or else
 * a new card with a generated ESCN, so that running the same source again never makes a second card.
 */
function planCard(
  source: SourceCard,
  person: Person | null,
  state: BatchState,
  ctx: DiffContext,
): NonNullable<RecordPlan["card"]> | { field: string; reason: string } {
  if (ctx.cardPic === null) {
    return { field: "cardType", reason: `the organisation ${ctx.organisationId} does not issue cards` };
  }
  let current: Card | null = null;
  let escn: Escn;
  if (source.escn !== null) {
    const pic = escnPic(source.escn);
    if (pic !== ctx.cardPic) {
      return { field: "escn", reason: `is a card number of the issuer ${pic}, not of ${ctx.cardPic}` };
    }
    current = state.cardsByEscn.get(source.escn) ?? null;
    if (current && current.personId !== person?.id) {
      return { field: "escn", reason: "is the number of another person's card" };
    }
    escn = source.escn;
  } else {
    current = person ? newestOfType(state.cardsByHolder.get(person.id) ?? [], source.cardType) : null;
    escn = current?.escn ?? ctx.newEscn();
  }
  const fields = {
    cardType: source.cardType,
    status: source.status,
    inactiveReason: source.inactiveReason,
    issuedAt: source.issuedAt,
    expiresAt: source.expiresAt,
    displayName: source.displayName,
  };
  if (current === null) {
    return {
      op: "create",
      current,
      value: {
        escn,
        issuerId: ctx.organisationId,
        processorId: null,
        ...fields,
        chipUid: null,
        createdAt: ctx.at,
        updatedAt: ctx.at,
      },
    };
  }
  const same =
    current.cardType === fields.cardType &&
    current.status === fields.status &&
    current.inactiveReason === fields.inactiveReason &&
    current.issuedAt === fields.issuedAt &&
    current.expiresAt === fields.expiresAt &&
    current.displayName === fields.displayName;
  if (same) return { op: "keep", current, value: current };
  return { op: "update", current, value: { ...current, ...fields, updatedAt: ctx.at } };
}

/** The newest card of a type: the latest issued, then the latest made. */
function newestOfType(cards: readonly Card[], cardType: Card["cardType"]): Card | null {
  let newest: Card | null = null;
  for (const card of cards) {
    if (card.cardType !== cardType) continue;
    if (
      newest === null ||
      card.issuedAt > newest.issuedAt ||
      (card.issuedAt === newest.issuedAt && card.createdAt > newest.createdAt)
    ) {
      newest = card;
    }
  }
  return newest;
}
