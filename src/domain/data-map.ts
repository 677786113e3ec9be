import type { OrganisationKind } from "./organisation.ts";
import { type LawfulBasis, PURPOSES, type Purpose } from "./purpose.ts";

/**
 * The data map: every field the hub holds or hands out, why (its purposes, each with the lawful basis
 * `PURPOSES` gives it), who may see it, and how long it is kept. It is enforced, not only documented:
 * every property of every success answer names its entry here (`"x-data"` in the response schemas), and
 * `src/http/plugins/data-map-enforcement.ts` refuses to start a hub whose route would answer a field its
 * purpose does not allow. `test/unit/data-map.test.ts` checks that every column of the store is here, and
 * `test/unit/privacy-docs.test.ts` that docs/privacy.md says exactly what this file says. It is one long
 * file on purpose: a data-protection officer reads the map as one table.
 */

/** What kind of data a field is, from the student's point of view. */
export const DATA_CATEGORIES = [
  /** Identifies the student across organisations (the ESI), or ties a record to them. */
  "identifier",
  /** Describes the student: name, study level, the organisations that know them, their consents. */
  "personal",
  /** How to reach the student. */
  "contact",
  /** Whether the student is a student: their student status and what follows from it. */
  "status",
  /** A card's number and facts, tied to a student only through the issuer's records. */
  "pseudonymous",
  /** Record keeping: times, versions, the audit trail's bookkeeping, tokens. */
  "technical",
  /** About an organisation, not a person. */
  "organisation",
] as const;
export type DataCategory = (typeof DATA_CATEGORIES)[number];

/** Where each lawful basis is in the GDPR (article 6(1)). */
export const LAWFUL_BASIS_ARTICLES: Readonly<Record<LawfulBasis, string>> = {
  consent: "6(1)(a)",
  contract: "6(1)(b)",
  "legal-obligation": "6(1)(c)",
  "public-task": "6(1)(e)",
  "legitimate-interest": "6(1)(f)",
};

/** Who may be shown a field: an organisation of a kind, the student themself, or anyone (no token). */
export type Viewer = OrganisationKind | "student" | "anyone";

/** The settings that bound how long data is kept, with their defaults in days (src/config.ts). */
export const RETENTION_SETTINGS = {
  OPENESC_RETENTION_DAYS: {
    defaultDays: 730,
    meaning:
      "how long a card is kept after it expired, and a person's link and student status at an organisation after that status ended",
  },
  OPENESC_CONSENT_PROOF_DAYS: {
    defaultDays: 1095,
    meaning: "how long a withdrawn consent is kept after its withdrawal, as proof of what was agreed",
  },
  OPENESC_AUDIT_RETENTION_DAYS: {
    defaultDays: 1095,
    meaning: "how long an entry of the audit trail is kept",
  },
  OPENESC_DELIVERY_RETENTION_DAYS: {
    defaultDays: 7,
    meaning:
      "how long a webhook delivery is kept after it went through, for the subscriber to see, and an ESC Router mirror's job that removed its subject or was refused, for the organisation's report",
  },
} as const;
export type RetentionSetting = keyof typeof RETENTION_SETTINGS;

export interface Retention {
  /** When the field is deleted, in a few words; names the setting, when there is one, in backquotes. */
  readonly text: string;
  readonly setting?: RetentionSetting;
}

export interface DataField {
  readonly description: string;
  readonly category: DataCategory;
  /**
   * Whether the field tells something about the student to whoever sees it. Pseudonymous card facts are
   * not: they lead to a student only through the issuer's records (GDPR still counts them as personal
   * data for the hub and the issuer, which hold that link; docs/dpia.md weighs that).
   */
  readonly personal: boolean;
  /** Where it is held: `table.column` of the store; empty for a value computed when it is read. */
  readonly stored: readonly string[];
  /** Why it is held or shown; the lawful basis of each is `PURPOSES[purpose].basis`. */
  readonly purposes: readonly Purpose[];
  /** Who may see it, for which of its purposes. A purpose missing here uses the field without showing it. */
  readonly visibleTo: Readonly<Partial<Record<Purpose, readonly Viewer[]>>>;
  readonly retention: Retention;
}

/** Who the answers of each purpose go to. */
export const PURPOSE_AUDIENCE: Readonly<Record<Purpose, readonly Viewer[]>> = {
  "card-management": ["institution", "student-service", "card-bureau"],
  "status-management": ["institution", "student-service", "card-bureau"],
  "public-verification": ["anyone"],
  "display-name-publication": ["anyone"],
  "status-sharing": ["service-provider", "institution"],
  // Institutions and student-service organisations make offers; the student's wallet receives the credential.
  "credential-issuance": ["student", "institution", "student-service"],
  "change-notification": ["institution", "student-service", "card-bureau", "service-provider"],
  "organisation-administration": [
    "operator",
    "institution",
    "student-service",
    "card-bureau",
    "service-provider",
  ],
  "data-subject-rights": ["institution", "student-service", "student"],
  accountability: ["institution", "student-service", "card-bureau"],
  // Health, readiness and the consent wordings answer without a token.
  operations: ["anyone"],
};

