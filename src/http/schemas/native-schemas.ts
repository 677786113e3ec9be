import { type Static, Type } from "typebox";
import { SCOPES } from "../../domain/api-token.ts";
import { AUDIT_ACTIONS, AUDIT_SUBJECTS } from "../../domain/audit-entry.ts";
import { INACTIVE_REASONS } from "../../domain/card.ts";
import { CARD_TYPES } from "../../domain/card-type.ts";
import { ORGANISATION_KINDS } from "../../domain/organisation.ts";
import { CONSENT_PURPOSES, PURPOSE_NAMES } from "../../domain/purpose.ts";
import { STUDENT_STATUS_STATES } from "../../domain/student-status.ts";
import { data } from "./data-annotation.ts";
import { literals, nullable, ref, strict } from "./schema-helpers.ts";

/**
 * Schemas of the native API (`/v1`). Unlike the ESC-R compatible part, every request object here
 * rejects unknown fields: a typo is an error, not a silently ignored field.
 */
export const Problem = Type.Object(
  {
    type: Type.String({
      description: "A URI naming the problem type",
      example: "urn:openesc:problem:ESCN_INVALID",
    }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: "A stable code from the error catalogue (docs/errors.md)" }),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), reason: Type.String() }))),
  },
  { $id: "Problem", description: "RFC 9457 problem details" },
);

export const CardColours = Type.Object(
  {
    main: Type.Optional(nullable(Type.String({ example: "#003399" }))),
    secondary: Type.Optional(nullable(Type.String())),
    contrast: Type.Optional(nullable(Type.String())),
    qr: Type.Optional(nullable(Type.String())),
  },
  { $id: "CardColours", ...strict },
);

/** Bounds `serves` and `processors`: each is looked up in one query, which a store limits in size. */
const MAX_RELATED_ORGANISATIONS = 1000;

const profileProperties = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  country: Type.Optional(nullable(Type.String({ description: "ISO 3166-1 alpha-2", example: "PL" }))),
  schacHomeOrganisation: Type.Optional(nullable(Type.String({ example: "uw.edu.pl" }))),
  erasmusCode: Type.Optional(nullable(Type.String({ example: "PL WARSZAW01" }))),
  website: Type.Optional(nullable(Type.String())),
  colours: Type.Optional(Type.Unsafe<Record<string, string | null>>(ref("CardColours"))),
  showDisplayName: Type.Optional(
    Type.Boolean({
      description: "Whether the public card status shows the card's displayName (default false)",
    }),
  ),
  serves: Type.Optional(
    Type.Array(Type.String(), {
      maxItems: MAX_RELATED_ORGANISATIONS,
      description: "For a student-service organisation: the PICs of the institutions it serves",
    }),
  ),
  processors: Type.Optional(
    Type.Array(Type.String(), {
      maxItems: MAX_RELATED_ORGANISATIONS,
      description: "VAT numbers of the card bureaus allowed to act for this organisation",
    }),
  ),
};

export const NewOrganisation = Type.Object(
  {
    id: Type.String({
      description: "PIC (institution, student-service), VAT number (card bureau) or a local identifier",
    }),
    kind: literals(ORGANISATION_KINDS.filter((k) => k !== "operator")),
    ...profileProperties,
    name: Type.String({ minLength: 1, maxLength: 255 }),
  },
  { $id: "NewOrganisation", ...strict },
);
export type NewOrganisationBody = Static<typeof NewOrganisation>;

export const OrganisationPatch = Type.Object(profileProperties, { $id: "OrganisationPatch", ...strict });
export type OrganisationPatchBody = Static<typeof OrganisationPatch>;

const colour = () => nullable(Type.String(), data("organisation.colours"));

export const Organisation = Type.Object(
  {
    id: Type.String(data("organisation.id")),
    kind: literals(ORGANISATION_KINDS, data("organisation.kind")),
    name: Type.String(data("organisation.name")),
    country: nullable(Type.String(), data("organisation.country")),
    schacHomeOrganisation: nullable(Type.String(), data("organisation.schacHomeOrganisation")),
    erasmusCode: nullable(Type.String(), data("organisation.erasmusCode")),
    website: nullable(Type.String(), data("organisation.website")),
    colours: Type.Object(
      { main: colour(), secondary: colour(), contrast: colour(), qr: colour() },
      data("organisation.colours"),
    ),
    showDisplayName: Type.Boolean(data("organisation.showDisplayName")),
    serves: Type.Array(Type.String(), data("organisation.serves")),
    processors: Type.Array(Type.String(), data("organisation.processors")),
    createdAt: Type.String({ format: "date-time", ...data("organisation.timestamps") }),
    updatedAt: Type.String({ format: "date-time", ...data("organisation.timestamps") }),
    version: Type.Integer(data("organisation.version")),
  },
  { $id: "Organisation" },
);

