/**
 * Why the hub processes personal data. Every route declares its purpose; the data map
 * (`data-map.ts`) says which fields each purpose may see, the audit trail records it with every access,
 * and consent is asked per purpose where consent is the lawful basis.
 */
export type LawfulBasis = "public-task" | "contract" | "consent" | "legal-obligation" | "legitimate-interest";

export const PURPOSES = {
  "card-management": {
    basis: "public-task",
    description:
      "An institution or student-service organisation keeps its students' records and cards, itself or through the card bureau it names",
  },
  "status-management": {
    basis: "public-task",
    description: "An institution records whether a person is its student, and over which dates",
  },
  "public-verification": {
    basis: "legitimate-interest",
    description:
      "Anyone holding a card (or its number) checks that the card is valid; no personal data by default",
  },
  "display-name-publication": {
    basis: "consent",
    description: "The card's display name is shown to whoever checks the card publicly",
  },
  "status-sharing": {
    basis: "consent",
    description:
      "Service providers, including abroad, learn whether a card's holder is a student, to grant student rights",
  },
  "credential-issuance": {
    basis: "consent",
    description: "A signed digital student card is issued to the student's wallet",
  },
  "change-notification": {
    basis: "public-task",
    description:
      "Organisations learn at once of changes to the records they hold (events, webhooks, the feed), and service providers of changes to the public status of cards they have seen",
  },
  "organisation-administration": {
    basis: "legitimate-interest",
    description: "The operator onboards organisations and manages their tokens; no personal data",
  },
  "data-subject-rights": {
    basis: "legal-obligation",
    description:
      "A student exercises their rights (access, export, rectification, erasure) through their institution",
  },
  accountability: {
    basis: "legal-obligation",
    description: "The audit trail of who read or changed which personal data, when and why",
  },
  operations: {
    basis: "legitimate-interest",
    description: "Health, readiness, metrics and the API description; no personal data",
  },
} as const satisfies Record<string, { basis: LawfulBasis; description: string }>;

export type Purpose = keyof typeof PURPOSES;

export const PURPOSE_NAMES = Object.keys(PURPOSES) as Purpose[];

/** Purposes whose lawful basis is the student's consent: consent is recorded per student and purpose. */
export const CONSENT_PURPOSES = PURPOSE_NAMES.filter((p) => PURPOSES[p].basis === "consent");

export function isPurpose(value: unknown): value is Purpose {
  return typeof value === "string" && Object.hasOwn(PURPOSES, value);
}
