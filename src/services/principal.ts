import type { Scope } from "../domain/api-token.ts";
import { ForbiddenError } from "../domain/errors.ts";
import { holdsStudentData, type Organisation } from "../domain/organisation.ts";
import type { Purpose } from "../domain/purpose.ts";

/** Who is calling: an organisation, through one of its tokens. */
export interface Principal {
  readonly tokenId: string;
  readonly organisation: Organisation;
  readonly scopes: ReadonlySet<Scope>;
  /**
   * Organisations whose students this caller may handle: itself, plus for a card bureau every
   * organisation that lists it among its processors.
   */
  readonly actingFor: readonly string[];
  /** Why this request processes data: the purpose its route declares (recorded in the audit trail). */
  readonly purpose: Purpose;
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.has(scope)) {
    throw new ForbiddenError(`this token lacks the scope ${scope}`, "SCOPE_MISSING");
  }
}

/** Persons and cards are for the organisations that hold student data; service providers verify only. */
export function requireStudentDataHolder(principal: Principal, scope: Scope): void {
  if (!holdsStudentData(principal.organisation.kind)) {
    throw new ForbiddenError(
      `an organisation of kind ${principal.organisation.kind} has no access to persons or cards`,
    );
  }
  requireScope(principal, scope);
}

export function requireOperator(principal: Principal): void {
  if (principal.organisation.kind !== "operator") {
    throw new ForbiddenError("only the operator manages organisations");
  }
  requireScope(principal, "organisations:manage");
}

export function mayActFor(principal: Principal, organisationId: string): boolean {
  return principal.actingFor.includes(organisationId);
}
