import { NotFoundError } from "../domain/errors.ts";
import { esiKey } from "../domain/esi.ts";
import { ERASED_PREFIX, type MirrorJob, type MirrorSummary } from "../domain/mirror-job.ts";
import type { Keyed, KeysetPage } from "../ports/storage.ts";
import type { AuditSubject } from "./audit-trail.ts";
import { personAuditSubject } from "./person-removal.ts";
import { type Principal, requireScope, requireStudentDataHolder } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

/** One organisation's mirror, as configured: the router's base URL (its token is never shown). */
export interface MirrorEndpoint {
  readonly organisationId: string;
  readonly url: string;
}

/** The report of one organisation's mirror. */
export interface MirrorReport extends MirrorSummary {
  readonly organisationId: string;
  /** The router's base URL. */
  readonly url: string;
}

/**
 * What an organisation's mirror to an ESC Router has done: how many of its persons and cards are
 * pending, done and refused, the last success and failure, and the refusals with the router's words.
 * Each organisation sees only its own mirror; one without a mirror gets `MIRROR_NOT_FOUND`, whoever else
 * has one. The refusals name students (their ESI, their card's number): each listing is in the audit trail.
 */
export class MirrorReportService {
  readonly #ctx: Pick<ServiceContext, "storage" | "audit">;
  readonly #mirrors: ReadonlyMap<string, MirrorEndpoint>;

  constructor(ctx: Pick<ServiceContext, "storage" | "audit">, mirrors: readonly MirrorEndpoint[]) {
    this.#ctx = ctx;
    this.#mirrors = new Map(mirrors.map((m) => [m.organisationId, m]));
  }

  /** The caller organisation's mirror. */
  async report(caller: Principal): Promise<MirrorReport> {
    requireStudentDataHolder(caller, "cards:read");
    return this.reportFor(this.#mirrorOf(caller.organisation.id).organisationId);
  }

  /** The caller organisation's refused jobs: persons and cards the router would not take. */
  async refusals(caller: Principal, page: KeysetPage): Promise<Keyed<MirrorJob>> {
    requireStudentDataHolder(caller, "cards:read");
    // Refusals name persons by their ESI.
    requireScope(caller, "persons:read");
    const refused = await this.refusalsFor(this.#mirrorOf(caller.organisation.id).organisationId, page);
    const subjects = await this.#auditSubjects(refused.items);
    if (subjects.length > 0) this.#ctx.audit.recordRead(caller, "read", subjects);
    return refused;
  }

  /** The report of any organisation's mirror, for the operator's command line. */
  async reportFor(organisationId: string): Promise<MirrorReport> {
    const mirror = this.#mirrorOf(organisationId);
    const summary = await this.#ctx.storage.read.mirrorJobs.summary(organisationId);
    return { organisationId, url: mirror.url, ...summary };
  }

  async refusalsFor(organisationId: string, page: KeysetPage): Promise<Keyed<MirrorJob>> {
    this.#mirrorOf(organisationId);
    return this.#ctx.storage.read.mirrorJobs.listRefused(organisationId, page);
  }

  /** The trail's subjects of a page: each card by its number, each person still held by their internal number. */
  async #auditSubjects(jobs: readonly MirrorJob[]): Promise<AuditSubject[]> {
    const subjects: AuditSubject[] = [];
    for (const job of jobs) {
      if (job.kind === "card") {
        subjects.push({ type: "card", subject: job.subject, personId: null });
      } else if (!job.subject.startsWith(ERASED_PREFIX)) {
        const key = keyOf(job.subject);
        const person = key === null ? undefined : await this.#ctx.storage.read.persons.findByKey(key);
        if (person) subjects.push(personAuditSubject(person));
      }
    }
    return subjects;
  }

  #mirrorOf(organisationId: string): MirrorEndpoint {
    const mirror = this.#mirrors.get(organisationId);
    if (!mirror) {
      throw new NotFoundError("MIRROR_NOT_FOUND", "no ESC Router mirror is configured for this organisation");
    }
    return mirror;
  }
}

/** The ESI's matching key, or null for a value that is no ESI (then no person has it). */
function keyOf(esi: string): string | null {
  try {
    return esiKey(esi);
  } catch {
    return null;
  }
}
