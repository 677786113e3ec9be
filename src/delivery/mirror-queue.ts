import { esiKey } from "../domain/esi.ts";
import { eventFamily, type StoredEvent } from "../domain/events.ts";
import { ERASED_PREFIX, type MirrorJobKind, type NewMirrorJob } from "../domain/mirror-job.ts";
import type { Clock } from "../ports/clock.ts";
import type { Storage } from "../ports/storage.ts";
import { erasedPseudonym } from "../services/person-removal.ts";

/** Consumer group on the bus whose members queue the mirror's jobs. */
export const MIRROR_GROUP = "openesc-mirror";

/**
 * What a person job is known by: the pseudonym an erasure would leave of the ESI, so that the events of a
 * person removed at the hub, which carry only that pseudonym, still find the job that holds the ESI (and
 * can tell the router to remove the person).
 */
export function personSubjectKey(esi: string): string {
  return esi.startsWith(ERASED_PREFIX) ? esi : erasedPseudonym(matchingKey(esi));
}

/**
 * The ESI's matching key, as the person record has it. An ESI the hub stored always parses; should one not
 * (data older than a rule), its lower case is the key, rather than an error that would hold up the queue.
 */
export function matchingKey(esi: string): string {
  try {
    return esiKey(esi);
  } catch {
    return esi.toLowerCase();
  }
}

/**
 * Turns events into mirror jobs: every person event (`person.linked|updated|unlinked`) and card event
 * (`card.created|updated|expired|deleted`) of an organisation with a mirror queues one job for that
 * person or card, coalesced with any job already queued for it. The job carries no data: the sender reads
 * the current state when it runs. So a batch delivered again, or out of order, queues nothing new (a job
 * remembers the latest event that queued it), and many changes of one card make one request.
 */
export class MirrorQueue {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #organisations: ReadonlySet<string>;
  readonly #onQueued: () => void;

  constructor(
    storage: Storage,
    clock: Clock,
    organisationIds: readonly string[],
    options: { onQueued: () => void },
  ) {
    this.#storage = storage;
    this.#clock = clock;
    this.#organisations = new Set(organisationIds);
    this.#onQueued = options.onQueued;
  }

  /** The bus consumer: queues the jobs of a batch in one transaction. */
  async handle(batch: readonly StoredEvent[]): Promise<void> {
    const queuedAt = this.#clock.now().toISOString();
    const jobs = new Map<string, NewMirrorJob>();
    for (const event of batch) {
      const job = this.#jobOf(event, queuedAt);
      if (job === null) continue;
      const key = `${job.organisationId}\u0000${job.kind}\u0000${job.subjectKey}`;
      const earlier = jobs.get(key);
      // The latest event decides; an ESI given by any event of the batch is kept (it makes the job).
      jobs.set(key, {
        ...job,
        position: Math.max(job.position, earlier?.position ?? 0),
        subject: job.subject ?? earlier?.subject ?? null,
      });
    }
    if (jobs.size === 0) return;
    const queued = await this.#storage.transaction((tx) => tx.mirrorJobs.enqueue([...jobs.values()]));
    if (queued > 0) this.#onQueued();
  }

  #jobOf(event: StoredEvent, queuedAt: string): NewMirrorJob | null {
    const family = eventFamily(event.type);
    let kind: MirrorJobKind;
    let organisation: unknown;
    if (family === "person") {
      kind = "person";
      organisation = event.data["organisation"];
    } else if (family === "card") {
      kind = "card";
      organisation = event.data["issuer"];
    } else {
      return null;
    }
    if (typeof organisation !== "string" || !this.#organisations.has(organisation)) return null;
    const erased = event.subject.startsWith(ERASED_PREFIX);
    return {
      organisationId: organisation,
      kind,
      subject: erased ? null : event.subject,
      subjectKey: kind === "person" ? personSubjectKey(event.subject) : event.subject,
      position: event.position,
      queuedAt,
    };
  }
}
