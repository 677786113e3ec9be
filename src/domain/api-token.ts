/**
 * API tokens: random, high-entropy secrets shown once. The hub keeps only their SHA-256 (a slow
 * password hash adds nothing for random tokens and costs on every request).
 */
export const SCOPES = [
  "organisations:manage",
  "tokens:manage",
  "persons:read",
  "persons:write",
  "cards:read",
  "cards:write",
  "statuses:read",
  "statuses:write",
  "events:read",
  "subscriptions:manage",
  "credentials:issue",
  "credentials:manage",
] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiToken {
  readonly id: string;
  readonly organisationId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
}
