import type { Escn } from "../domain/escn.ts";
import {
  ERASED_PREFIX,
  type MirrorJob,
  type MirrorOperation,
  type MirrorOutcome,
} from "../domain/mirror-job.ts";
import type { Clock } from "../ports/clock.ts";
import { OutboundFailure } from "../ports/outbound-http.ts";
import type { Storage } from "../ports/storage.ts";
import {
  cardUpdateView,
  type EscRouterClient,
  personUpdateView,
  type RouterAnswer,
  routerPath,
} from "./esc-router-client.ts";
import { matchingKey, personSubjectKey } from "./mirror-queue.ts";
import type { MirrorTarget } from "./mirror-targets.ts";
import type { RetryPolicy } from "./retry-policy.ts";

export interface MirrorSenderOptions {
  /** This process, as the holder of its claims. */
  readonly holder: string;
  /** Longest one call to a router may take (a job makes two at most). */
  readonly timeoutMs: number;
  /** Jobs claimed at once. */
  readonly batchSize?: number;
  /** Calls under way at once to one router. */
  readonly concurrency?: number;
}

/** What a job comes to once the hub's current state is read. */
type Plan =
  | { readonly job: MirrorJob; readonly target: MirrorTarget; readonly action: "nothing" }
  | {
      readonly job: MirrorJob;
      readonly target: MirrorTarget;
      readonly action: "upsert";
      readonly body: object;
      /** A card's holder, who must be on the router first. */
      readonly holderEsi: string | null;
    }
  | { readonly job: MirrorJob; readonly target: MirrorTarget; readonly action: "remove" };

/**
 * Pushes claimed mirror jobs to their routers with the ESC-R V2 write operations. A job reads the current
 * state at the hub: a person the organisation holds is `PUT` (and `POST`ed when the router answers 404),
 * one it no longer holds is `DELETE`d; likewise a card. Within a batch persons go first, then cards, then
 * removals of persons (a router refuses to remove a person who still holds cards), and a card waits for
 * its holder's job to be settled (queuing one when there is none).
 *
 * - 2xx (and 404 to a `DELETE`): done.
 * - No answer, 3xx, 408, 429, 5xx, and 409 to a person's `DELETE` (their cards go first): tried again
 *   with the retry policy's backoff, for as long as it takes.
 * - 401 and 403 (a bad or expired token, an address not allowed): tried again at the longest delay, and
 *   shown in the report.
 * - Any other 4xx: refused, with the router's `{code, message}`; not tried again until the subject changes.
 */
export class MirrorSender {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #client: EscRouterClient;
  readonly #targets: ReadonlyMap<string, MirrorTarget>;
  readonly #policy: RetryPolicy;
  readonly #options: Required<MirrorSenderOptions>;

  constructor(
    storage: Storage,
    clock: Clock,
    client: EscRouterClient,
    targets: readonly MirrorTarget[],
    policy: RetryPolicy,
    options: MirrorSenderOptions,
  ) {
    this.#storage = storage;
    this.#clock = clock;
    this.#client = client;
    this.#targets = new Map(targets.map((t) => [t.organisationId, t]));
    this.#policy = policy;
    this.#options = { batchSize: 64, concurrency: 4, ...options };
  }

  /** Claims what is due and pushes it; true when the batch was full (more may be due). */
  async runOnce(): Promise<boolean> {
    const now = this.#clock.now();
    const { batchSize, holder, timeoutMs } = this.#options;
    const jobs = await this.#storage.transaction((tx) =>
      tx.mirrorJobs.claimDue({
        now: now.toISOString(),
        holder,
        // Two calls a job, one after the other, and the bookkeeping: a dead process's claims lapse after it.
        until: new Date(now.getTime() + 4 * timeoutMs + 5000).toISOString(),
        limit: batchSize,
        organisationIds: [...this.#targets.keys()],
      }),
    );
    if (jobs.length === 0) return false;
    const plans: Plan[] = [];
    for (const job of jobs) {
      const target = this.#targets.get(job.organisationId);
      if (target) plans.push(await this.#plan(job, target));
    }
    const personUpserts = plans.filter((p) => p.job.kind === "person" && p.action === "upsert");
    const cards = plans.filter((p) => p.job.kind === "card");
    const rest = plans.filter((p) => !personUpserts.includes(p) && !cards.includes(p));
    for (const wave of [personUpserts, cards, rest]) await this.#run(wave);
    return jobs.length === batchSize;
  }

  /** The request a job makes, from what the hub holds now. */
  async #plan(job: MirrorJob, target: MirrorTarget): Promise<Plan> {
    const read = this.#storage.read;
    if (job.kind === "person") {
      // The router already removed this person (the job keeps only the pseudonym).
      if (job.subject.startsWith(ERASED_PREFIX)) return { job, target, action: "nothing" };
      const person = await read.persons.findByKey(matchingKey(job.subject));
      const link = person && (await read.persons.findLink(person.id, job.organisationId));
      if (!person || !link) return { job, target, action: "remove" };
      return { job, target, action: "upsert", body: personUpdateView(person.esi, link), holderEsi: null };
    }
    const card = await read.cards.findByEscn(job.subject as Escn);
    if (!card || card.issuerId !== job.organisationId) return { job, target, action: "remove" };
    return { job, target, action: "upsert", body: cardUpdateView(card), holderEsi: card.esi };
  }

