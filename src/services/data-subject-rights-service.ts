import type { AuditEntry } from "../domain/audit-entry.ts";
import type { Card } from "../domain/card.ts";
import type { Consent } from "../domain/consent.ts";
import { ForbiddenError, NotFoundError } from "../domain/errors.ts";
import type { Escn } from "../domain/escn.ts";
import { parseEsi } from "../domain/esi.ts";
import type { DomainEvent } from "../domain/events.ts";
import type { IssuedCredential } from "../domain/issued-credential.ts";
import type { Person, PersonLink } from "../domain/person.ts";
import type { StudentStatus } from "../domain/student-status.ts";
import type { Repositories } from "../ports/storage.ts";
import { visibleAuditQuery } from "./audit-log-service.ts";
import {
  cardDeletedEvent,
  erasedPseudonym,
  personAuditSubject,
  personUnlinkedEvent,
} from "./person-removal.ts";
import { mayActFor, type Principal, requireScope } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

/** The version tag of the export document; a change that breaks readers gets a new one. */
export const PERSON_EXPORT_FORMAT = "openesc-person-export/1";

/**
 * Everything the hub holds about a person for the organisations the caller acts for, in one
 * machine-readable document (docs/privacy.md, "Rights of the data subject", describes every field).
 */
export interface PersonExport {
  readonly format: typeof PERSON_EXPORT_FORMAT;
  readonly exportedAt: string;
  /** The organisation that asked for the export (the controller the student went to). */
  readonly exportedBy: string;
  /** The ESI, and when the caller's organisations first registered the person. */
  readonly person: { readonly esi: string; readonly createdAt: string };
  readonly links: readonly Omit<PersonLink, "personId">[];
  readonly studentStatuses: readonly Omit<StudentStatus, "personId" | "esi">[];
  /** Every field of each card but the hub's internal person number. */
  readonly cards: readonly Omit<Card, "personId">[];
  /** The person's consents; `recordedBy` only when it is one of the caller's organisations, else null. */
  readonly consents: readonly (Omit<Consent, "personId" | "recordedBy"> & { recordedBy: string | null })[];
  /** Who read or changed the person's data, whichever organisation did: the student's own trail. */
  readonly auditTrail: readonly Pick<
    AuditEntry,
    "seq" | "at" | "organisationId" | "action" | "purpose" | "subjectType" | "subject"
  >[];
}

/** What an erasure removed. */
export interface ErasureSummary {
  readonly cardsDeleted: number;
  readonly statusesDeleted: number;
  readonly linksDeleted: number;
  /** Whether the person record (the ESI) and the consents went too: no organisation holds a link any more. */
  readonly personDeleted: boolean;
}

export interface DataSubjectRightsOptions {
  /** Told of cards an erasure deleted, so that answers kept in memory (the public status) are dropped. */
  readonly onCardsDeleted?: (escns: readonly Escn[]) => void;
  /** Sets the status-list entries of these credentials to invalid, in the erasure's transaction. */
  readonly revokeCredentials?: (tx: Repositories, credentials: readonly IssuedCredential[]) => Promise<void>;
  /** After an erasure committed: the revoked entries' lists are signed again. */
  readonly afterCredentialsRevoked?: () => Promise<unknown>;
}

/** Audit entries read per query while an export pages through a trail. */
const TRAIL_PAGE = 1000;

/**
 * The rights of the data subject, exercised through their institution. Each institution is the controller
 * of what it holds and the hub its processor, so a request covers what the hub holds for the organisations
 * the caller acts for: their links, statuses and cards, plus what belongs to the person as a whole (the
 * ESI, the consents, the audit trail of accesses to their data).
 *
 * - {@link export}: access and portability, as one JSON document.
 * - Rectification: `PUT /esc-rest/api/v2/persons/{esi}` (`PersonService.update`) replaces the caller's link.
 * - {@link erase}: erasure of the caller organisations' data; the person record goes with the last link.
 *
 * Requests come from the controllers, institutions and student-service organisations: card bureaus are
 * their processors and have no part in them (as in consent), service providers and the operator never see
 * students. A person the caller is not linked to answers exactly as an unknown ESI does.
 */
export class DataSubjectRightsService {
  readonly #ctx: ServiceContext;
  readonly #options: DataSubjectRightsOptions;

  constructor(ctx: ServiceContext, options: DataSubjectRightsOptions = {}) {
    this.#ctx = ctx;
    this.#options = options;
  }

