import type { AcademicLevel } from "../domain/academic-level.ts";
import type { CardStatus, InactiveReason } from "../domain/card.ts";
import type { CardType } from "../domain/card-type.ts";
import type { Escn } from "../domain/escn.ts";
import type { IsoDate } from "../domain/iso-date.ts";
import type { StudentStatusState } from "../domain/student-status.ts";

/**
 * What every source (CSV, JSON Lines, an LDAP directory, an SQL query) yields for one student of one
 * organisation, already validated: the sync engine compares it with the hub's state and applies only the
 * differences. Each part but the person is optional: a directory may know statuses but no cards.
 */
export interface SourceRecord {
  /** Where it came from, for reports: a row number (1 = the first data row), a DN, a query row. */
  readonly origin: RecordOrigin;
  readonly person: SourcePerson;
  readonly status: SourceStatus | null;
  readonly card: SourceCard | null;
}

export interface RecordOrigin {
  /** 1-based position among the source's records (a file's data rows, a query's rows, a search's entries). */
  readonly row: number;
  /** A readable locator when there is one beyond the row: an LDAP DN, a file name. */
  readonly locator?: string;
}

export interface SourcePerson {
  /** The ESI, as given (parsed: `parseEsi` accepted it). */
  readonly esi: string;
  readonly fullName: string;
  readonly academicLevel: AcademicLevel | null;
  readonly email: string | null;
}

export interface SourceStatus {
  readonly state: StudentStatusState;
  readonly validFrom: IsoDate;
  readonly validUntil: IsoDate | null;
}

export interface SourceCard {
  /**
   * The card's number when the source knows it; null for "the holder's card of this type from this issuer",
   * which the engine matches (or creates, with a generated ESCN) so that a re-run never makes a second card.
   */
  readonly escn: Escn | null;
  readonly cardType: CardType;
  readonly status: CardStatus;
  readonly inactiveReason: InactiveReason | null;
  readonly issuedAt: IsoDate;
  readonly expiresAt: IsoDate;
  readonly displayName: string | null;
}

/** A record a source could not read: where, which field, and why (what a per-row report shows). */
export interface RecordProblem {
  readonly origin: RecordOrigin;
  /** The field (column name, attribute, JSON pointer) at fault, or "" for the record as a whole. */
  readonly field: string;
  readonly reason: string;
  /**
   * The record's ESI when it could be read: the student is still in the source, only another of their
   * fields is wrong, so a sync must not withdraw them for it. Never shown in reports.
   */
  readonly esi?: string;
}

/** One item of a source: a record to sync, or a problem to report (the sync goes on with the next). */
export type SourceItem = { readonly record: SourceRecord } | { readonly problem: RecordProblem };

/**
 * A source of records. Sources stream: `items()` yields as it reads (a file row by row, a directory page
 * by page), so that memory stays flat whatever the size. A source fails as a whole (thrown from `items()`)
 * only when it cannot be read at all: a file that does not exist, a directory that refuses the bind.
 */
export interface Source {
  /** What it reads, for logs and the run's record: `csv:students.csv`, `ldap://…`, `sql:postgres`. */
  readonly description: string;
  items(): AsyncIterable<SourceItem>;
}
