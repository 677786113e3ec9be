import { createHash } from "node:crypto";
import type { Card } from "../domain/card.ts";
import { personEvent } from "../domain/event-builders.ts";
import type { DomainEvent } from "../domain/events.ts";
import type { Person } from "../domain/person.ts";
import type { AuditSubject } from "./audit-trail.ts";

/**
 * What erasure (`data-subject-rights-service.ts`) and retention (`retention-job.ts`) share when they remove
 * a person's data: the events they write, like any change, and the pseudonym an erased ESI leaves behind.
 */

/**
 * The pseudonym that replaces an erased ESI in stored events: `erased:` and the first 16 hexadecimal
 * digits of the SHA-256 of the ESI's matching key. The same ESI always gives the same pseudonym, so
 * the events of one erased person still belong together; the ESI itself is gone.
 */
export function erasedPseudonym(esiKey: string): string {
  return `erased:${createHash("sha256").update(esiKey).digest("hex").slice(0, 16)}`;
}

/** `card.deleted`, as `CardService.delete` writes it. */
export function cardDeletedEvent(card: Card, at: string): DomainEvent {
  return {
    type: "card.deleted",
    subject: card.escn,
    audience: card.processorId === null ? [card.issuerId] : [card.issuerId, card.processorId],
    data: {
      escn: card.escn,
      issuer: card.issuerId,
      status: null,
      inactiveReason: null,
      expiresAt: card.expiresAt,
      version: card.version,
    },
    occurredAt: at,
  };
}

/** `person.unlinked`, as `PersonService.delete` writes it. */
export function personUnlinkedEvent(esi: string, organisationId: string, at: string): DomainEvent {
  return personEvent("person.unlinked", esi, organisationId, at);
}

/** A person in the audit trail: by the hub's internal number, never by name or ESI. */
export function personAuditSubject(person: Pick<Person, "id">): AuditSubject {
  return { type: "person", subject: String(person.id), personId: person.id };
}
