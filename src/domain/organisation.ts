import type { HexColor } from "./color.ts";
import type { CountryCode } from "./country-code.ts";

/**
 * Who takes part in the network. Institutions and student-service organisations are known by their PIC,
 * card bureaus by their VAT number, service providers (canteens, museums…) and the operator by an
 * identifier the operator assigns, since they have neither.
 */
export const ORGANISATION_KINDS = [
  "institution",
  "student-service",
  "card-bureau",
  "service-provider",
  "operator",
] as const;
export type OrganisationKind = (typeof ORGANISATION_KINDS)[number];

/** How an organisation's identifier is to be read. */
export type OrganisationIdentifierType = "PIC" | "VAT" | "LOCAL";

export function identifierTypeOf(kind: OrganisationKind): OrganisationIdentifierType {
  switch (kind) {
    case "institution":
    case "student-service":
      return "PIC";
    case "card-bureau":
      return "VAT";
    case "service-provider":
    case "operator":
      return "LOCAL";
  }
}

/** The colours an issuer chooses for its cards (ESC-R organisation profile). */
export interface CardColours {
  readonly main: HexColor | null;
  readonly secondary: HexColor | null;
  readonly contrast: HexColor | null;
  readonly qr: HexColor | null;
}

export interface Organisation {
  /** PIC, VAT number or operator-assigned identifier, per {@link identifierTypeOf}. */
  readonly id: string;
  /** A stable number, for the ESC-R views that expose a numeric `id`. */
  readonly seq: number;
  readonly kind: OrganisationKind;
  readonly name: string;
  readonly country: CountryCode | null;
  readonly schacHomeOrganisation: string | null;
  readonly erasmusCode: string | null;
  readonly website: string | null;
  readonly colours: CardColours;
  /** Whether the public card status shows the card's displayName (off by default: least data). */
  readonly showDisplayName: boolean;
  /** For a student-service organisation: the institutions (PICs) whose students it serves. */
  readonly serves: readonly string[];
  /** Card bureaus (VAT numbers) this organisation lets act for it on persons and cards. */
  readonly processors: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

/** Kinds whose members hold student data: they issue, serve or process cards. */
export function holdsStudentData(kind: OrganisationKind): boolean {
  return kind === "institution" || kind === "student-service" || kind === "card-bureau";
}

/** Kinds that may issue cards in their own name. */
export function issuesCards(kind: OrganisationKind): boolean {
  return kind === "institution" || kind === "student-service";
}
