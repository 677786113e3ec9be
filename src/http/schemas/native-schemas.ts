import { type Static, Type } from "typebox";
import { SCOPES } from "../../domain/api-token.ts";
import { INACTIVE_REASONS } from "../../domain/card.ts";
import { CARD_TYPES } from "../../domain/card-type.ts";
import { ORGANISATION_KINDS } from "../../domain/organisation.ts";
import { STUDENT_STATUS_STATES } from "../../domain/student-status.ts";

/**
 * Schemas of the native API (`/v1`). Unlike the ESC-R compatible part, every request object here
 * rejects unknown fields: a typo is an error, not a silently ignored field.
 */
const ref = (id: string) => Type.Unsafe<unknown>({ $ref: `${id}#` });
const strict = { additionalProperties: false } as const;
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

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

export const Organisation = Type.Object(
  {
    id: Type.String(),
    kind: literals(ORGANISATION_KINDS),
    name: Type.String(),
    country: nullable(Type.String()),
    schacHomeOrganisation: nullable(Type.String()),
    erasmusCode: nullable(Type.String()),
    website: nullable(Type.String()),
    colours: Type.Object({
      main: nullable(Type.String()),
      secondary: nullable(Type.String()),
      contrast: nullable(Type.String()),
      qr: nullable(Type.String()),
    }),
    showDisplayName: Type.Boolean(),
    serves: Type.Array(Type.String()),
    processors: Type.Array(Type.String()),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
    version: Type.Integer(),
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
  id: Type.String({ format: "uuid" }),
  organisationId: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String({ format: "date-time" }),
  expiresAt: nullable(Type.String({ format: "date-time" })),
  revokedAt: nullable(Type.String({ format: "date-time" })),
};

export const ApiToken = Type.Object(tokenProperties, { $id: "ApiToken" });

export const IssuedToken = Type.Object(
  { ...tokenProperties, token: Type.String({ description: "The secret, shown this once only" }) },
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
    esi: Type.String(),
    organisationId: Type.String(),
    state: literals(STUDENT_STATUS_STATES),
    validFrom: Type.String(),
    validUntil: nullable(Type.String()),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
    version: Type.Integer(),
  },
  { $id: "StudentStatus" },
);

export const PersonLink = Type.Object(
  {
    organisationId: Type.String(),
    fullName: Type.String(),
    academicLevel: nullable(Type.String()),
    email: nullable(Type.String()),
  },
  { $id: "PersonLink" },
);

export const Person = Type.Object(
  {
    esi: Type.String(),
    links: Type.Array(ref("PersonLink")),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { $id: "Person" },
);

export const Card = Type.Object(
  {
    escn: Type.String(),
    esi: Type.String(),
    issuerId: Type.String(),
    processorId: nullable(Type.String()),
    cardType: literals(CARD_TYPES),
    status: literals(["ACTIVE", "INACTIVE"]),
    inactiveReason: nullable(literals(INACTIVE_REASONS)),
    publicStatus: literals(["ACTIVE", "INACTIVE", "EXPIRED"]),
    verdict: literals(["valid", "suspended", "invalid"]),
    issuedAt: Type.String(),
    expiresAt: Type.String(),
    displayName: nullable(Type.String()),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
    version: Type.Integer(),
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
    organisation: ref("Organisation"),
    scopes: Type.Array(Type.String()),
    actingFor: Type.Array(Type.String()),
  },
  { $id: "Me" },
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
];

export const nativeRef = ref;