  async export(caller: Principal, esiText: string): Promise<PersonExport> {
    requireController(caller, "persons:read");
    const esi = parseEsi(esiText, "esi");
    // Reads still waiting in the audit trail's group commit belong in the trail being exported.
    await this.#ctx.audit.flush();
    const now = this.#ctx.clock.now().toISOString();
    // One transaction: a consistent snapshot, and the export's own entry commits with it.
    return this.#ctx.storage.transaction(async (tx) => {
      const { person } = await this.#findLinked(tx, caller, esi.key);
      await this.#ctx.audit.recordIn(tx, caller, "export", [personAuditSubject(person)]);
      const links = (await tx.persons.links(person.id)).filter((l) => mayActFor(caller, l.organisationId));
      const statuses = (await tx.statuses.listForPerson(person.id)).filter((s) =>
        mayActFor(caller, s.organisationId),
      );
      const cards = (await tx.cards.listForPerson(person.id)).filter((c) => mayActFor(caller, c.issuerId));
      const consents = await tx.consents.listForPerson(person.id);
      return {
        format: PERSON_EXPORT_FORMAT,
        exportedAt: now,
        exportedBy: caller.organisation.id,
        // When the caller's organisations first registered the person: the person record's own time also
        // moves with other organisations' links, and would tell the caller that someone else holds them.
        person: { esi: person.esi, createdAt: links.map((l) => l.createdAt).sort()[0] ?? person.createdAt },
        links: links.map(({ personId: _, ...link }) => link),
        studentStatuses: statuses.map(({ personId: _, esi: _esi, ...status }) => status),
        cards: cards.map(({ personId: _, ...card }) => card),
        // As in the consent API: which other institution recorded a consent is not the caller's to know.
        consents: consents.map(({ personId: _, ...consent }) => ({
          ...consent,
          recordedBy: mayActFor(caller, consent.recordedBy) ? consent.recordedBy : null,
        })),
        auditTrail: await trailOf(tx, caller, person.id),
      };
    });
  }

  /**
   * Removes, in one transaction, what the hub holds about the person for the organisations the caller
   * acts for: their cards of that person, statuses and links (with the events every such change writes);
   * when no other organisation holds a link, also the consents and the person record. The ESI left in
   * those organisations' stored events (all stored events, once the person is gone) is replaced by its
   * pseudonym; the audit trail names persons only by the hub's internal number, so it is kept as it is.
   * Then the store is scrubbed, so that the erased bytes are gone from its files.
   */
  async erase(caller: Principal, esiText: string): Promise<ErasureSummary> {
    requireController(caller, "persons:write");
    const esi = parseEsi(esiText, "esi");
    const now = this.#ctx.clock.now().toISOString();
    const deletedCards: Escn[] = [];
    let summary: ErasureSummary;
    try {
      summary = await this.#ctx.storage.transaction(async (tx) => {
        const { person, links } = await this.#findLinked(tx, caller, esi.key);
        const mine = links.filter((l) => mayActFor(caller, l.organisationId));
        const organisationIds = mine.map((l) => l.organisationId);
        const events: DomainEvent[] = [];

        const cards = (await tx.cards.listForPerson(person.id)).filter((c) =>
          organisationIds.includes(c.issuerId),
        );
        for (const card of cards) {
          await tx.cards.delete(card.escn);
          deletedCards.push(card.escn);
          events.push(cardDeletedEvent(card, now));
        }
        let statusesDeleted = 0;
        for (const organisationId of organisationIds) {
          if (await tx.statuses.find(person.id, organisationId)) {
            await tx.statuses.delete(person.id, organisationId);
            statusesDeleted++;
          }
          await tx.persons.deleteLink(person.id, organisationId);
          events.push(personUnlinkedEvent(person.esi, organisationId, now));
        }
        // Every credential issued on these cards is revoked in this same transaction (its status-list
        // entry set to invalid), and the hub forgets whose it was, before the person record can go.
        const personDeleted = mine.length === links.length;
        const forgotten = [];
        for (const card of cards) forgotten.push(...(await tx.credentials.forgetCard(card.escn)));
        if (personDeleted) {
          forgotten.push(...(await tx.credentials.forgetPerson(person.id)));
          await tx.credentialOffers.deleteForPerson(person.id);
        }
        await this.#options.revokeCredentials?.(tx, forgotten);
        if (personDeleted) {
          await tx.consents.deleteForPerson(person.id);
          await tx.persons.delete(person.id);
        }
        await tx.outbox.append(events);
        await tx.outbox.pseudonymise([
          {
            key: person.esiKey,
            pseudonym: erasedPseudonym(person.esiKey),
            audience: personDeleted ? null : organisationIds,
          },
        ]);
        await this.#ctx.audit.recordIn(tx, caller, "erase", [personAuditSubject(person)]);
        return {
          cardsDeleted: cards.length,
          statusesDeleted,
          linksDeleted: mine.length,
          personDeleted,
        };
      });
    } finally {
      if (deletedCards.length > 0) this.#options.onCardsDeleted?.(deletedCards);
    }
    await this.#ctx.storage.scrub();
    await this.#options.afterCredentialsRevoked?.();
    return summary;
  }

  /** The person behind the ESI with all its links, if the caller acts for one of them; else the 404 of an unknown ESI. */
  async #findLinked(
    tx: Repositories,
    caller: Principal,
    esiKey: string,
  ): Promise<{ person: Person; links: PersonLink[] }> {
    const person = await tx.persons.findByKey(esiKey);
    if (person) {
      const links = await tx.persons.links(person.id);
      if (links.some((l) => mayActFor(caller, l.organisationId))) return { person, links };
    }
    throw new NotFoundError("PERSON_NOT_FOUND", "no person with this ESI is linked to your organisation");
  }
}

/** Institutions and student-service organisations: the controllers, through which the student comes. */
function requireController(caller: Principal, scope: "persons:read" | "persons:write"): void {
  const kind = caller.organisation.kind;
  if (kind !== "institution" && kind !== "student-service") {
    throw new ForbiddenError(
      `an organisation of kind ${kind} does not handle data-subject requests; the student's institution does`,
    );
  }
  requireScope(caller, scope);
}

/**
 * The audit entries about the person that the caller may see (the wall of `GET /v1/audit`: what another
 * institution did with its own link stays its own), oldest first, without the token (an organisation's
 * internal detail).
 */
async function trailOf(
  tx: Repositories,
  caller: Principal,
  personId: number,
): Promise<PersonExport["auditTrail"]> {
  const trail: PersonExport["auditTrail"][number][] = [];
  let after = 0;
  for (;;) {
    const page = await tx.audit.list(
      { ...visibleAuditQuery(caller), onlyPersonId: personId },
      { after, limit: TRAIL_PAGE },
    );
    for (const e of page.items) {
      trail.push({
        seq: e.seq,
        at: e.at,
        organisationId: e.organisationId,
        action: e.action,
        purpose: e.purpose,
        subjectType: e.subjectType,
        subject: e.subject,
      });
    }
    if (page.next === null) return trail;
    after = page.next;
  }
}
