/** Organisations and payloads the HTTP tests share. PICs and VAT numbers are made up. */
export const UNIVERSITY = {
  id: "999888777",
  kind: "institution",
  name: "Université de Saint-Valentin",
  country: "FR",
  schacHomeOrganisation: "univ-saint-valentin.fr",
};
export const OTHER_UNIVERSITY = {
  id: "111222333",
  kind: "institution",
  name: "Uniwersytet Przykładowy",
  country: "PL",
};
export const CARD_BUREAU = { id: "B12345678", kind: "card-bureau", name: "Card Print SA", country: "BE" };
export const CANTEEN = {
  id: "canteen-bxl",
  kind: "service-provider",
  name: "Restaurant universitaire",
  country: "BE",
};

export const ESI = "urn:schac:personalUniqueCode:int:esi:fr:1234567890A";
export const ESI_2 = "urn:schac:personalUniqueCode:int:esi:univ-saint-valentin.fr:stu-42";

export function personPayload(
  esi: string,
  organisationIdentifier: string,
  extra: Record<string, unknown> = {},
) {
  return {
    identifier: esi,
    identifierCode: "ESI",
    fullName: "Jeanne Exemple",
    personOrganisationUpdateViews: [
      { organisationIdentifier, academicLevel: "MASTER", email: "jeanne@example.org" },
    ],
    ...extra,
  };
}

export function cardPayload(esi: string, issuerIdentifier: string, extra: Record<string, unknown> = {}) {
  return {
    cardStatusType: "ACTIVE",
    cardType: "SMART_PASSIVE",
    issuedAt: "2026-09-01",
    expiresAt: "2030-08-31",
    issuerIdentifier,
    personIdentifier: esi,
    displayName: "Jeanne E.",
    ...extra,
  };
}