export const NewToken = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, example: "student information system" }),
    scopes: Type.Optional(Type.Array(Type.String(), { description: `Subset of: ${SCOPES.join(", ")}` })),
    expiresAt: Type.Optional(nullable(Type.String({ format: "date-time" }))),
  },
  { $id: "NewToken", ...strict },
);
export type NewTokenBody = Static<typeof NewToken>;

const tokenProperties = {
  id: Type.String({ format: "uuid", ...data("token.id") }),
  organisationId: Type.String(data("token.organisation")),
  name: Type.String(data("token.name")),
  scopes: Type.Array(Type.String(), data("token.scopes")),
  createdAt: Type.String({ format: "date-time", ...data("token.lifetime") }),
  expiresAt: nullable(Type.String({ format: "date-time" }), data("token.lifetime")),
  revokedAt: nullable(Type.String({ format: "date-time" }), data("token.lifetime")),
};

export const ApiToken = Type.Object(tokenProperties, { $id: "ApiToken" });

export const IssuedToken = Type.Object(
  {
    ...tokenProperties,
    token: Type.String({ description: "The secret, shown this once only", ...data("token.secret") }),
  },
  { $id: "IssuedToken" },
);

export const StudentStatusInput = Type.Object(
  {
    state: literals(STUDENT_STATUS_STATES),
    validFrom: Type.String({ description: "yyyy-MM-dd", example: "2026-09-01" }),
    validUntil: Type.Optional(
      nullable(Type.String({ description: "yyyy-MM-dd, inclusive; null when open-ended" })),
    ),
  },
  { $id: "StudentStatusInput", ...strict },
);
export type StudentStatusInputBody = Static<typeof StudentStatusInput>;

export const StudentStatus = Type.Object(
  {
    esi: Type.String(data("person.esi")),
    organisationId: Type.String(data("studentStatus.organisation")),
    state: literals(STUDENT_STATUS_STATES, data("studentStatus.state")),
    validFrom: Type.String(data("studentStatus.validFrom")),
    validUntil: nullable(Type.String(), data("studentStatus.validUntil")),
    createdAt: Type.String({ format: "date-time", ...data("studentStatus.timestamps") }),
    updatedAt: Type.String({ format: "date-time", ...data("studentStatus.timestamps") }),
    version: Type.Integer(data("studentStatus.version")),
  },
  { $id: "StudentStatus" },
);

export const PersonLink = Type.Object(
  {
    organisationId: Type.String(data("personLink.organisation")),
    fullName: Type.String(data("personLink.fullName")),
    academicLevel: nullable(Type.String(), data("personLink.academicLevel")),
    email: nullable(Type.String(), data("personLink.email")),
  },
  { $id: "PersonLink" },
);

export const Person = Type.Object(
  {
    esi: Type.String(data("person.esi")),
    links: Type.Array(ref("PersonLink"), data("personLink.organisation")),
    createdAt: Type.String({ format: "date-time", ...data("personLink.timestamps") }),
    updatedAt: Type.String({ format: "date-time", ...data("personLink.timestamps") }),
  },
  { $id: "Person" },
);

export const Card = Type.Object(
  {
    escn: Type.String(data("card.escn")),
    esi: Type.String(data("person.esi")),
    issuerId: Type.String(data("card.issuer")),
    processorId: nullable(Type.String(), data("card.processor")),
    cardType: literals(CARD_TYPES, data("card.cardType")),
    status: literals(["ACTIVE", "INACTIVE"], data("card.status")),
    inactiveReason: nullable(literals(INACTIVE_REASONS), data("card.inactiveReason")),
    publicStatus: literals(["ACTIVE", "INACTIVE", "EXPIRED"], data("card.publicStatus")),
    verdict: literals(["valid", "suspended", "invalid"], data("card.verdict")),
    issuedAt: Type.String(data("card.issuedAt")),
    expiresAt: Type.String(data("card.expiresAt")),
    displayName: nullable(Type.String(), data("card.displayName")),
    createdAt: Type.String({ format: "date-time", ...data("card.timestamps") }),
    updatedAt: Type.String({ format: "date-time", ...data("card.timestamps") }),
    version: Type.Integer(data("card.version")),
  },
  { $id: "Card" },
);

