import { InvalidValueError, NotFoundError, PreconditionFailedError } from "../domain/errors.ts";
import { parseEsi } from "../domain/esi.ts";
import { studentStatusEvent } from "../domain/event-builders.ts";
import { type IsoDate, parseIsoDate } from "../domain/iso-date.ts";
import {
  STUDENT_STATUS_STATES,
  type StudentStatus,
  type StudentStatusState,
} from "../domain/student-status.ts";
import type { Keyed, KeysetPage } from "../ports/storage.ts";
import type { AuditSubject } from "./audit-trail.ts";
import { mayActFor, type Principal, requireStudentDataHolder } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

export interface StudentStatusInput {
  readonly state: string;
  readonly validFrom: string;
  readonly validUntil?: string | null;
}

/** Whether a person is a student of an organisation, and over which dates: the fact verifiers rely on. */
export class StudentStatusService {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  async get(caller: Principal, organisationId: string, esi: string): Promise<StudentStatus> {
    requireStudentDataHolder(caller, "statuses:read");
    const status = mayActFor(caller, organisationId) ? await this.#find(organisationId, esi) : undefined;
    if (!status)
      throw new NotFoundError(
        "STUDENT_STATUS_NOT_FOUND",
        "no student status for this person at this organisation",
      );
    this.#ctx.audit.recordRead(caller, "read", [statusSubject(status)]);
    return status;
  }

  /** Creates or replaces the status; with `expectedVersion` it applies only to that version (If-Match). */
  async put(
    caller: Principal,
    organisationId: string,
    esiText: string,
    input: StudentStatusInput,
    expectedVersion: number | null,
  ): Promise<{ status: StudentStatus; created: boolean }> {
    requireStudentDataHolder(caller, "statuses:write");
    const esi = parseEsi(esiText, "esi");
    if (!(STUDENT_STATUS_STATES as readonly string[]).includes(input.state)) {
      throw new InvalidValueError(
        "VALIDATION_FAILED",
        "/state",
        `must be one of ${STUDENT_STATUS_STATES.join(", ")}`,
      );
    }
    const validFrom = parseIsoDate(input.validFrom, "/validFrom");
    const validUntil: IsoDate | null =
      input.validUntil == null ? null : parseIsoDate(input.validUntil, "/validUntil");
    if (validUntil !== null && validUntil < validFrom) {
      throw new InvalidValueError("DATE_RANGE_INVALID", "/validUntil", "must not be before validFrom");
    }
    if (!mayActFor(caller, organisationId)) {
      throw new NotFoundError("PERSON_NOT_FOUND", "no person with this ESI is linked to that organisation");
    }
    const now = this.#ctx.clock.now().toISOString();
    return this.#ctx.storage.transaction(async (tx) => {
      const person = await tx.persons.findByKey(esi.key);
      const link = person && (await tx.persons.findLink(person.id, organisationId));
      if (!person || !link) {
        throw new NotFoundError("PERSON_NOT_FOUND", "no person with this ESI is linked to that organisation");
      }
      const current = await tx.statuses.find(person.id, organisationId);
      if (expectedVersion !== null && current?.version !== expectedVersion)
        throw new PreconditionFailedError();
      const saved = await tx.statuses.save(
        {
          personId: person.id,
          esi: person.esi,
          organisationId,
          state: input.state as StudentStatusState,
          validFrom,
          validUntil,
          createdAt: current?.createdAt ?? now,
          updatedAt: now,
        },
        current?.version ?? null,
      );
      if (!saved) throw new PreconditionFailedError();
      await this.#ctx.audit.recordIn(tx, caller, current === undefined ? "create" : "update", [
        statusSubject(saved),
      ]);
      await tx.outbox.append([
        studentStatusEvent(
          "student-status.changed",
          { esi: person.esi, organisationId, state: saved.state, validFrom, validUntil },
          now,
        ),
      ]);
      return { status: saved, created: current === undefined };
    });
  }

  async listAfter(
    caller: Principal,
    filter: { organisationId: string | null; state: StudentStatusState | null },
    page: KeysetPage,
  ): Promise<Keyed<StudentStatus>> {
    requireStudentDataHolder(caller, "statuses:read");
    const organisationIds =
      filter.organisationId === null
        ? caller.actingFor
        : caller.actingFor.filter((id) => id === filter.organisationId);
    const result = await this.#ctx.storage.read.statuses.listAfter(
      { organisationIds, state: filter.state },
      page,
    );
    this.#ctx.audit.recordRead(caller, "read", result.items.map(statusSubject));
    return result;
  }

  async #find(organisationId: string, esiText: string): Promise<StudentStatus | undefined> {
    const esi = parseEsi(esiText, "esi");
    const person = await this.#ctx.storage.read.persons.findByKey(esi.key);
    return person && this.#ctx.storage.read.statuses.find(person.id, organisationId);
  }
}

/** A student status in the audit trail: by the person's internal number (the organisation is the caller's). */
function statusSubject(status: StudentStatus): AuditSubject {
  return { type: "student-status", subject: String(status.personId), personId: status.personId };
}
