import { type Consent, type ConsentPurpose, parseConsentPurpose } from "../domain/consent.ts";
import {
  CONSENT_WORDINGS,
  type ConsentWording,
  currentWording,
  parseWordingVersion,
} from "../domain/consent-wording.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "../domain/errors.ts";
import { parseEsi } from "../domain/esi.ts";
import type { DomainEvent } from "../domain/events.ts";
import type { Person } from "../domain/person.ts";
import { PURPOSES } from "../domain/purpose.ts";
import type { Repositories } from "../ports/storage.ts";
import type { AuditSubject } from "./audit-trail.ts";
import { mayActFor, type Principal, requireScope } from "./principal.ts";
import type { PublicStatusCache } from "./public-status-cache.ts";
import type { ServiceContext } from "./service-context.ts";

export interface ConsentInput {
  readonly wordingVersion: string;
}

/** A person's consents, as one of the person's institutions may see them. */
export interface PersonConsents {
  readonly esi: string;
  readonly consents: readonly Consent[];
}

/** One consent after a change. */
export interface ConsentChange {
  readonly esi: string;
  readonly consent: Consent;
  /** Whether the consent came into effect with this change (it was never given, or withdrawn). */
  readonly created: boolean;
}

/** A consent purpose with every wording published for it, for institutions to show the exact text. */
export interface PurposeWordings {
  readonly purpose: ConsentPurpose;
  readonly description: string;
  /** The version institutions should show now. */
  readonly current: string;
  /** Every version, oldest first. */
  readonly versions: readonly ConsentWording[];
}

export interface ConsentServiceOptions {
  /** The public status answers: a change to `display-name-publication` invalidates the holder's cards. */
  readonly cache: PublicStatusCache;
}

/**
 * Consent per student and purpose, where consent is the lawful basis (`CONSENT_PURPOSES`). The student
 * gives or withdraws it through one of their institutions (later also in their own space); it belongs to
 * the student, so every institution linked to them sees the same record. Withdrawal takes effect at once:
 * the public status and `hasOwnerAuthorization` read the consents table on every answer, and the cached
 * public answers of the holder's cards are dropped before the change's answer leaves.
 *
 * Each change is an outbox event (`consent.given`, `consent.withdrawn`) and an audit entry, in the
 * change's transaction; each read of a student's consents is an audit entry too.
 */
export class ConsentService {
  readonly #ctx: ServiceContext;
  readonly #options: ConsentServiceOptions;

  constructor(ctx: ServiceContext, options: ConsentServiceOptions) {
    this.#ctx = ctx;
    this.#options = options;
  }

  /** The consent purposes and their wordings; public, no personal data. */
  wordings(): PurposeWordings[] {
    return (Object.keys(CONSENT_WORDINGS) as ConsentPurpose[]).map((purpose) => ({
      purpose,
      description: PURPOSES[purpose].description,
      current: currentWording(purpose).version,
      versions: CONSENT_WORDINGS[purpose],
    }));
  }

  async list(caller: Principal, esiText: string): Promise<PersonConsents> {
    requireConsentRecorder(caller, "persons:read");
    const esi = parseEsi(esiText, "esi");
    const read = this.#ctx.storage.read;
    const person = await findVisible(read, caller, esi.key);
    const consents = await read.consents.listForPerson(person.id);
    this.#ctx.audit.recordRead(caller, "read", [consentSubject(person)]);
    return { esi: person.esi, consents };
  }