const RETAIN = {
  organisation: { text: "while the organisation takes part; not personal data" },
  token: { text: "while the organisation takes part; a revoked token stays, so the audit trail can name it" },
  secret: { text: "never stored: shown once, only its SHA-256 is kept" },
  issuerKey: {
    text: "while the organisation takes part; a retired key stays published until all it signed has expired, and is kept after that as a record: the hub deletes no key",
  },
  person: {
    text: "until no organisation holds a link, status or card of theirs; their consents go with them",
  },
  link: {
    text: "`OPENESC_RETENTION_DAYS` after the person's student status there ended and no card of theirs is left there, or until the organisation removes the link",
    setting: "OPENESC_RETENTION_DAYS",
  },
  status: {
    text: "`OPENESC_RETENTION_DAYS` after the status ended and no card of the person is left there, or until the organisation removes the person",
    setting: "OPENESC_RETENTION_DAYS",
  },
  card: {
    text: "`OPENESC_RETENTION_DAYS` after the card expired, or until its issuer deletes it",
    setting: "OPENESC_RETENTION_DAYS",
  },
  consent: {
    text: "while the person is held; a withdrawn consent `OPENESC_CONSENT_PROOF_DAYS` after its withdrawal",
    setting: "OPENESC_CONSENT_PROOF_DAYS",
  },
  audit: { text: "`OPENESC_AUDIT_RETENTION_DAYS` after the entry", setting: "OPENESC_AUDIT_RETENTION_DAYS" },
  event: {
    text: "kept as the change feed; the ESI of a removed link or an erased person is replaced by a pseudonym",
  },
  subscription: { text: "until its organisation deletes the subscription; not personal data" },
  cardSet: { text: "until the subscriber takes the card out of the set or deletes the subscription" },
  delivery: {
    text: "a delivered one `OPENESC_DELIVERY_RETENTION_DAYS` after it went through; a pending or dead one until it is delivered or its subscription is deleted",
    setting: "OPENESC_DELIVERY_RETENTION_DAYS",
  },
  issuedCredential: { text: "until the credential expired: the retention job then deletes its record" },
  credentialHolder: {
    text: "until the credential expired, when the retention job deletes its record; cleared before, when the card or its holder is erased",
  },
  statusList: {
    text: "while the organisation takes part: the hub deletes no list, and a full one is still served while credentials refer to it",
  },
  offer: {
    text: "until the offer expired, when the retention job deletes it; sooner when its holder's person record is erased",
  },
  offerShown: {
    text: "never stored: shown once; the offer's record keeps its id and expiry, and only hashes of its codes",
  },
  wallet: { text: "not stored: handed to the wallet; the hub keeps no copy" },
  presented: {
    text: "not stored: handed back to the caller that sent the presentation; the hub keeps nothing",
  },
  connectorRun: { text: "while the organisation takes part; not personal data" },
  uploadOutcome: {
    text: "not stored: answered to the caller that uploaded the file; the run's record keeps its counts only",
  },
  configured: { text: "not stored: read from the hub's sync configuration at start" },
  presence: {
    text: "while the person's link at that organisation exists (it goes with the link), or until the connector ends their status after the grace period",
  },
  mirrorJob: {
    text: "while the ESC Router holds the person or card, so that its removal can be sent when the hub's record goes; a job that removed its subject, or was refused, `OPENESC_DELIVERY_RETENTION_DAYS` after; every job of an organisation once its mirror is no longer configured",
    setting: "OPENESC_DELIVERY_RETENTION_DAYS",
  },
  mirrorConfigured: { text: "not stored: read from the hub's configuration at start" },
  computed: { text: "not stored: computed when read" },
  wording: { text: "not stored: published in the code, never changed once published" },
} as const satisfies Record<string, Retention>;

interface FieldInput {
  readonly description: string;
  readonly category: DataCategory;
  readonly personal: boolean;
  readonly stored: readonly string[];
  readonly purposes: readonly Purpose[];
  /** The purposes for which the field is shown; all of `purposes` unless said. */
  readonly shownFor?: readonly Purpose[];
  /** Who, of a purpose's audience, is shown the field, where it is not the whole audience. */
  readonly shownTo?: Readonly<Partial<Record<Purpose, readonly Viewer[]>>>;
  readonly retention: Retention;
}

function field(input: FieldInput): DataField {
  const { shownFor = input.purposes, shownTo = {}, ...rest } = input;
  const visibleTo: Partial<Record<Purpose, readonly Viewer[]>> = {};
  for (const purpose of shownFor) {
    const audience = PURPOSE_AUDIENCE[purpose];
    const viewers = shownTo[purpose] ?? audience;
    if (viewers.some((viewer) => !audience.includes(viewer))) {
      throw new TypeError(`data map: "${input.description}" is shown beyond the audience of ${purpose}`);
    }
    visibleTo[purpose] = viewers;
  }
  return { ...rest, visibleTo };
}

/**
 * The credential-issuance audience splits: the claims of the credential, and the credential itself, go to
 * the student's wallet; the offer goes to the organisation that makes it.
 */
const TO_WALLET = { "credential-issuance": ["student"] } as const satisfies FieldInput["shownTo"];
const TO_OFFERER = {
  "credential-issuance": ["institution", "student-service"],
} as const satisfies FieldInput["shownTo"];

/** Purposes every piece of a student's record serves: the holding organisation's and the student's own. */
const RECORD = ["card-management", "data-subject-rights"] as const satisfies readonly Purpose[];
const STATUS_RECORD = ["status-management", "data-subject-rights"] as const satisfies readonly Purpose[];
/** Purposes of the change feed: the organisations' own records, and telling them of changes as they happen. */
const EVENT_PURPOSES = [
  "card-management",
  "status-management",
  "change-notification",
] as const satisfies readonly Purpose[];
/** Organisation fields shown wherever an organisation appears as a card's issuer or a link's holder. */
const ORGANISATION_SEEN = [
  "organisation-administration",
  "card-management",
  "data-subject-rights",
] as const satisfies readonly Purpose[];

/** A webhook subscription's settings and bookkeeping, shown to the organisation that made it. */
const subscription = (description: string, category: DataCategory, stored: readonly string[]) =>
  field({
    description,
    category,
    personal: false,
    stored,
    purposes: ["change-notification"],
    retention: RETAIN.subscription,
  });

const organisation = (
  description: string,
  stored: readonly string[],
  purposes: readonly Purpose[] = ORGANISATION_SEEN,
  shownTo?: FieldInput["shownTo"],
) =>
  field({
    description,
    category: "organisation",
    personal: false,
    stored,
    purposes,
    ...(shownTo ? { shownTo } : {}),
    retention: RETAIN.organisation,
  });