  /** Runs plans a few at a time per router, then records their outcomes in one transaction. */
  async #run(plans: readonly Plan[]): Promise<void> {
    if (plans.length === 0) return;
    const outcomes: [MirrorJob, MirrorOutcome][] = [];
    const queue = [...plans];
    const worker = async () => {
      for (let plan = queue.shift(); plan !== undefined; plan = queue.shift()) {
        outcomes.push([plan.job, await this.#execute(plan)]);
      }
    };
    const workers = Math.min(queue.length, this.#options.concurrency * this.#targets.size);
    await Promise.all(Array.from({ length: workers }, worker));
    await this.#storage.transaction(async (tx) => {
      for (const [job, outcome] of outcomes) await tx.mirrorJobs.settle(job.id, job.position, outcome);
    });
  }

  async #execute(plan: Plan): Promise<MirrorOutcome> {
    const { job, target } = plan;
    const at = () => this.#clock.now().toISOString();
    if (plan.action === "nothing") {
      return { state: "done", at: at(), status: null, operation: null, subject: null };
    }
    const collection = job.kind === "person" ? "persons" : "cards";
    if (plan.action === "remove") {
      const answer = await this.#send(target, "DELETE", routerPath(collection, job.subject), null);
      // A person removed from the router keeps, in the job, only the pseudonym their events carry.
      const forget = job.kind === "person" ? job.subjectKey : null;
      return this.#outcomeOf(job, "DELETE", answer, forget);
    }
    if (plan.holderEsi !== null) {
      const waiting = await this.#waitForHolder(job, plan.holderEsi);
      if (waiting) return waiting;
    }
    const put = await this.#send(target, "PUT", routerPath(collection, job.subject), plan.body);
    if (put instanceof OutboundFailure || put.status !== 404) return this.#outcomeOf(job, "PUT", put, null);
    const post = await this.#send(target, "POST", routerPath(collection, null), plan.body);
    return this.#outcomeOf(job, "POST", post, null);
  }

  /**
   * A card goes after its holder: postponed while the holder's job is pending (until that job's next
   * attempt), and when the holder has no job (mirrored before the mirror began), one is queued first.
   */
  async #waitForHolder(job: MirrorJob, esi: string): Promise<MirrorOutcome | null> {
    const key = personSubjectKey(esi);
    const holder = await this.#storage.read.mirrorJobs.find(job.organisationId, "person", key);
    if (holder && holder.state !== "pending") return null;
    const now = this.#clock.now();
    if (!holder) {
      await this.#storage.transaction((tx) =>
        tx.mirrorJobs.enqueue([
          {
            organisationId: job.organisationId,
            kind: "person",
            subject: esi,
            subjectKey: key,
            position: job.position,
            queuedAt: now.toISOString(),
          },
        ]),
      );
    }
    const soon = now.getTime() + this.#policy.settings.baseDelayMs;
    const due = holder ? Math.max(soon, Date.parse(holder.nextAttemptAt)) : soon;
    return { state: "postponed", nextAttemptAt: new Date(due).toISOString() };
  }

  async #send(
    target: MirrorTarget,
    method: MirrorOperation,
    path: string,
    body: object | null,
  ): Promise<RouterAnswer | OutboundFailure> {
    try {
      return await this.#client.send(target, method, path, body);
    } catch (error) {
      if (error instanceof OutboundFailure) return error;
      throw error;
    }
  }

  #outcomeOf(
    job: MirrorJob,
    operation: MirrorOperation,
    answer: RouterAnswer | OutboundFailure,
    forget: string | null,
  ): MirrorOutcome {
    const now = this.#clock.now();
    const at = now.toISOString();
    if (answer instanceof OutboundFailure) {
      return {
        ...this.#retry(job, now, answer),
        at,
        status: null,
        operation,
        code: null,
        message: answer.message,
      };
    }
    const { status, code } = answer;
    if ((status >= 200 && status < 300) || (status === 404 && operation === "DELETE")) {
      return { state: "done", at, status, operation, subject: forget };
    }
    const message = describe(answer);
    if (status === 401 || status === 403) {
      // A token the router no longer takes: nothing gets through until someone fixes it.
      const next = new Date(now.getTime() + this.#policy.settings.maxDelayMs).toISOString();
      return { state: "failed", at, status, operation, code, message, nextAttemptAt: next };
    }
    const retryable =
      status < 400 ||
      status >= 500 ||
      status === 408 ||
      status === 429 ||
      (status === 409 && operation === "DELETE" && job.kind === "person");
    if (retryable) return { ...this.#retry(job, now, answer), at, status, operation, code, message };
    return { state: "refused", at, status, operation, code, message };
  }

  #retry(job: MirrorJob, now: Date, outcome: RouterAnswer | OutboundFailure) {
    const next =
      this.#policy.nextAttemptAt(job.attempts + 1, now, now, Math.random, outcome) ??
      new Date(now.getTime() + this.#policy.settings.maxDelayMs);
    return { state: "failed" as const, nextAttemptAt: next.toISOString() };
  }
}

/** The router's own words when it gave some, else its status. */
function describe(answer: RouterAnswer): string {
  if (answer.message !== null && answer.message !== "") return answer.message;
  if (answer.status >= 300 && answer.status < 400) {
    return `answered ${answer.status}: redirects are not followed${answer.location ? ` (to ${answer.location.slice(0, 200)})` : ""}`;
  }
  return `answered ${answer.status}`;
}
