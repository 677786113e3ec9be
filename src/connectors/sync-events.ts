import type { AuditAction, AuditSubjectType, NewAuditEntry } from "../domain/audit-entry.ts";
import { personEvent, studentStatusEvent } from "../domain/event-builders.ts";
import type { DomainEvent } from "../domain/events.ts";
import type { Purpose } from "../domain/purpose.ts";
import type { StudentStatus } from "../domain/student-status.ts";

/**
 * The events and audit entries a connector's changes write: the same as the services write for the same
 * change through the API (`PersonService`, `StudentStatusService`, `CardService`, whose `cardEvent` the
 * engine calls), so that a subscriber cannot tell an import from an API call.
 */

/** `person.linked` or `person.updated`, as `PersonService` writes them. */
export function linkEvent(
  type: "person.linked" | "person.updated",
  esi: string,
  organisationId: string,
  at: string,
): DomainEvent {
  return personEvent(type, esi, organisationId, at);
}

/** `student-status.changed`, as `StudentStatusService.put` writes it. */
export function statusChangedEvent(
  status: Pick<StudentStatus, "esi" | "organisationId" | "state" | "validFrom" | "validUntil">,
  at: string,
): DomainEvent {
  return studentStatusEvent("student-status.changed", status, at);
}

/** What a change is about, in the audit trail: a card by its ESCN, a person's data by the internal number. */
export interface AuditedChange {
  readonly action: Extract<AuditAction, "create" | "update">;
  readonly subjectType: Extract<AuditSubjectType, "person" | "student-status" | "card">;
  readonly subject: string;
  readonly personId: number;
}

/**
 * An audit entry for a connector's change. The organisation made it, through no token when the connector
 * runs on the operator's command (`tokenId` null), or through the token that uploaded the file. The
 * purpose is the one the API routes for the same data declare.
 */
export function connectorAuditEntry(
  change: AuditedChange,
  organisationId: string,
  at: string,
  tokenId: string | null = null,
): NewAuditEntry {
  const purpose: Purpose = change.subjectType === "student-status" ? "status-management" : "card-management";
  return {
    at,
    organisationId,
    tokenId,
    action: change.action,
    purpose,
    subjectType: change.subjectType,
    subject: change.subject,
    personId: change.personId,
  };
}
