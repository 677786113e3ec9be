import { NotFoundError } from "../domain/errors.ts";
import type { MirrorJob, MirrorSummary } from "../domain/mirror-job.ts";
import type { Keyed, KeysetPage, Storage } from "../ports/storage.ts";
import { type Principal, requireScope, requireStudentDataHolder } from "./principal.ts";

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
 * has one.
 */
export class MirrorReportService {
  readonly #storage: Storage;
  readonly #mirrors: ReadonlyMap<string, MirrorEndpoint>;

  constructor(storage: Storage, mirrors: readonly MirrorEndpoint[]) {
    this.#storage = storage;
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
    return this.refusalsFor(this.#mirrorOf(caller.organisation.id).organisationId, page);
  }

  /** The report of any organisation's mirror, for the operator's command line. */
  async reportFor(organisationId: string): Promise<MirrorReport> {
    const mirror = this.#mirrorOf(organisationId);
    const summary = await this.#storage.read.mirrorJobs.summary(organisationId);
    return { organisationId, url: mirror.url, ...summary };
  }

  async refusalsFor(organisationId: string, page: KeysetPage): Promise<Keyed<MirrorJob>> {
    this.#mirrorOf(organisationId);
    return this.#storage.read.mirrorJobs.listRefused(organisationId, page);
  }

  #mirrorOf(organisationId: string): MirrorEndpoint {
    const mirror = this.#mirrors.get(organisationId);
    if (!mirror) {
      throw new NotFoundError("MIRROR_NOT_FOUND", "no ESC Router mirror is configured for this organisation");
    }
    return mirror;
  }
}
