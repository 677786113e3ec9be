import type { Scope } from "../domain/api-token.ts";
import { ForbiddenError } from "../domain/errors.ts";
import type { OrganisationKind } from "../domain/organisation.ts";
import { type Principal, requireScope } from "../services/principal.ts";

/** The kinds of organisation whose students a source lists: the sync engine runs for them only. */
const SYNCED_KINDS: readonly OrganisationKind[] = ["institution", "student-service"];

/**
 * Imports, connectors and their runs are the business of the organisation whose students they list, an
 * institution or a student-service organisation, through a token holding `scopes`. A card bureau, which
 * acts for others, does not import for them: each organisation imports its own students.
 */
export function requireConnectorAccess(principal: Principal, scopes: readonly Scope[]): void {
  if (!SYNCED_KINDS.includes(principal.organisation.kind)) {
    throw new ForbiddenError(
      `an organisation of kind ${principal.organisation.kind} has no students to import or sync`,
    );
  }
  for (const scope of scopes) requireScope(principal, scope);
}
