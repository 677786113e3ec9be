import type { DomainEvent } from "./events.ts";
import type { StudentStatus } from "./student-status.ts";

/*
 * The events about persons and student statuses, built in one place: the services, the expiry job and the
 * connectors' sync engine all write them, and a subscriber must not be able to tell who wrote one.
 */

/** `person.linked`, `person.updated` or `person.unlinked`: the link of a person to an organisation. */
export function personEvent(
  type: "person.linked" | "person.updated" | "person.unlinked",
  esi: string,
  organisationId: string,
  at: string,
): DomainEvent {
  return {
    type,
    subject: esi,
    audience: [organisationId],
    data: { esi, organisation: organisationId },
    occurredAt: at,
  };
}

/** `student-status.changed` (written) or `student-status.expired` (its validity ran out). */
export function studentStatusEvent(
  type: "student-status.changed" | "student-status.expired",
  status: Pick<StudentStatus, "esi" | "organisationId" | "state" | "validFrom" | "validUntil">,
  at: string,
): DomainEvent {
  return {
    type,
    subject: status.esi,
    audience: [status.organisationId],
    data: {
      esi: status.esi,
      organisation: status.organisationId,
      state: status.state,
      validFrom: status.validFrom,
      validUntil: status.validUntil,
    },
    occurredAt: at,
  };
}
