import type { StatusBits } from "../credentials/token-status-list.ts";

/**
 * One Token Status List of an issuer, as the store holds it: the raw entries (uncompressed, `bits` per
 * entry, least significant bits first as the specification lays them out) and the last signed token.
 * `version` moves on every change of an entry; the token was signed from `signedVersion`, so a list whose
 * two versions differ waits to be signed again.
 */
export interface StatusListRecord {
  /** A number, unique across the deployment: the list's URL ends with it. */
  readonly id: number;
  readonly organisationId: string;
  /** How many entries the list has. */
  readonly size: number;
  readonly bits: StatusBits;
  /** How many entries have been handed to credentials (entries are never handed out twice). */
  readonly allocated: number;
  /** `open` hands out entries; `full` no longer does (kept and served while credentials refer to it). */
  readonly state: "open" | "full";
  readonly version: number;
  readonly signedVersion: number;
  /** The signed `statuslist+jwt`, or null before the first signing. */
  readonly token: string | null;
  /** When the served token's `exp` falls; it is signed again before. */
  readonly tokenExpiresAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}
