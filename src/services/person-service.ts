import { type AcademicLevel, parseAcademicLevel } from "../domain/academic-level.ts";
import {
  ConflictError,
  ForbiddenError,
  InvalidValueError,
  NotFoundError,
  ValidationError,
} from "../domain/errors.ts";
import { parseEsi } from "../domain/esi.ts";
import { personEvent } from "../domain/event-builders.ts";
import type { DomainEvent } from "../domain/events.ts";
import type { Person, PersonLink } from "../domain/person.ts";
import type { Counted, Keyed, KeysetPage, OffsetPage, Repositories } from "../ports/storage.ts";
import type { AuditSubject } from "./audit-trail.ts";
import { erasedPseudonym } from "./person-removal.ts";
import { mayActFor, type Principal, requireStudentDataHolder } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

export interface PersonLinkInput {
  readonly organisationIdentifier: string | number;
  readonly academicLevel?: string | null;
  readonly email?: string | null;
  readonly phone?: string | null;
  readonly fax?: string | null;
}

export interface PersonInput {
  readonly identifier: string;
  readonly fullName: string;
  readonly identifierCode?: string | null;
  readonly links: readonly PersonLinkInput[];
}

/** A person as one caller may see it: only the links of organisations it acts for. */
export interface VisiblePerson {
  readonly person: Person;
  readonly links: readonly PersonLink[];
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9 ()./-]{3,32}$/;

/**
 * Persons and their per-organisation links. An organisation never learns from an answer whether a
 * person it is not linked to exists: posting an ESI another organisation holds adds a link and answers
 * exactly as if the person were new.
 */
export class PersonService {
  readonly #ctx: ServiceContext;

  constructor(ctx: ServiceContext) {
    this.#ctx = ctx;
  }