export const DATA_MAP = {
  // -- Organisations: who takes part. Not personal data. ------------------------------------------------
  "organisation.id": organisation(
    "PIC, VAT number or operator-assigned identifier of an organisation",
    ["organisations.id", "organisation_relations.organisation_id"],
    [...ORGANISATION_SEEN, "credential-issuance"],
    TO_WALLET,
  ),
  "organisation.seq": organisation("A stable number, shown as `id` in the ESC-R views", [
    "organisations.seq",
  ]),
  "organisation.kind": organisation(
    "Institution, student-service organisation, card bureau, service provider or operator",
    ["organisations.kind"],
  ),
  "organisation.name": organisation(
    "The organisation's name",
    ["organisations.name"],
    [...ORGANISATION_SEEN, "public-verification", "credential-issuance"],
    TO_WALLET,
  ),
  "organisation.status": field({
    description: "Always ACTIVE in the ESC-R views",
    category: "organisation",
    personal: false,
    stored: [],
    purposes: ORGANISATION_SEEN,
    retention: RETAIN.computed,
  }),
  "organisation.country": organisation(
    "ISO country code",
    ["organisations.country"],
    [...ORGANISATION_SEEN, "credential-issuance"],
    TO_WALLET,
  ),
  "organisation.schacHomeOrganisation": organisation("SCHAC home organisation (internet domain)", [
    "organisations.schac_home_organisation",
  ]),
  "organisation.erasmusCode": organisation("Erasmus institution code", ["organisations.erasmus_code"]),
  "organisation.website": organisation("Public website", ["organisations.website"]),
  "organisation.colours": organisation("The colours of the organisation's cards", [
    "organisations.main_color",
    "organisations.secondary_color",
    "organisations.contrast_color",
    "organisations.qr_color",
  ]),
  "organisation.showDisplayName": organisation(
    "Whether the issuer lets the public status show a card's display name (the student's consent is needed too)",
    ["organisations.show_display_name"],
    ["organisation-administration"],
  ),
  "organisation.serves": organisation(
    "For a student-service organisation: the institutions whose students it serves",
    ["organisation_relations.relation", "organisation_relations.related_id"],
    ["organisation-administration"],
  ),
  "organisation.processors": organisation(
    "The card bureaus an organisation lets act for it (seen from the bureau: the organisations it acts for)",
    ["organisation_relations.relation", "organisation_relations.related_id"],
    ["organisation-administration"],
  ),
  "organisation.timestamps": organisation(
    "When the organisation was onboarded and last changed",
    ["organisations.created_at", "organisations.updated_at"],
    ["organisation-administration"],
  ),
  "organisation.version": organisation(
    "Version number of the profile, for optimistic concurrency",
    ["organisations.version"],
    ["organisation-administration"],
  ),

  // -- API tokens: how organisations call the hub. Not personal data. -------------------------------------
  "token.id": field({
    description: "The token's identifier (not its secret)",
    category: "technical",
    personal: false,
    stored: ["api_tokens.id"],
    purposes: ["organisation-administration"],
    retention: RETAIN.token,
  }),
  "token.organisation": field({
    description: "The organisation the token belongs to",
    category: "organisation",
    personal: false,
    stored: ["api_tokens.organisation_id"],
    purposes: ["organisation-administration"],
    retention: RETAIN.token,
  }),
  "token.name": field({
    description: "What the organisation calls the token (e.g. its student information system)",
    category: "technical",
    personal: false,
    stored: ["api_tokens.name"],
    purposes: ["organisation-administration"],
    retention: RETAIN.token,
  }),
  "token.scopes": field({
    description: "What the token may do",
    category: "technical",
    personal: false,
    stored: ["api_tokens.scopes"],
    purposes: ["organisation-administration"],
    retention: RETAIN.token,
  }),
  "token.lifetime": field({
    description: "When the token was made, when it expires, when it was revoked",
    category: "technical",
    personal: false,
    stored: ["api_tokens.created_at", "api_tokens.expires_at", "api_tokens.revoked_at"],
    purposes: ["organisation-administration"],
    retention: RETAIN.token,
  }),
  "token.secretHash": field({
    description: "SHA-256 of the token's secret, to recognise it; never shown",
    category: "technical",
    personal: false,
    stored: ["api_tokens.hash"],
    purposes: ["organisation-administration"],
    shownFor: [],
    retention: RETAIN.token,
  }),
  "token.secret": field({
    description: "The token's secret, shown once to the organisation that makes it",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["organisation-administration"],
    retention: RETAIN.secret,
  }),

  // -- Persons: the student, known by their ESI. -----------------------------------------------------------
  "person.esi": field({
    description: "European Student Identifier, as first given, and its case-insensitive matching key",
    category: "identifier",
    personal: true,
    stored: ["persons.esi", "persons.esi_key"],
    purposes: [...RECORD, "status-management", "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.person,
  }),
  "person.timestamps": field({
    description: "When the person was first registered and last changed; never shown",
    category: "technical",
    personal: false,
    stored: ["persons.created_at", "persons.updated_at"],
    purposes: ["card-management"],
    shownFor: [],
    retention: RETAIN.person,
  }),

  // -- Person links: what one organisation knows of a person; each sees only its own. ----------------------
  "personLink.organisation": field({
    description: "The organisation that holds the person, i.e. that the person studies at or is served by",
    category: "personal",
    personal: true,
    stored: ["person_links.organisation_id"],
    purposes: RECORD,
    retention: RETAIN.link,
  }),
  "personLink.fullName": field({
    description: "The person's full name, as that organisation knows it",
    category: "personal",
    personal: true,
    stored: ["person_links.full_name"],
    purposes: [...RECORD, "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.link,
  }),
  "personLink.academicLevel": field({
    description: "Bachelor, master or doctorate",
    category: "personal",
    personal: true,
    stored: ["person_links.academic_level"],
    purposes: [...RECORD, "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.link,
  }),
  "personLink.email": field({
    description: "The person's e-mail address at or for that organisation",
    category: "contact",
    personal: true,
    stored: ["person_links.email"],
    purposes: RECORD,
    retention: RETAIN.link,
  }),
  "personLink.phone": field({
    description: "The person's phone number (ESC-R field); accepted, never shown but to the student",
    category: "contact",
    personal: true,
    stored: ["person_links.phone"],
    purposes: RECORD,
    shownFor: ["data-subject-rights"],
    retention: RETAIN.link,
  }),
  "personLink.fax": field({
    description: "The person's fax number (ESC-R field); accepted, never shown but to the student",
    category: "contact",
    personal: true,
    stored: ["person_links.fax"],
    purposes: RECORD,
    shownFor: ["data-subject-rights"],
    retention: RETAIN.link,
  }),
  "personLink.timestamps": field({
    description: "When the organisation registered the person and last changed its link",
    category: "technical",
    personal: false,
    stored: ["person_links.created_at", "person_links.updated_at"],
    purposes: RECORD,
    retention: RETAIN.link,
  }),

  // -- Student statuses: whether a person is a student of an organisation, and when. ---------------------
  "studentStatus.organisation": field({
    description: "The organisation the person is (or was) a student of",
    category: "status",
    personal: true,
    stored: ["student_statuses.organisation_id"],
    purposes: STATUS_RECORD,
    retention: RETAIN.status,
  }),
  "studentStatus.state": field({
    description: "Enrolled, suspended or ended",
    category: "status",
    personal: true,
    stored: ["student_statuses.state"],
    purposes: [...STATUS_RECORD, "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.status,
  }),
  "studentStatus.validFrom": field({
    description: "First day the status holds",
    category: "status",
    personal: true,
    stored: ["student_statuses.valid_from"],
    purposes: STATUS_RECORD,
    retention: RETAIN.status,
  }),
  "studentStatus.validUntil": field({
    description: "Last day the status holds; none when open-ended",
    category: "status",
    personal: true,
    stored: ["student_statuses.valid_until"],
    purposes: [...STATUS_RECORD, "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.status,
  }),
  "studentStatus.timestamps": field({
    description: "When the status was recorded and last changed",
    category: "technical",
    personal: false,
    stored: ["student_statuses.created_at", "student_statuses.updated_at"],
    purposes: STATUS_RECORD,
    retention: RETAIN.status,
  }),
  "studentStatus.version": field({
    description: "Version number of the status, for optimistic concurrency",
    category: "technical",
    personal: false,
    stored: ["student_statuses.version"],
    purposes: ["status-management"],
    retention: RETAIN.status,
  }),

  // -- Cards: the European Student Card, known by its ESCN. --------------------------------------------
  "card.escn": field({
    description: "The European Student Card Number, printed on the card and in its QR code",
    category: "pseudonymous",
    personal: false,
    stored: ["cards.escn"],
    purposes: [...RECORD, "public-verification", "status-sharing", "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.card,
  }),
  "card.holder": field({
    description: "Whose card it is: ties the card to the person (shown as the person's ESI and name)",
    category: "identifier",
    personal: true,
    stored: ["cards.person_id"],
    purposes: RECORD,
    retention: RETAIN.card,
  }),
  "card.issuer": field({
    description: "The institution or student-service organisation that issued the card",
    category: "pseudonymous",
    personal: false,
    stored: ["cards.issuer_id"],
    purposes: [...RECORD, "public-verification", "status-sharing", "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.card,
  }),
  "card.processor": field({
    description: "The card bureau that produced the card, if any",
    category: "pseudonymous",
    personal: false,
    stored: ["cards.processor_id"],
    purposes: RECORD,
    retention: RETAIN.card,
  }),
  "card.cardType": field({
    description: "One of the ESC card types (smart card, printed, virtual…)",
    category: "pseudonymous",
    personal: false,
    stored: ["cards.card_type"],
    purposes: RECORD,
    retention: RETAIN.card,
  }),
  "card.status": field({
    description: "ACTIVE or INACTIVE, as stored",
    category: "pseudonymous",
    personal: false,
    stored: ["cards.status"],
    purposes: RECORD,
    retention: RETAIN.card,
  }),
  "card.inactiveReason": field({
    description: "Why a card is inactive: lost, stolen, damaged, replaced, suspended, withdrawn",
    category: "status",
    personal: true,
    stored: ["cards.inactive_reason"],
    purposes: RECORD,
    retention: RETAIN.card,
  }),
  "card.issuedAt": field({
    description: "The day the card was issued",
    category: "pseudonymous",
    personal: false,
    stored: ["cards.issued_at"],
    purposes: [...RECORD, "public-verification", "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.card,
  }),
  "card.expiresAt": field({
    description: "The last day the card is valid",
    category: "pseudonymous",
    personal: false,
    stored: ["cards.expires_at"],
    purposes: [...RECORD, "public-verification", "status-sharing", "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.card,
  }),
  "card.displayName": field({
    description: "The name printed on the card",
    category: "personal",
    personal: true,
    stored: ["cards.display_name"],
    purposes: [...RECORD, "display-name-publication", "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.card,
  }),
  "card.chipUid": field({
    description: "The serial number of the card's chip, readable by any card reader",
    category: "pseudonymous",
    personal: true,
    stored: ["cards.chip_uid"],
    purposes: RECORD,
    retention: RETAIN.card,
  }),
  "card.timestamps": field({
    description: "When the card was registered and last changed",
    category: "technical",
    personal: false,
    stored: ["cards.created_at", "cards.updated_at"],
    purposes: RECORD,
    retention: RETAIN.card,
  }),
  "card.version": field({
    description: "Version number of the card, for optimistic concurrency",
    category: "technical",
    personal: false,
    stored: ["cards.version"],
    purposes: ["card-management"],
    retention: RETAIN.card,
  }),
  "card.publicStatus": field({
    description: "ACTIVE, INACTIVE or EXPIRED: the stored status with the expiry date applied",
    category: "pseudonymous",
    personal: false,
    stored: [],
    purposes: [...RECORD, "public-verification", "status-sharing"],
    retention: RETAIN.computed,
  }),
  "card.verdict": field({
    description: "Valid, suspended or invalid: the card's status combined with the holder's student status",
    category: "status",
    personal: true,
    stored: [],
    purposes: [...RECORD, "status-sharing", "credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.computed,
  }),
  "card.hasOwnerAuthorization": field({
    description: "Whether the holder consents to sharing their card status with service providers",
    category: "personal",
    personal: true,
    stored: [],
    purposes: RECORD,
    retention: RETAIN.computed,
  }),

  // -- Card CSV files (ESC-R's csv-config and validate-csv): about the format and a file, not a student. ----
  "cardCsv.columns": field({
    description: "The columns of the card CSV and the position of each; the same for everyone",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["card-management"],
    retention: RETAIN.wording,
  }),
  "cardCsv.validation": field({
    description:
      "The outcome of a dry run of a card CSV the caller sent: whether every row would be accepted, how many rows it has, and each problem's row, column and reason, which names no student",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["card-management"],
    retention: RETAIN.computed,
  }),

  // -- Consents: a student's consent per purpose whose lawful basis is consent. ---------------------------
  "consent.purpose": field({
    description: "The purpose consented to",
    category: "personal",
    personal: true,
    stored: ["consents.purpose"],
    purposes: ["data-subject-rights", "accountability"],
    shownFor: ["data-subject-rights"],
    retention: RETAIN.consent,
  }),
  "consent.state": field({
    description: "Given or withdrawn",
    category: "personal",
    personal: true,
    stored: ["consents.state"],
    purposes: ["data-subject-rights", "accountability"],
    shownFor: ["data-subject-rights"],
    retention: RETAIN.consent,
  }),
  "consent.wordingVersion": field({
    description: "Which version of the wording the student was shown",
    category: "personal",
    personal: true,
    stored: ["consents.wording_version"],
    purposes: ["data-subject-rights", "accountability"],
    shownFor: ["data-subject-rights"],
    retention: RETAIN.consent,
  }),
  "consent.recordedBy": field({
    description: "The organisation through which the student gave or withdrew the consent",
    category: "personal",
    personal: true,
    stored: ["consents.recorded_by"],
    purposes: ["data-subject-rights", "accountability"],
    shownFor: ["data-subject-rights"],
    retention: RETAIN.consent,
  }),
  "consent.givenAt": field({
    description: "When the consent was given",
    category: "personal",
    personal: true,
    stored: ["consents.given_at"],
    purposes: ["data-subject-rights", "accountability"],
    shownFor: ["data-subject-rights"],
    retention: RETAIN.consent,
  }),
  "consent.withdrawnAt": field({
    description: "When the consent was withdrawn, if it was",
    category: "personal",
    personal: true,
    stored: ["consents.withdrawn_at"],
    purposes: ["data-subject-rights", "accountability"],
    shownFor: ["data-subject-rights"],
    retention: RETAIN.consent,
  }),
  "consent.updatedAt": field({
    description: "When the consent record last changed",
    category: "technical",
    personal: false,
    stored: ["consents.updated_at"],
    purposes: ["data-subject-rights", "accountability"],
    shownFor: ["data-subject-rights"],
    retention: RETAIN.consent,
  }),
  "consentWording.text": field({
    description:
      "The published wordings of each consent (purpose, version, date, text); the same for everyone",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["operations"],
    retention: RETAIN.wording,
  }),

  // -- The audit trail: who read or changed which personal data, when and why. ----------------------------
  "audit.seq": field({
    description: "The entry's number in the trail",
    category: "technical",
    personal: false,
    stored: ["audit_log.seq"],
    purposes: ["accountability", "data-subject-rights"],
    retention: RETAIN.audit,
  }),
  "audit.at": field({
    description: "When the data was read or changed",
    category: "technical",
    personal: false,
    stored: ["audit_log.at"],
    purposes: ["accountability", "data-subject-rights"],
    retention: RETAIN.audit,
  }),
  "audit.organisation": field({
    description: "The organisation that read or changed the data; none for an anonymous public status",
    category: "organisation",
    personal: false,
    stored: ["audit_log.organisation_id"],
    purposes: ["accountability", "data-subject-rights"],
    retention: RETAIN.audit,
  }),
  "audit.token": field({
    description: "The token it used",
    category: "technical",
    personal: false,
    stored: ["audit_log.token_id"],
    purposes: ["accountability"],
    retention: RETAIN.audit,
  }),
  "audit.action": field({
    description: "Read, create, update, delete, export, erase or consent",
    category: "technical",
    personal: false,
    stored: ["audit_log.action"],
    purposes: ["accountability", "data-subject-rights"],
    retention: RETAIN.audit,
  }),
  "audit.purpose": field({
    description: "Why: the purpose the route declares",
    category: "technical",
    personal: false,
    stored: ["audit_log.purpose"],
    purposes: ["accountability", "data-subject-rights"],
    retention: RETAIN.audit,
  }),
  "audit.subjectType": field({
    description: "What was touched: person, card, student status or consent",
    category: "technical",
    personal: false,
    stored: ["audit_log.subject_type"],
    purposes: ["accountability", "data-subject-rights"],
    retention: RETAIN.audit,
  }),
  "audit.subject": field({
    description: "The card's ESCN, or the person's internal number; never a name or an ESI",
    category: "pseudonymous",
    personal: false,
    stored: ["audit_log.subject"],
    purposes: ["accountability", "data-subject-rights"],
    retention: RETAIN.audit,
  }),
  "audit.personId": field({
    description: "The internal number of the person the data is about, by which their trail is found",
    category: "pseudonymous",
    personal: true,
    stored: ["audit_log.person_id"],
    purposes: ["accountability", "data-subject-rights"],
    shownFor: [],
    retention: RETAIN.audit,
  }),
  "audit.chain": field({
    description: "The hash chain that makes any change to the trail visible, and its anchor after a purge",
    category: "technical",
    personal: false,
    stored: ["audit_log.prev_hash", "audit_log.hash", "audit_anchor.seq", "audit_anchor.hash"],
    purposes: ["accountability"],
    retention: RETAIN.audit,
  }),

  // -- Events: the change feed (outbox). Identifiers and statuses, never names or contact data. -----------
  "event.id": field({
    description: "The event's identifier (also the `webhook-id` of each delivery of it)",
    category: "technical",
    personal: false,
    stored: ["outbox.id", "deliveries.event_id"],
    purposes: EVENT_PURPOSES,
    retention: RETAIN.event,
  }),
  "event.type": field({
    description: "What changed (card created, status changed, consent withdrawn…)",
    category: "technical",
    personal: false,
    stored: ["outbox.type"],
    purposes: EVENT_PURPOSES,
    retention: RETAIN.event,
  }),
  "event.subject": field({
    description: "The ESCN, ESI or organisation identifier the event is about",
    category: "identifier",
    personal: true,
    stored: ["outbox.subject"],
    purposes: EVENT_PURPOSES,
    retention: RETAIN.event,
  }),
  "event.audience": field({
    description: "The organisations entitled to receive the event",
    category: "organisation",
    personal: false,
    stored: ["outbox.audience"],
    purposes: EVENT_PURPOSES,
    shownFor: [],
    retention: RETAIN.event,
  }),
  "event.data": field({
    description: "Identifiers, the new status and its validity",
    category: "status",
    personal: true,
    stored: ["outbox.data"],
    purposes: EVENT_PURPOSES,
    retention: RETAIN.event,
  }),
  "event.occurredAt": field({
    description: "When the change happened",
    category: "technical",
    personal: false,
    stored: ["outbox.occurred_at"],
    purposes: EVENT_PURPOSES,
    retention: RETAIN.event,
  }),

  // -- Webhook subscriptions: where an organisation wants events sent, and the cards it follows. -----------
  "subscription.id": subscription("The subscription's identifier (a random UUID)", "technical", [
    "subscriptions.id",
    "subscription_cards.subscription_id",
    "deliveries.subscription_id",
  ]),
  "subscription.organisation": subscription("The organisation that made the subscription", "organisation", [
    "subscriptions.organisation_id",
  ]),
  "subscription.url": subscription("The address the hub sends the events to", "organisation", [
    "subscriptions.url",
  ]),
  "subscription.secret": subscription(
    "The key the hub signs every delivery with (Standard Webhooks), shown once: a credential, not personal data; kept in the clear, since signing needs it",
    "technical",
    ["subscriptions.secret"],
  ),
  "subscription.description": subscription("What the organisation calls the subscription", "organisation", [
    "subscriptions.description",
  ]),
  "subscription.filters": subscription(
    "Which events it wants: their types, the organisation they are about, whether card events are limited to its card set",
    "technical",
    ["subscriptions.types", "subscriptions.issuer", "subscriptions.card_set"],
  ),
  "subscription.state": subscription("Active or paused", "technical", ["subscriptions.state"]),
  "subscription.timestamps": subscription(
    "When the subscription was made and last changed, and its version number for optimistic concurrency",
    "technical",
    ["subscriptions.created_at", "subscriptions.updated_at", "subscriptions.version"],
  ),
  "subscription.lastAttempt": subscription(
    "When the latest delivery was tried, the HTTP status it got and why it failed",
    "technical",
    ["subscriptions.last_attempt_at", "subscriptions.last_status", "subscriptions.last_error"],
  ),
  "subscription.cards": field({
    description:
      "The card numbers (ESCNs) of the subscription's card set: cards the organisation has seen and follows, to learn of changes to their public status",
    category: "pseudonymous",
    personal: false,
    stored: ["subscription_cards.escn"],
    purposes: ["change-notification"],
    retention: RETAIN.cardSet,
  }),

  // -- Deliveries: the queue of events to send to each subscription, with their attempts. ------------------
  "delivery.id": field({
    description: "The delivery's number, by which the subscriber asks for it again",
    category: "technical",
    personal: false,
    stored: ["deliveries.id"],
    purposes: ["change-notification"],
    retention: RETAIN.delivery,
  }),
  "delivery.state": field({
    description:
      "Whether it carries the whole event or only a card's public status; pending, delivered or dead; how many attempts were made",
    category: "technical",
    personal: false,
    stored: ["deliveries.projection", "deliveries.state", "deliveries.attempts"],
    purposes: ["change-notification"],
    retention: RETAIN.delivery,
  }),
  "delivery.attempts": field({
    description:
      "When it was queued, when the next attempt is due, when the latest was made with the HTTP status it got and why it failed, and when it went through",
    category: "technical",
    personal: false,
    stored: [
      "deliveries.created_at",
      "deliveries.next_attempt_at",
      "deliveries.last_attempt_at",
      "deliveries.last_status",
      "deliveries.last_error",
      "deliveries.delivered_at",
    ],
    purposes: ["change-notification"],
    retention: RETAIN.delivery,
  }),
  "delivery.subjectKey": field({
    description:
      "SHA-256 of the event's subject (an ESCN, an ESI or an organisation's identifier), so that one subject's deliveries go out in order without the queue holding the ESI in the clear; never shown",
    category: "pseudonymous",
    personal: true,
    stored: ["deliveries.subject_key"],
    purposes: ["change-notification"],
    shownFor: [],
    retention: RETAIN.delivery,
  }),

  // -- Verifiable credentials: the card issued to the student's wallet as an SD-JWT VC (OpenID4VCI), the -----
  // issuers' keys and status lists, the offers that lead to it, and checks of presentations. The hub keeps
  // no copy of a credential, only which entry of which status list it has and whose it is.
  "issuerKey.public": field({
    description:
      "An issuing organisation's (or the deployment's certificate authority's) signing key: its key id, algorithm, public key and certificate chain, which the issuer metadata publishes for verifiers; whether the hub made it or the organisation brought it, active or retired, when it was made and retired, and until when a retired key stays published",
    category: "organisation",
    personal: false,
    stored: [
      "issuer_keys.id",
      "issuer_keys.organisation_id",
      "issuer_keys.alg",
      "issuer_keys.public_jwk",
      "issuer_keys.certificate_chain",
      "issuer_keys.origin",
      "issuer_keys.state",
      "issuer_keys.created_at",
      "issuer_keys.retired_at",
      "issuer_keys.published_until",
    ],
    purposes: ["organisation-administration", "public-verification"],
    retention: RETAIN.issuerKey,
  }),
  "issuerKey.sealedPrivateKey": field({
    description:
      "The private half of the signing key, which signs credentials and status lists, sealed with AES-256-GCM under the deployment's master key; never in the clear in the store, never shown",
    category: "technical",
    personal: false,
    stored: ["issuer_keys.sealed_private_key"],
    purposes: ["credential-issuance", "public-verification"],
    shownFor: [],
    retention: RETAIN.issuerKey,
  }),
  "credential.holder": field({
    description:
      "Which card (ESCN) and which holder (the person's internal number) a credential was issued to, so that its status follows the card's verdict and the holder's consent; never shown",
    category: "identifier",
    personal: true,
    stored: ["issued_credentials.escn", "issued_credentials.person_id"],
    purposes: ["credential-issuance"],
    shownFor: [],
    retention: RETAIN.credentialHolder,
  }),
  "credential.record": field({
    description:
      "An issued credential's bookkeeping, not its claims: a random id and a row number, the issuing organisation, the id of the key that signed it, its status list and (random) entry there, the thumbprint of the wallet key it is bound to, the offer it came through, when it was issued and expires; never shown",
    category: "technical",
    personal: false,
    stored: [
      "issued_credentials.seq",
      "issued_credentials.id",
      "issued_credentials.organisation_id",
      "issued_credentials.key_id",
      "issued_credentials.status_list_id",
      "issued_credentials.status_index",
      "issued_credentials.holder_key_thumbprint",
      "issued_credentials.offer_id",
      "issued_credentials.issued_at",
      "issued_credentials.expires_at",
    ],
    purposes: ["credential-issuance"],
    shownFor: [],
    retention: RETAIN.issuedCredential,
  }),
  "credential.sdJwt": field({
    description:
      "The signed credential (SD-JWT VC) handed to the student's wallet at the credential endpoint: the card's details, the student's name, ESI, institution, study level and the end of their student status, each selectively disclosable, and its status-list entry",
    category: "personal",
    personal: true,
    stored: [],
    purposes: ["credential-issuance"],
    shownTo: TO_WALLET,
    retention: RETAIN.wallet,
  }),
  "statusList.entries": field({
    description:
      "An issuer's Token Status Lists: two bits per credential (valid, invalid or suspended) at random places in lists of at least 100,000 entries, the signed token served to verifiers, and the lists' size, allocation, state, versions and times. Says nothing about one student: only the issued credentials' records tie an entry to a person",
    category: "status",
    personal: false,
    stored: [
      "status_lists.id",
      "status_lists.organisation_id",
      "status_lists.size",
      "status_lists.bits",
      "status_lists.allocated",
      "status_lists.state",
      "status_lists.version",
      "status_lists.signed_version",
      "status_lists.token",
      "status_lists.token_expires_at",
      "status_lists.created_at",
      "status_lists.updated_at",
      "status_list_entries.list_id",
      "status_list_entries.entries",
    ],
    purposes: ["public-verification"],
    retention: RETAIN.statusList,
  }),
  "credentialOffer.holder": field({
    description: "The card (ESCN) an offer is for and its holder (the person's internal number); never shown",
    category: "identifier",
    personal: true,
    stored: ["credential_offers.escn", "credential_offers.person_id"],
    purposes: ["credential-issuance"],
    shownFor: [],
    retention: RETAIN.offer,
  }),
  "credentialOffer.secrets": field({
    description:
      "SHA-256 of the offer's pre-authorized code, of its transaction code and of the access token a wallet got for it, the transaction code's length and the wrong attempts at it; never shown",
    category: "technical",
    personal: false,
    stored: [
      "credential_offers.pre_authorized_code_hash",
      "credential_offers.tx_code_hash",
      "credential_offers.tx_code_length",
      "credential_offers.failed_tx_code_attempts",
      "credential_offers.access_token_hash",
    ],
    purposes: ["credential-issuance"],
    shownFor: [],
    retention: RETAIN.offer,
  }),
  "credentialOffer.record": field({
    description:
      "An offer's id, the organisation that made it, its state (offered, token issued, redeemed, locked), when it was made, expires and was redeemed, until when its access token holds, and its version number",
    category: "technical",
    personal: false,
    stored: [
      "credential_offers.id",
      "credential_offers.organisation_id",
      "credential_offers.state",
      "credential_offers.created_at",
      "credential_offers.expires_at",
      "credential_offers.redeemed_at",
      "credential_offers.access_token_expires_at",
      "credential_offers.version",
    ],
    purposes: ["credential-issuance"],
    shownFor: [],
    retention: RETAIN.offer,
  }),
  "credentialOffer.offer": field({
    description:
      "The offer as handed once to the organisation that makes it, to pass on to the student: its id and expiry, the OpenID4VCI offer with its pre-authorized code, the offer's URI, deep link and QR code, and the transaction code to give the student apart; names the issuer, not the student",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["credential-issuance"],
    shownTo: TO_OFFERER,
    retention: RETAIN.offerShown,
  }),
  "presentation.verdict": field({
    description:
      "Whether a presentation the caller sent is valid, and if not the reason code and message; the issuer, credential type and expiry it carries, and the names (not the values) of the claims it discloses",
    category: "status",
    personal: false,
    stored: [],
    purposes: ["public-verification"],
    retention: RETAIN.presented,
  }),

  // -- Connectors: imports and synchronisations from the organisations' own systems. ---------------------
  "connectorPresence.seen": field({
    description:
      "Which persons a connector (an import, a synchronisation) found in its source for an organisation: the connector's name, the organisation, the person's internal number, the run that last saw them and when, and since when they are missing from the source; what lets the connector end the status of a student who left; never shown",
    category: "status",
    personal: true,
    stored: [
      "connector_presence.connector",
      "connector_presence.organisation_id",
      "connector_presence.run_id",
      "connector_presence.seen_at",
      "connector_presence.missing_since",
    ],
    purposes: ["card-management", "status-management"],
    shownFor: [],
    retention: RETAIN.presence,
  }),
  "connectorRun.record": field({
    description:
      "A connector's run, or an upload's: its number, the connector's name (`upload` for a file sent to the API), the organisation, a description of the source (a file's path as configured, a directory's or a database's address, `upload:csv`), whether it is running, completed or failed and why, when it started and finished, and how many rows it read, created, updated, left unchanged, found missing, ended and rejected; no record and no problem of a row; shown to its organisation",
    category: "technical",
    personal: false,
    stored: [
      "connector_runs.id",
      "connector_runs.connector",
      "connector_runs.organisation_id",
      "connector_runs.source",
      "connector_runs.state",
      "connector_runs.started_at",
      "connector_runs.finished_at",
      "connector_runs.rows_read",
      "connector_runs.created",
      "connector_runs.updated",
      "connector_runs.unchanged",
      "connector_runs.missing",
      "connector_runs.ended",
      "connector_runs.rejected",
      "connector_runs.error",
    ],
    purposes: ["card-management", "status-management"],
    shownFor: ["card-management"],
    shownTo: { "card-management": ["institution", "student-service"] },
    retention: RETAIN.connectorRun,
  }),
  "upload.outcome": field({
    description:
      "What an import of an uploaded file answers beyond its run's counts: whether it was a dry run (which records nothing, not even the run), its first 1,000 refused rows, each with its row or line, the column or key at fault, the rule broken and where in the file, and whether more were refused; names no student",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["card-management"],
    shownTo: { "card-management": ["institution", "student-service"] },
    retention: RETAIN.uploadOutcome,
  }),
  "connector.configuration": field({
    description:
      "A connector of the hub's sync configuration (`OPENESC_SYNC_CONFIG`) for the organisation: its name, the kind of its source, how often the hub runs it and after how many days a student missing from its source is ended; never its source's address, options or credentials",
    category: "organisation",
    personal: false,
    stored: [],
    purposes: ["card-management", "status-management"],
    shownFor: ["card-management"],
    shownTo: { "card-management": ["institution", "student-service"] },
    retention: RETAIN.configured,
  }),

  // -- The mirror to an ESC Router: an organisation's persons and cards pushed to a production router. ------
  "mirrorJob.subject": field({
    description:
      "The ESI of a person or the ESCN of a card the organisation's mirror pushes to its ESC Router; a person's ESI is replaced by its pseudonym once the router removed them",
    category: "identifier",
    personal: true,
    stored: ["mirror_jobs.subject"],
    purposes: ["card-management"],
    retention: RETAIN.mirrorJob,
  }),
  "mirrorJob.subjectKey": field({
    description:
      "The pseudonym an erasure leaves of the person's ESI (the ESCN, for a card), by which the events of a person removed at the hub still find the job that can remove them from the router; never shown",
    category: "pseudonymous",
    personal: true,
    stored: ["mirror_jobs.subject_key"],
    purposes: ["card-management"],
    shownFor: [],
    retention: RETAIN.mirrorJob,
  }),
  "mirrorJob.organisation": field({
    description: "The organisation whose person or card the job pushes; never shown (each sees only its own)",
    category: "organisation",
    personal: false,
    stored: ["mirror_jobs.organisation_id"],
    purposes: ["card-management"],
    shownFor: [],
    retention: RETAIN.mirrorJob,
  }),
  "mirrorJob.state": field({
    description:
      "Whether the job is about a person or a card; pending, done or refused; the operation last sent (PUT, POST or DELETE); failed attempts since the subject last changed",
    category: "technical",
    personal: false,
    stored: ["mirror_jobs.kind", "mirror_jobs.state", "mirror_jobs.operation", "mirror_jobs.attempts"],
    purposes: ["card-management"],
    retention: RETAIN.mirrorJob,
  }),
  "mirrorJob.attempts": field({
    description:
      "When the job was queued, when its next attempt is due, when the latest was made with the router's HTTP status, error code and message (or why no answer came), and when the router accepted or refused",
    category: "technical",
    personal: false,
    stored: [
      "mirror_jobs.queued_at",
      "mirror_jobs.next_attempt_at",
      "mirror_jobs.last_attempt_at",
      "mirror_jobs.last_status",
      "mirror_jobs.last_code",
      "mirror_jobs.last_message",
      "mirror_jobs.settled_at",
    ],
    purposes: ["card-management"],
    retention: RETAIN.mirrorJob,
  }),
  "mirror.router": field({
    description:
      "The base URL of the ESC Router an organisation's persons and cards are mirrored to; the router's token is never shown",
    category: "organisation",
    personal: false,
    stored: [],
    purposes: ["card-management"],
    retention: RETAIN.mirrorConfigured,
  }),
  "mirror.progress": field({
    description:
      "How many of the organisation's mirror jobs are pending, retrying, done and refused, when the router last accepted one, and the latest failure of a job still pending",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["card-management"],
    retention: RETAIN.computed,
  }),

  // -- The hub itself. ------------------------------------------------------------------------------------
  "hub.health": field({
    description: "Whether the hub is alive and its store answers, and which kind of store it uses",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["operations"],
    retention: RETAIN.computed,
  }),

  // -- Answers to the data subject's requests, about the request itself. -------------------------------
  "export.metadata": field({
    description: "The format version of a person's export and when it was made",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["data-subject-rights"],
    retention: RETAIN.computed,
  }),
  "erasure.summary": field({
    description:
      "How many cards, statuses and links an erasure removed, and whether the person record went too",
    category: "technical",
    personal: false,
    stored: [],
    purposes: ["data-subject-rights"],
    retention: RETAIN.computed,
  }),
} as const satisfies Record<string, DataField>;

export type DataKey = keyof typeof DATA_MAP;

export const DATA_KEYS = Object.keys(DATA_MAP) as DataKey[];

export function isDataKey(value: unknown): value is DataKey {
  return typeof value === "string" && Object.hasOwn(DATA_MAP, value);
}

/** The lawful basis of each of a field's purposes. */
export function lawfulBasesOf(key: DataKey): Readonly<Partial<Record<Purpose, LawfulBasis>>> {
  return Object.fromEntries(DATA_MAP[key].purposes.map((p) => [p, PURPOSES[p].basis]));
}

/**
 * Whether a route of `purpose` may answer the field. A field whose purpose is consent-based is answered by a
 * route only when the route declares that purpose among its `consentPurposes` (and checks the consent).
 */
export function mayDisclose(
  key: DataKey,
  purpose: Purpose,
  consentPurposes: readonly Purpose[] = [],
): boolean {
  const purposes: readonly Purpose[] = DATA_MAP[key].purposes;
  return (
    purposes.includes(purpose) ||
    consentPurposes.some((p) => PURPOSES[p].basis === "consent" && purposes.includes(p))
  );
}

/**
 * Columns of the store that are not data of their own: internal row numbers and references between
 * tables, which never leave the hub, the lease table by which processes take turns at jobs, the claims by
 * which they share the delivery queue, the cursors where jobs keep their place, and the nonces wallets
 * sign their key proofs with.
 */
export const NON_DATA_COLUMNS: Readonly<Record<string, string>> = {
  "persons.id":
    "internal number of a person; leaves the hub only as an audit entry's subject, where it means nothing outside",
  "person_links.person_id": "reference to the person",
  "student_statuses.id": "internal row number (cursor position of the native listing)",
  "student_statuses.person_id": "reference to the person",
  "cards.id": "internal row number (cursor position of the native listing)",
  "consents.person_id": "reference to the person",
  "outbox.position": "the event's place in the feed",
  "audit_anchor.id": "the anchor's single row",
  "leases.name": "which job a process holds",
  "leases.holder": "which process holds it",
  "leases.expires_at": "until when",
  "subscriptions.seq": "internal row number (cursor position of the listing)",
  "subscriptions.start_after": "the feed position from which the subscription receives events",
  "deliveries.position": "the event's place in the feed",
  "deliveries.claimed_by": "which process is sending the delivery",
  "deliveries.claimed_until": "until when another process leaves it alone",
  "cursors.name": "which job keeps a position",
  "cursors.value": "where the job stands (a feed position, a day)",
  "credential_nonces.value":
    "a random value a wallet signs into its key proof, spent once; tied to no offer and no person",
  "credential_nonces.expires_at": "until when it is accepted; the retention job deletes it after",
  "connector_presence.person_id": "reference to the person",
  "mirror_jobs.id": "internal row number (cursor position of the refusals)",
  "mirror_jobs.position": "the place in the feed of the latest event that queued the job",
  "mirror_jobs.claimed_by": "which process is pushing the job",
  "mirror_jobs.claimed_until": "until when another process leaves it alone",
};
