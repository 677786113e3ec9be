/**
 * The mirror of an organisation's persons and cards on an ESC Router: one job per (organisation, subject),
 * queued again whenever the subject changes. A job carries no data of its own: when it runs, it reads the
 * subject's current state at the hub and sends that (or a removal), so a replayed or reordered event
 * changes nothing but the number of requests.
 */

export const MIRROR_JOB_KINDS = ["person", "card"] as const;
export type MirrorJobKind = (typeof MIRROR_JOB_KINDS)[number];

/** `pending` until the router accepts (`done`) or refuses (`refused`) what the hub holds now. */
export const MIRROR_JOB_STATES = ["pending", "done", "refused"] as const;
export type MirrorJobState = (typeof MIRROR_JOB_STATES)[number];

/** The ESC-R V2 operation last sent: `PUT` (update), `POST` (create, after a 404) or `DELETE`. */
export const MIRROR_OPERATIONS = ["PUT", "POST", "DELETE"] as const;
export type MirrorOperation = (typeof MIRROR_OPERATIONS)[number];

export interface MirrorJob {
  readonly id: number;
  /** The organisation whose data is mirrored (the mirror is known by it). */
  readonly organisationId: string;
  readonly kind: MirrorJobKind;
  /** The ESI or ESCN sent to the router; a person's ESI becomes its pseudonym once the router removed them. */
  readonly subject: string;
  /** What events still name the subject by after an erasure: the ESI's pseudonym, or the ESCN. */
  readonly subjectKey: string;
  /** Feed position of the latest event that queued the job; a replayed, older event queues nothing. */
  readonly position: number;
  readonly state: MirrorJobState;
  /** Failed attempts since the subject last changed. */
  readonly attempts: number;
  readonly queuedAt: string;
  readonly nextAttemptAt: string;
  readonly operation: MirrorOperation | null;
  readonly lastAttemptAt: string | null;
  /** The router's HTTP status, null when no answer came (timeout, connection). */
  readonly lastStatus: number | null;
  /** The router's error `code`, when it answered `{code, message}`. */
  readonly lastCode: string | null;
  /** The router's error `message`, or why no answer came; null after a success. */
  readonly lastMessage: string | null;
  /** When the router accepted or refused; null while pending. */
  readonly settledAt: string | null;
}

/** A change to mirror. `subject` null: only a job that already exists is queued again (an erased ESI). */
export interface NewMirrorJob {
  readonly organisationId: string;
  readonly kind: MirrorJobKind;
  readonly subject: string | null;
  readonly subjectKey: string;
  readonly position: number;
  readonly queuedAt: string;
}

/** The prefix of the pseudonym an erased ESI leaves in events and in a removed person's job. */
export const ERASED_PREFIX = "erased:";

/** What happened to one attempt, as the sender records it. */
export type MirrorOutcome =
  | {
      /** The router holds what the hub holds (or, after a removal, nothing). */
      readonly state: "done";
      readonly at: string;
      readonly status: number | null;
      readonly operation: MirrorOperation | null;
      /** Replaces the subject (a removed person's ESI by its pseudonym); null keeps it. */
      readonly subject: string | null;
    }
  | {
      /** The router refused: kept for the report, not tried again until the subject changes. */
      readonly state: "refused";
      readonly at: string;
      readonly status: number;
      readonly operation: MirrorOperation;
      readonly code: string | null;
      readonly message: string;
    }
  | {
      /** No answer, or one that may change: tried again at `nextAttemptAt`. */
      readonly state: "failed";
      readonly at: string;
      readonly status: number | null;
      readonly operation: MirrorOperation | null;
      readonly code: string | null;
      readonly message: string;
      readonly nextAttemptAt: string;
    }
  | {
      /** Not tried: waits for another job (a card for its holder), until `nextAttemptAt`. */
      readonly state: "postponed";
      readonly nextAttemptAt: string;
    };

/** What the report shows of a mirror's queue. */
export interface MirrorSummary {
  readonly pending: number;
  readonly done: number;
  readonly refused: number;
  /** Pending jobs whose latest attempt failed (the router down, a bad token…). */
  readonly retrying: number;
  readonly lastSuccessAt: string | null;
  /** The latest failed attempt of a job still pending, or null. */
  readonly lastFailure: {
    readonly at: string;
    readonly status: number | null;
    readonly code: string | null;
    readonly message: string;
  } | null;
}