export const CardPatch = Type.Object(
  {
    status: Type.Optional(literals(["ACTIVE", "INACTIVE"])),
    inactiveReason: Type.Optional(nullable(literals(INACTIVE_REASONS))),
    expiresAt: Type.Optional(Type.String({ description: "yyyy-MM-dd" })),
    displayName: Type.Optional(nullable(Type.String({ maxLength: 255 }))),
  },
  { $id: "CardPatch", ...strict },
);
export type CardPatchBody = Static<typeof CardPatch>;

export const Me = Type.Object(
  {
    organisation: ref("Organisation", data("token.organisation")),
    scopes: Type.Array(Type.String(), data("token.scopes")),
    actingFor: Type.Array(Type.String(), data("organisation.processors")),
  },
  { $id: "Me" },
);

export const ConsentInput = Type.Object(
  {
    wordingVersion: Type.String({
      minLength: 1,
      maxLength: 32,
      description: "The version of the wording the student was shown (GET /v1/consent-wordings)",
      example: "2026-11",
    }),
  },
  { $id: "ConsentInput", ...strict },
);
export type ConsentInputBody = Static<typeof ConsentInput>;

export const Consent = Type.Object(
  {
    esi: Type.String(data("person.esi")),
    purpose: literals(CONSENT_PURPOSES, data("consent.purpose")),
    state: literals(["given", "withdrawn"], data("consent.state")),
    wordingVersion: Type.String({
      description: "The wording the student agreed to",
      ...data("consent.wordingVersion"),
    }),
    recordedBy: nullable(
      Type.String({
        description:
          "The organisation through which the consent was last given or withdrawn, when it is the caller's own; null when another of the student's institutions recorded it",
      }),
      data("consent.recordedBy"),
    ),
    givenAt: Type.String({ format: "date-time", ...data("consent.givenAt") }),
    withdrawnAt: nullable(Type.String({ format: "date-time" }), data("consent.withdrawnAt")),
    updatedAt: Type.String({ format: "date-time", ...data("consent.updatedAt") }),
  },
  { $id: "Consent", description: "A student's consent to one purpose whose lawful basis is consent" },
);

export const ConsentWording = Type.Object(
  {
    purpose: literals(CONSENT_PURPOSES, data("consentWording.text")),
    description: Type.String(data("consentWording.text")),
    current: Type.String({
      description: "The version institutions should show now",
      ...data("consentWording.text"),
    }),
    versions: Type.Array(
      Type.Object({
        version: Type.String({ example: "2026-11", ...data("consentWording.text") }),
        publishedAt: Type.String({ description: "yyyy-MM-dd", ...data("consentWording.text") }),
        text: Type.String({
          description: "What the student is shown, in English",
          ...data("consentWording.text"),
        }),
      }),
      {
        description: "Every version published, oldest first; old versions stay known",
        ...data("consentWording.text"),
      },
    ),
  },
  { $id: "ConsentWording", description: "The wordings of the consent to one purpose" },
);

export const AuditEntry = Type.Object(
  {
    seq: Type.Integer({ description: "Position in the hub-wide chain", ...data("audit.seq") }),
    at: Type.String({ format: "date-time", ...data("audit.at") }),
    organisationId: nullable(
      Type.String({ description: "The organisation that read or changed the data; null for anonymous" }),
      data("audit.organisation"),
    ),
    tokenId: nullable(
      Type.String({ description: "Which of its tokens; null for anonymous" }),
      data("audit.token"),
    ),
    action: literals(AUDIT_ACTIONS, data("audit.action")),
    purpose: literals(PURPOSE_NAMES, data("audit.purpose")),
    subjectType: literals(AUDIT_SUBJECTS, data("audit.subjectType")),
    subject: Type.String({
      description: "The card's ESCN, or the hub's internal number of the person the data is about",
      ...data("audit.subject"),
    }),
    hash: Type.String({ description: "The entry's chain hash (SHA-256, hex)", ...data("audit.chain") }),
  },
  { $id: "AuditEntry", description: "Who read or changed which personal data, when and why" },
);

export const listOf = (item: string) =>
  Type.Object({
    items: Type.Array(ref(item)),
    next: nullable(Type.String({ description: "Cursor of the next page; null on the last page" })),
  });

export const KeysetQuery = {
  after: Type.Optional(Type.String({ description: "The `next` cursor of the previous page" })),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      description: "Items per page (default 50; maximum configured, 100 by default)",
    }),
  ),
};

export const NATIVE_SCHEMAS = [
  Problem,
  CardColours,
  NewOrganisation,
  OrganisationPatch,
  Organisation,
  NewToken,
  ApiToken,
  IssuedToken,
  StudentStatusInput,
  StudentStatus,
  PersonLink,
  Person,
  Card,
  CardPatch,
  Me,
  ConsentInput,
  Consent,
  ConsentWording,
  AuditEntry,
];

export const nativeRef = ref;