  /**
   * Records that the student gives consent to `purpose` in the wording `input.wordingVersion`. Giving
   * again in another wording replaces the record (the student agreed to the newer text); giving again in
   * the same wording changes nothing.
   */
  async give(
    caller: Principal,
    esiText: string,
    purposeText: string,
    input: ConsentInput,
  ): Promise<ConsentChange> {
    requireConsentRecorder(caller, "persons:write");
    const esi = parseEsi(esiText, "esi");
    const purpose = parseConsentPurpose(purposeText, "purpose");
    const wordingVersion = parseWordingVersion(purpose, input.wordingVersion, "/wordingVersion");
    const now = this.#ctx.clock.now().toISOString();
    return this.#change(purpose, async (tx) => {
      const person = await findVisible(tx, caller, esi.key);
      const current = await tx.consents.find(person.id, purpose);
      if (current?.state === "given" && current.wordingVersion === wordingVersion) {
        return { person, change: { esi: person.esi, consent: current, created: false }, changed: false };
      }
      const consent: Consent = {
        personId: person.id,
        purpose,
        state: "given",
        wordingVersion,
        recordedBy: caller.organisation.id,
        givenAt: now,
        withdrawnAt: null,
        updatedAt: now,
      };
      await this.#record(tx, caller, person, consent, "consent.given");
      return {
        person,
        change: { esi: person.esi, consent, created: current?.state !== "given" },
        changed: true,
      };
    });
  }

  /** Records that the student withdraws their consent to `purpose`; `CONSENT_NOT_GIVEN` if none is in effect. */
  async withdraw(caller: Principal, esiText: string, purposeText: string): Promise<ConsentChange> {
    requireConsentRecorder(caller, "persons:write");
    const esi = parseEsi(esiText, "esi");
    const purpose = parseConsentPurpose(purposeText, "purpose");
    const now = this.#ctx.clock.now().toISOString();
    return this.#change(purpose, async (tx) => {
      const person = await findVisible(tx, caller, esi.key);
      const current = await tx.consents.find(person.id, purpose);
      if (current?.state !== "given") {
        throw new ConflictError(
          "CONSENT_NOT_GIVEN",
          `no consent to ${purpose} is in effect for this person: there is nothing to withdraw`,
        );
      }
      const consent: Consent = {
        ...current,
        state: "withdrawn",
        recordedBy: caller.organisation.id,
        withdrawnAt: now,
        updatedAt: now,
      };
      await this.#record(tx, caller, person, consent, "consent.withdrawn");
      return { person, change: { esi: person.esi, consent, created: false }, changed: true };
    });
  }

  /**
   * Runs a change in one transaction; when it changed a consent the public status depends on, drops the
   * cached public answers of the holder's cards once it has committed (before the answer leaves).
   */
  async #change(
    purpose: ConsentPurpose,
    work: (tx: Repositories) => Promise<{ person: Person; change: ConsentChange; changed: boolean }>,
  ): Promise<ConsentChange> {
    let stale: readonly string[] = [];
    try {
      return await this.#ctx.storage.transaction(async (tx) => {
        const result = await work(tx);
        if (result.changed && purpose === "display-name-publication") {
          stale = (await tx.cards.listForPerson(result.person.id)).map((c) => c.escn);
        }
        return result.change;
      });
    } finally {
      for (const escn of stale) this.#options.cache.invalidate(escn);
    }
  }

  async #record(
    tx: Repositories,
    caller: Principal,
    person: Person,
    consent: Consent,
    type: "consent.given" | "consent.withdrawn",
  ): Promise<void> {
    await tx.consents.save(consent);
    const audience = (await tx.persons.links(person.id)).map((l) => l.organisationId);
    await tx.outbox.append([consentEvent(type, person.esi, audience, consent)]);
    await this.#ctx.audit.recordIn(tx, caller, "consent", [consentSubject(person)]);
  }
}

/**
 * Consent is recorded through the student's institution: an institution or student-service organisation
 * linked to the student. Card bureaus print cards for institutions and have no part in it; service
 * providers and the operator never see students.
 */
function requireConsentRecorder(caller: Principal, scope: "persons:read" | "persons:write"): void {
  const kind = caller.organisation.kind;
  if (kind !== "institution" && kind !== "student-service") {
    throw new ForbiddenError(
      `an organisation of kind ${kind} does not record students' consent; their institution does`,
    );
  }
  requireScope(caller, scope);
}

/** The person behind the ESI if the caller is linked to it; otherwise the same 404 as for an unknown ESI. */
async function findVisible(tx: Repositories, caller: Principal, esiKey: string): Promise<Person> {
  const person = await tx.persons.findByKey(esiKey);
  if (person) {
    const links = await tx.persons.links(person.id);
    if (links.some((l) => mayActFor(caller, l.organisationId))) return person;
  }
  throw new NotFoundError("PERSON_NOT_FOUND", "no person with this ESI is linked to your organisation");
}

/** A student's consents in the audit trail: by the student's internal number, never their ESI. */
function consentSubject(person: Person): AuditSubject {
  return { type: "consent", subject: String(person.id), personId: person.id };
}

function consentEvent(
  type: "consent.given" | "consent.withdrawn",
  esi: string,
  audience: readonly string[],
  consent: Consent,
): DomainEvent {
  return {
    type,
    subject: esi,
    audience,
    data: { esi, purpose: consent.purpose, wordingVersion: consent.wordingVersion, state: consent.state },
    occurredAt: consent.updatedAt,
  };
}
