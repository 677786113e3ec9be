/**
 * Status list rows and their mapping, shared by the SQLite and PostgreSQL adapters: both schemas have the
 * same columns. The entries live in a table of their own, `status_list_entries`, one row per list: up to
 * 250 KB that a lookup or a count of one more allocation must neither read nor rewrite (SQLite rewrites a
 * whole row, blob included, on any update of it).
 */
import type { StatusBits } from "../../../credentials/token-status-list.ts";
import type { StatusListRecord } from "../../../domain/status-list-record.ts";
import type { NewStatusList } from "../../../ports/storage.ts";

/** bigint columns may arrive as strings from `pg` (ids stay below 2^53). */
export interface StatusListRow {
  id: number | string;
  organisation_id: string;
  size: number;
  bits: StatusBits;
  allocated: number;
  state: StatusListRecord["state"];
  version: number;
  signed_version: number;
  token: string | null;
  token_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Every column of `status_lists` (the entries are in `status_list_entries`). */
export const STATUS_LIST_COLUMNS = `id, organisation_id, size, bits, allocated, state, version, signed_version, token,
  token_expires_at, created_at, updated_at`;

/** The columns a new list writes, in the order of {@link statusListInsertValues}; `id` is generated. */
export const STATUS_LIST_INSERT_COLUMNS = `organisation_id, size, bits, allocated, state, version, signed_version,
  created_at, updated_at`;

/** `STATUS_LIST_COLUMNS` of the list `l` with the entries of `e` (`status_list_entries`); callers add their `WHERE`. */
export const STATUS_LIST_WITH_ENTRIES = `SELECT l.id, l.organisation_id, l.size, l.bits, l.allocated, l.state, l.version,
  l.signed_version, l.token, l.token_expires_at, l.created_at, l.updated_at, e.entries
  FROM status_lists l JOIN status_list_entries e ON e.list_id = l.id`;

/**
 * The condition the entries of a save must meet, `size * bits / 8` bytes (rounded up), written with the
 * length as the last parameter: bytes of another list's shape would corrupt every status in it.
 */
export const ENTRIES_FIT = "(size * bits + 7) / 8";

export const toStatusList = (row: StatusListRow): StatusListRecord => ({
  id: Number(row.id),
  organisationId: row.organisation_id,
  size: row.size,
  bits: row.bits,
  allocated: row.allocated,
  state: row.state,
  version: row.version,
  signedVersion: row.signed_version,
  token: row.token,
  tokenExpiresAt: row.token_expires_at,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** How many bytes the entries of a list take. */
export function entriesLength(list: Pick<NewStatusList, "size" | "bits">): number {
  return Math.ceil((list.size * list.bits) / 8);
}

export function statusListInsertValues(list: NewStatusList): unknown[] {
  if (!Number.isSafeInteger(list.size) || list.size <= 0)
    throw new TypeError("size must be a positive integer");
  return [list.organisationId, list.size, list.bits, 0, "open", 1, 0, list.createdAt, list.createdAt];
}

/** The record of a list just made from `list` under `id`. */
export function newStatusList(id: number, list: NewStatusList): StatusListRecord {
  return {
    id,
    organisationId: list.organisationId,
    size: list.size,
    bits: list.bits,
    allocated: 0,
    state: "open",
    version: 1,
    signedVersion: 0,
    token: null,
    tokenExpiresAt: null,
    createdAt: list.createdAt,
    updatedAt: list.createdAt,
  };
}

/** The bytes as both drivers bind a blob (a `Buffer`), without copying them. */
export function asBlob(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A copy of the stored entries as a plain `Uint8Array`, the caller's to change. */
export function entriesOf(blob: Uint8Array): Uint8Array {
  return new Uint8Array(blob);
}
