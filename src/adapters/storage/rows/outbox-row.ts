/** Outbox rows, their mapping and pseudonymisation, shared by the SQLite and PostgreSQL adapters: both schemas have the same columns. */
import type { EventType, StoredEvent } from "../../../domain/events.ts";
import type { Pseudonymisation } from "../../../ports/storage.ts";

export interface OutboxRow {
  /** bigint: `pg` may answer it as a string. */
  position: number | string;
  id: string;
  type: EventType;
  subject: string;
  audience: string;
  data: string;
  occurred_at: string;
}

/** Identifiers looked for in one pass over the outbox (two parameters each on SQLite, well below its limit). */
export const PSEUDONYMISE_CHUNK = 200;

export const toStoredEvent = (row: OutboxRow): StoredEvent => ({
  id: row.id,
  position: Number(row.position),
  type: row.type,
  subject: row.subject,
  audience: JSON.parse(row.audience) as string[],
  data: JSON.parse(row.data) as StoredEvent["data"],
  occurredAt: row.occurred_at,
});

/**
 * The row's subject and data with each value that is one of the identifiers (case-insensitively) replaced by
 * its pseudonym, when the row's audience lies within the target's; `undefined` when nothing changes.
 */
export function pseudonymiseRow(
  row: Pick<OutboxRow, "subject" | "audience" | "data">,
  byKey: ReadonlyMap<string, Pseudonymisation>,
): { subject: string; data: string } | undefined {
  const audience = JSON.parse(row.audience) as string[];
  const pseudonymOf = (value: unknown): string | undefined => {
    if (typeof value !== "string") return undefined;
    const target = byKey.get(value.toLowerCase());
    if (!target) return undefined;
    const within = target.audience === null || audience.every((o) => target.audience?.includes(o));
    return within ? target.pseudonym : undefined;
  };
  const data = JSON.parse(row.data) as Record<string, unknown>;
  let touched = false;
  const subject = pseudonymOf(row.subject) ?? row.subject;
  if (subject !== row.subject) touched = true;
  for (const [name, value] of Object.entries(data)) {
    const pseudonym = pseudonymOf(value);
    if (pseudonym !== undefined) {
      data[name] = pseudonym;
      touched = true;
    }
  }
  return touched ? { subject, data: JSON.stringify(data) } : undefined;
}
