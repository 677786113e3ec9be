import { ACADEMIC_LEVEL_LABELS } from "../../domain/academic-level.ts";
import { CARD_TYPE_LABELS } from "../../domain/card-type.ts";
import { publicCardStatus } from "../../domain/card-verdict.ts";
import type { IsoDate } from "../../domain/iso-date.ts";
import { identifierTypeOf, type Organisation, type OrganisationKind } from "../../domain/organisation.ts";
import type { CardDetails } from "../../services/card-service.ts";
import type { VisiblePerson } from "../../services/person-service.ts";

/** Mappings from the domain to the ESC Router V2 read views (nested objects, `{key, label}` enumerations). */
const code = (key: string, label: string) => ({ key, label });

const IDENTIFIER_LABELS = {
  PIC: "Participant Identification Code",
  VAT: "VAT number",
  LOCAL: "Local identifier",
};
const KIND_LABELS: Record<OrganisationKind, string> = {
  institution: "Higher education institution",
  "student-service": "Student-service organisation",
  "card-bureau": "Card bureau",
  "service-provider": "Service provider",
  operator: "Operator",
};
const COUNTRY_NAMES = new Intl.DisplayNames(["en"], { type: "region" });
const STATUS_LABELS = { ACTIVE: "Active", INACTIVE: "Inactive", EXPIRED: "Expired" };

export function organisationLiteView(org: Organisation) {
  const identifierType = identifierTypeOf(org.kind);
  return {
    id: org.seq,
    identifier: org.id,
    identifierCode: code(identifierType, IDENTIFIER_LABELS[identifierType]),
    name: org.name,
    fullLabel: `${org.id} - ${org.name}`,
    organisationType: code(org.kind.toUpperCase().replace("-", "_"), KIND_LABELS[org.kind]),
    status: code("ACTIVE", "Active"),
    ...(org.schacHomeOrganisation ? { schacHomeOrganization: org.schacHomeOrganisation } : {}),
    ...(org.website ? { website: org.website } : {}),
    ...(org.colours.main ? { mainColor: org.colours.main } : {}),
    ...(org.colours.secondary ? { secondaryColor: org.colours.secondary } : {}),
    ...(org.colours.contrast ? { contrastColor: org.colours.contrast } : {}),
    ...(org.country
      ? { address: { country: code(org.country, COUNTRY_NAMES.of(org.country) ?? org.country) } }
      : {}),
  };
}

export function personView(visible: VisiblePerson, organisations: ReadonlyMap<string, Organisation>) {
  const organisationViews = visible.links.flatMap((link) => {
    const org = organisations.get(link.organisationId);
    if (!org) return [];
    return [
      {
        organisation: organisationLiteView(org),
        ...(link.academicLevel
          ? { academicLevel: code(link.academicLevel, ACADEMIC_LEVEL_LABELS[link.academicLevel]) }
          : {}),
        ...(link.email ? { contactPoint: { email: link.email } } : {}),
        fullName: link.fullName,
      },
    ];
  });
  return {
    identifier: visible.person.esi,
    identifierCode: code("ESI", "European Student Identifier"),
    fullName: visible.links[0]?.fullName ?? "",
    organisationCount: visible.links.length,
    organisations: organisationViews,
  };
}

export function personLiteView(visible: VisiblePerson, organisations: ReadonlyMap<string, Organisation>) {
  const { identifier, fullName, organisations: links } = personView(visible, organisations);
  return { identifier, fullName, organisations: links };
}

export function cardView(details: CardDetails, day: IsoDate) {
  const { card } = details;
  const status = publicCardStatus(card, day);
  return {
    cardNumber: card.escn,
    cardStatusType: code(status, STATUS_LABELS[status]),
    cardType: code(card.cardType, CARD_TYPE_LABELS[card.cardType]),
    ...(card.displayName !== null ? { displayName: card.displayName } : {}),
    issuedAt: card.issuedAt,
    expiresAt: card.expiresAt,
    // ESC-R: "is the user's organisation authorized with the card"; here: the holder consents to sharing
    // their card status with service providers (docs/api.md).
    hasOwnerAuthorization: details.holderAuthorisesSharing,
    issuer: organisationLiteView(details.issuer),
    ...(details.processor ? { processor: organisationLiteView(details.processor) } : {}),
    person: { identifier: card.esi, fullName: details.holderName },
  };
}

export function cardLiteView(details: CardDetails, day: IsoDate) {
  const { cardStatusType: _status, cardType: _type, ...lite } = cardView(details, day);
  return lite;
}
