import type { AcademicLevel } from "./academic-level.ts";

/** A student known by their ESI. The person itself carries no personal data: each organisation's link does. */
export interface Person {
  /** Internal key; never leaves the hub. */
  readonly id: number;
  /** The ESI as first given. */
  readonly esi: string;
  /** The case-insensitive matching key of the ESI (see `esi.ts`). */
  readonly esiKey: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * What one organisation knows of a person. An exchange student has one link per organisation, and each
 * organisation sees only its own link.
 */
export interface PersonLink {
  readonly personId: number;
  readonly organisationId: string;
  readonly fullName: string;
  readonly academicLevel: AcademicLevel | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly fax: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}
