import type { NewAuditEntry } from "../domain/audit-entry.ts";
import type { DomainEvent } from "../domain/events.ts";
import { addDays, type IsoDate } from "../domain/iso-date.ts";
import type { StudentStatus } from "../domain/student-status.ts";
import type { Storage } from "../ports/storage.ts";
import type { RunKeys } from "./run-keys.ts";
import { connectorAuditEntry, statusChangedEvent } from "./sync-events.ts";

const MS_PER_DAY = 86_400_000;

export interface WithdrawalRun {
  readonly connector: string;
  readonly organisationId: string;
  /** When the run started: whoever the connector saw since is not missing. */
  readonly startedAt: string;
  readonly graceDays: number;
  readonly batchSize: number;
}

export interface WithdrawalCounts {
  readonly missing: number;
  readonly ended: number;
}

/**
 * What a completed run does last: persons the connector saw before and not in this run are missing from
 * now on (unless they already were); those missing for `graceDays` or longer get their status at the
 * organisation `ended`, with its event, and are forgotten by the connector. A person is never deleted:
 * retention removes the link later, as for any ended status.
 *
 * The ended status's `validUntil` becomes yesterday, the last day the hub still counted them as a student
 * (an earlier `validUntil` stays; it never goes before `validFrom`). A person with no status there has
 * nothing to end and is only forgotten. Each batch is one transaction; a crash in between leaves the rest
 * for the next run.
 */
export async function withdrawMissing(
  storage: Storage,
  run: WithdrawalRun,
  now: Date,
  today: IsoDate,
): Promise<WithdrawalCounts> {
  const at = now.toISOString();
  const { connector, organisationId, startedAt } = run;
  const missing = await storage.transaction((tx) =>
    tx.connectorPresence.markMissing(connector, organisationId, startedAt, at),
  );
  const dueSince = new Date(now.getTime() - run.graceDays * MS_PER_DAY).toISOString();
  let ended = 0;
  for (;;) {
    const step = await storage.transaction(async (tx) => {
      const due = await tx.connectorPresence.listMissing(
        connector,
        organisationId,
        startedAt,
        dueSince,
        run.batchSize,
      );
      if (due.length === 0) return { listed: 0, ended: 0 };
      const snapshot = await tx.syncState.snapshot(
        organisationId,
        due.map((d) => d.esiKey),
        [],
      );
      const events: DomainEvent[] = [];
      const audit: NewAuditEntry[] = [];
      for (const status of snapshot.statuses) {
        if (status.state === "ended") continue;
        const saved = await tx.statuses.save(endedStatus(status, today, at), status.version);
        // Changed meanwhile by another writer: it stays as that writer left it, and is forgotten below.
        if (!saved) continue;
        events.push(statusChangedEvent(saved, at));
        audit.push(
          connectorAuditEntry(
            {
              action: "update",
              subjectType: "student-status",
              subject: String(saved.personId),
              personId: saved.personId,
            },
            organisationId,
            at,
          ),
        );
      }
      await tx.outbox.append(events);
      await tx.audit.append(audit);
      await tx.connectorPresence.forget(
        connector,
        organisationId,
        due.map((d) => d.personId),
      );
      return { listed: due.length, ended: events.length };
    });
    ended += step.ended;
    if (step.listed < run.batchSize) break;
  }
  return { missing, ended };
}

/**
 * What {@link withdrawMissing} would do, without writing: persons the connector remembers that this run
 * did not meet (`met` holds the ESI keys of every record the run read).
 */
export async function previewWithdrawals(
  storage: Storage,
  run: WithdrawalRun,
  met: Pick<RunKeys, "has">,
  now: Date,
): Promise<WithdrawalCounts> {
  const { connector, organisationId } = run;
  const at = now.toISOString();
  const dueSince = new Date(now.getTime() - run.graceDays * MS_PER_DAY).toISOString();
  let missing = 0;
  let ended = 0;
  for (let after = 0; ; ) {
    const page = await storage.read.connectorPresence.list(connector, organisationId, after, run.batchSize);
    const gone = page.filter((p) => !met.has(p.esiKey));
    missing += gone.length;
    const due = gone.filter((p) => (p.missingSince ?? at) <= dueSince);
    if (due.length > 0) {
      const snapshot = await storage.read.syncState.snapshot(
        organisationId,
        due.map((d) => d.esiKey),
        [],
      );
      ended += snapshot.statuses.filter((s) => s.state !== "ended").length;
    }
    const last = page.at(-1);
    if (page.length < run.batchSize || !last) break;
    after = last.personId;
  }
  return { missing, ended };
}

function endedStatus(status: StudentStatus, today: IsoDate, at: string): Omit<StudentStatus, "version"> {
  const yesterday = addDays(today, -1);
  let validUntil =
    status.validUntil !== null && status.validUntil < yesterday ? status.validUntil : yesterday;
  if (validUntil < status.validFrom) validUntil = status.validFrom;
  return { ...status, state: "ended", validUntil, updatedAt: at };
}
