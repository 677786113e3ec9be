import { createHash } from "node:crypto";
import type { Purpose } from "./purpose.ts";

/**
 * One line of the audit trail: who (organisation and token) did what to which personal data, when and
 * why. Entries form a hash chain: each carries the SHA-256 of its predecessor's hash and its own
 * content, so that changing, removing or reordering any entry breaks every hash after it.
 * Entries hold no names or contact data; a person is referred to by the hub's internal number only, so
 * that erasing the person leaves a pseudonymised trail.
 */
export const AUDIT_ACTIONS = ["read", "create", "update", "delete", "export", "erase", "consent"] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_SUBJECTS = ["person", "card", "student-status", "consent"] as const;
export type AuditSubjectType = (typeof AUDIT_SUBJECTS)[number];

export interface NewAuditEntry {
  readonly at: string;
  /** Null for anonymous access (the public status). */
  readonly organisationId: string | null;
  readonly tokenId: string | null;
  readonly action: AuditAction;
  readonly purpose: Purpose;
  readonly subjectType: AuditSubjectType;
  /** The ESCN for a card; the person's internal number otherwise. */
  readonly subject: string;
  /** The person the data is about, when known: what a student's own trail is found by. */
  readonly personId: number | null;
}

export interface AuditEntry extends NewAuditEntry {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** The hash before the first entry (and the anchor of a trail no entry was ever purged from). */
export const GENESIS_HASH = "0".repeat(64);

/** The chain hash of an entry: SHA-256 over the previous hash and a canonical encoding of the entry. */
export function auditHash(prevHash: string, seq: number, entry: NewAuditEntry): string {
  const canonical = JSON.stringify([
    seq,
    entry.at,
    entry.organisationId,
    entry.tokenId,
    entry.action,
    entry.purpose,
    entry.subjectType,
    entry.subject,
    entry.personId,
  ]);
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}

/** The first entry whose hash or link does not match, or undefined when the chain holds. */
export function firstBrokenLink(
  entries: Iterable<AuditEntry>,
  anchor: { readonly seq: number; readonly hash: string },
): { readonly seq: number; readonly reason: string } | undefined {
  let prevHash = anchor.hash;
  let expectedSeq = anchor.seq + 1;
  for (const entry of entries) {
    if (entry.seq !== expectedSeq) return { seq: expectedSeq, reason: "it is missing" };
    if (entry.prevHash !== prevHash)
      return { seq: entry.seq, reason: "does not link to the entry before it" };
    if (auditHash(prevHash, entry.seq, entry) !== entry.hash)
      return { seq: entry.seq, reason: "its content was changed" };
    prevHash = entry.hash;
    expectedSeq++;
  }
  return undefined;
}