  async create(caller: Principal, input: PersonInput): Promise<VisiblePerson> {
    requireStudentDataHolder(caller, "persons:write");
    const esi = parseEsi(input.identifier, "identifier");
    const fullName = checkFullName(input.fullName);
    checkIdentifierCode(input.identifierCode);
    const links = this.#checkLinks(caller, input.links, true);
    const now = this.#ctx.clock.now().toISOString();
    return this.#ctx.storage.transaction(async (tx) => {
      let person = await tx.persons.findByKey(esi.key);
      if (person) {
        for (const link of links) {
          if (await tx.persons.findLink(person.id, link.organisationId)) {
            throw new ConflictError(
              "PERSON_EXISTS",
              `the person ${esi.value} is already linked to ${link.organisationId}`,
            );
          }
        }
        await tx.persons.touch(person.id, now);
      } else {
        person = await tx.persons.insert({ esi: esi.value, esiKey: esi.key, createdAt: now, updatedAt: now });
      }
      const personId = person.id;
      for (const link of links) {
        await tx.persons.upsertLink({ ...link, personId, fullName, createdAt: now, updatedAt: now });
      }
      await tx.outbox.append(
        links.map((l) => personEvent("person.linked", person.esi, l.organisationId, now)),
      );
      await this.#ctx.audit.recordIn(tx, caller, "create", [personSubject(person)]);
      return this.#visible(tx, caller, person);
    });
  }

  async get(caller: Principal, identifier: string): Promise<VisiblePerson> {
    requireStudentDataHolder(caller, "persons:read");
    const tx = this.#ctx.storage.read;
    const person = await this.#findVisible(tx, caller, identifier);
    const visible = await this.#visible(tx, caller, person);
    this.#ctx.audit.recordRead(caller, "read", [personSubject(person)]);
    return visible;
  }

  /** ESC-R PUT: replaces the caller's links named in the body; links of others are untouched. */
  async update(caller: Principal, identifier: string, input: PersonInput): Promise<VisiblePerson> {
    requireStudentDataHolder(caller, "persons:write");
    const fullName = checkFullName(input.fullName);
    checkIdentifierCode(input.identifierCode);
    const links = this.#checkLinks(caller, input.links, true);
    const now = this.#ctx.clock.now().toISOString();
    return this.#ctx.storage.transaction(async (tx) => {
      const person = await this.#findVisible(tx, caller, identifier);
      if (input.identifier !== undefined && parseEsi(input.identifier, "identifier").key !== person.esiKey) {
        throw new InvalidValueError("ESI_INVALID", "identifier", "must be the ESI of the person in the path");
      }
      const events: DomainEvent[] = [];
      for (const link of links) {
        const existing = await tx.persons.findLink(person.id, link.organisationId);
        await tx.persons.upsertLink({
          ...link,
          personId: person.id,
          fullName,
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
        });
        events.push(
          personEvent(existing ? "person.updated" : "person.linked", person.esi, link.organisationId, now),
        );
      }
      await tx.persons.touch(person.id, now);
      await tx.outbox.append(events);
      await this.#ctx.audit.recordIn(tx, caller, "update", [personSubject(person)]);
      return this.#visible(tx, caller, person);
    });
  }

  /** Removes the links (and statuses) of the organisations the caller acts for; the person goes with the last link. */
  async delete(caller: Principal, identifier: string): Promise<void> {
    requireStudentDataHolder(caller, "persons:write");
    const now = this.#ctx.clock.now().toISOString();
    await this.#ctx.storage.transaction(async (tx) => {
      const person = await this.#findVisible(tx, caller, identifier);
      const links = await tx.persons.links(person.id);
      const mine = links.filter((l) => mayActFor(caller, l.organisationId));
      if (
        (await tx.cards.countForPerson(
          person.id,
          mine.map((l) => l.organisationId),
        )) > 0
      ) {
        throw new ConflictError(
          "PERSON_HAS_CARDS",
          "the person still holds cards issued by this organisation; delete them first",
        );
      }
      for (const link of mine) {
        await tx.statuses.delete(person.id, link.organisationId);
        await tx.persons.deleteLink(person.id, link.organisationId);
      }
      if (mine.length === links.length) {
        // The student's consents are theirs, not one institution's: they go with the person only.
        await tx.consents.deleteForPerson(person.id);
        await tx.persons.delete(person.id);
      }
      await tx.outbox.append(
        mine.map((l) => personEvent("person.unlinked", person.esi, l.organisationId, now)),
      );
      if (mine.length === links.length) {
        // Nobody holds the person any more: the ESI must not outlive it in the event history.
        await tx.outbox.pseudonymise([
          { key: person.esiKey, pseudonym: erasedPseudonym(person.esiKey), audience: null },
        ]);
      }
      await this.#ctx.audit.recordIn(tx, caller, "delete", [personSubject(person)]);
    });
  }

  async listPaged(caller: Principal, page: OffsetPage): Promise<Counted<VisiblePerson>> {
    requireStudentDataHolder(caller, "persons:read");
    const tx = this.#ctx.storage.read;
    const result = await tx.persons.listPaged({ organisationIds: caller.actingFor }, page);
    const items = await Promise.all(result.items.map((p) => this.#visible(tx, caller, p)));
    this.#ctx.audit.recordRead(caller, "read", result.items.map(personSubject));
    return { items, total: result.total };
  }

  async listAfter(caller: Principal, page: KeysetPage): Promise<Keyed<VisiblePerson>> {
    requireStudentDataHolder(caller, "persons:read");
    const tx = this.#ctx.storage.read;
    const result = await tx.persons.listAfter({ organisationIds: caller.actingFor }, page);
    const items = await Promise.all(result.items.map((p) => this.#visible(tx, caller, p)));
    this.#ctx.audit.recordRead(caller, "read", result.items.map(personSubject));
    return { items, next: result.next };
  }

  /** The person behind `identifier` if the caller is linked to it; otherwise the same 404 as for an unknown ESI. */
  async #findVisible(tx: Repositories, caller: Principal, identifier: string): Promise<Person> {
    const esi = parseEsi(identifier, "esi");
    const person = await tx.persons.findByKey(esi.key);
    if (person) {
      const links = await tx.persons.links(person.id);
      if (links.some((l) => mayActFor(caller, l.organisationId))) return person;
    }
    throw new NotFoundError("PERSON_NOT_FOUND", "no person with this ESI is linked to your organisation");
  }

  async #visible(tx: Repositories, caller: Principal, person: Person): Promise<VisiblePerson> {
    const links = (await tx.persons.links(person.id)).filter((l) => mayActFor(caller, l.organisationId));
    return { person, links };
  }

  #checkLinks(
    caller: Principal,
    inputs: readonly PersonLinkInput[],
    required: boolean,
  ): Omit<PersonLink, "personId" | "fullName" | "createdAt" | "updatedAt">[] {
    if (required && inputs.length === 0) {
      throw new InvalidValueError(
        "VALIDATION_FAILED",
        "personOrganisationUpdateViews",
        "must name at least one organisation",
      );
    }
    const seen = new Set<string>();
    const issues: { field: string; reason: string }[] = [];
    const links = inputs.map((input, i) => {
      const field = `personOrganisationUpdateViews[${i}]`;
      const organisationId = String(input.organisationIdentifier).trim();
      if (seen.has(organisationId))
        issues.push({ field: `${field}.organisationIdentifier`, reason: "named twice" });
      seen.add(organisationId);
      if (!mayActFor(caller, organisationId)) {
        throw new ForbiddenError(
          `${field}.organisationIdentifier: this token may not act for organisation ${organisationId}`,
        );
      }
      const academicLevel: AcademicLevel | null =
        input.academicLevel == null || input.academicLevel === ""
          ? null
          : parseAcademicLevel(input.academicLevel, `${field}.academicLevel`);
      return {
        organisationId,
        academicLevel,
        email: optionalMatching(input.email, EMAIL, `${field}.email`, "must be an e-mail address", issues),
        phone: optionalMatching(input.phone, PHONE, `${field}.phone`, "must be a phone number", issues),
        fax: optionalMatching(input.fax, PHONE, `${field}.fax`, "must be a phone number", issues),
      };
    });
    if (issues.length > 0) throw new ValidationError(issues);
    return links;
  }
}

/** A person's data in the audit trail: by the hub's internal number, never by name or ESI. */
function personSubject(person: Person): AuditSubject {
  return { type: "person", subject: String(person.id), personId: person.id };
}

function optionalMatching(
  value: string | null | undefined,
  pattern: RegExp,
  field: string,
  reason: string,
  issues: { field: string; reason: string }[],
): string | null {
  if (value == null || value === "") return null;
  if (value.length > 254 || !pattern.test(value)) issues.push({ field, reason });
  return value;
}

function checkFullName(value: string): string {
  const name = typeof value === "string" ? value.trim() : "";
  if (name.length === 0 || name.length > 255) {
    throw new InvalidValueError("VALIDATION_FAILED", "fullName", "must be 1 to 255 characters");
  }
  return name;
}

function checkIdentifierCode(value: string | null | undefined): void {
  if (value != null && value !== "" && value !== "ESI") {
    throw new InvalidValueError(
      "VALIDATION_FAILED",
      "identifierCode",
      "must be ESI, the only identifier code",
    );
  }
}
