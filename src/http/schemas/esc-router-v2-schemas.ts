import { type Static, Type } from "typebox";

/**
 * The ESC Router V2 views, with the component names and fields of its published OpenAPI document, so
 * that the document we serve lines up with it and existing clients keep working. Write views accept and
 * ignore unknown fields, as the original does.
 */
const ref = (id: string) => Type.Unsafe<unknown>({ $ref: `${id}#` });

export const CodeView = Type.Object(
  { key: Type.String({ example: "KEY" }), label: Type.String({ example: "Label" }) },
  { $id: "CodeView", description: "An enumeration value with its label" },
);

export const ApiErrorMessage = Type.Object(
  {
    code: Type.String({ description: "A stable code from the error catalogue", example: "ESCN_INVALID" }),
    message: Type.String({
      description: "What is wrong, naming the field",
      example: "cardNumber: version must be 1",
    }),
  },
  { $id: "ApiErrorMessage" },
);

export const AddressView = Type.Object({ country: Type.Optional(ref("CodeView")) }, { $id: "AddressView" });

export const OrganisationLiteView = Type.Object(
  {
    id: Type.Integer({ format: "int64" }),
    identifier: Type.String({
      description: "The identifier of the organisation (PIC/VAT)",
      example: "999888777",
    }),
    identifierCode: ref("CodeView"),
    name: Type.String({ example: "Université de Saint-Valentin" }),
    fullLabel: Type.String({ description: "The identifier and the name of the organisation" }),
    organisationType: ref("CodeView"),
    status: ref("CodeView"),
    schacHomeOrganization: Type.Optional(Type.String({ example: "univ-saint-valentin.fr" })),
    website: Type.Optional(Type.String()),
    mainColor: Type.Optional(Type.String()),
    secondaryColor: Type.Optional(Type.String()),
    contrastColor: Type.Optional(Type.String()),
    address: Type.Optional(ref("AddressView")),
  },
  { $id: "OrganisationLiteView" },
);

export const ContactPointView = Type.Object(
  { email: Type.Optional(Type.String()) },
  { $id: "ContactPointView" },
);

export const PersonOrganisationView = Type.Object(
  {
    organisation: ref("OrganisationLiteView"),
    academicLevel: Type.Optional(ref("CodeView")),
    contactPoint: Type.Optional(ref("ContactPointView")),
    fullName: Type.Optional(Type.String({ description: "The full name as this organisation knows it" })),
  },
  { $id: "PersonOrganisationView" },
);

export const PersonView = Type.Object(
  {
    identifier: Type.String({ example: "urn:schac:personalUniqueCode:int:esi:es:12345678X" }),
    identifierCode: ref("CodeView"),
    fullName: Type.String({ example: "John Smith" }),
    organisationCount: Type.Integer({
      format: "int32",
      description: "Number of the caller's organisations linked to the person (never those of others)",
    }),
    organisations: Type.Array(ref("PersonOrganisationView")),
  },
  { $id: "PersonView" },
);

export const PersonLiteView = Type.Object(
  {
    identifier: Type.String(),
    fullName: Type.String(),
    organisations: Type.Optional(Type.Array(ref("PersonOrganisationView"))),
  },
  { $id: "PersonLiteView" },
);

/**
 * The ESC-R document shows PICs as numbers in its examples, so generated clients send them as JSON numbers,
 * which its Spring server reads as text. We accept both; the services parse them into a 9-digit PIC.
 */
const picOrText = (description: string) =>
  Type.Union([Type.String(), Type.Integer({ minimum: 0 })], { description, example: "999888777" });

const optionalText = (description: string, example?: string) =>
  Type.Optional(Type.Union([Type.String({ description, ...(example ? { example } : {}) }), Type.Null()]));

export const PersonOrganisationUpdateView = Type.Object(
  {
    organisationIdentifier: Type.String({
      description: "The identifier of the organisation (PIC/VAT)",
      example: "999888777",
    }),
    academicLevel: optionalText("BACHELOR, MASTER or DOCTORATE", "BACHELOR"),
    email: optionalText("The email of the student", "student@example.com"),
    phone: optionalText("The phone of the contact"),
    fax: optionalText("The fax of the contact"),
  },
  { $id: "PersonOrganisationUpdateView" },
);
export type PersonOrganisationUpdateViewBody = Static<typeof PersonOrganisationUpdateView>;

export const PersonUpdateView = Type.Object(
  {
    identifier: Type.String({ example: "urn:schac:personalUniqueCode:int:esi:es:12345678X" }),
    identifierCode: optionalText("ESI is the only option", "ESI"),
    fullName: Type.String({ example: "John Smith" }),
    personOrganisationUpdateViews: Type.Array(
      Type.Unsafe<PersonOrganisationUpdateViewBody>(ref("PersonOrganisationUpdateView")),
    ),
  },
  { $id: "PersonUpdateView" },
);
export type PersonUpdateViewBody = Static<typeof PersonUpdateView>;

export const CardUpdateView = Type.Object(
  {
    cardNumber: optionalText(
      "The ESCN; generated when empty (POST only)",
      "3e506370-826a-103d-bf76-001999888777",
    ),
    cardStatusType: Type.String({ description: "ACTIVE or INACTIVE", example: "ACTIVE" }),
    cardType: Type.String({ description: "One of the 7 ESC card types", example: "SMART_PASSIVE" }),
    issuedAt: Type.String({ description: "yyyy-MM-dd", example: "2026-09-01" }),
    expiresAt: Type.String({ description: "yyyy-MM-dd", example: "2027-08-31" }),
    issuerIdentifier: picOrText("The PIC of the issuer"),
    personIdentifier: Type.String({ description: "The ESI of the holder" }),
    displayName: optionalText("The name displayed on the card"),
    processorIdentifier: optionalText("The VAT number of the card bureau"),
  },
  { $id: "CardUpdateView" },
);
export type CardUpdateViewBody = Static<typeof CardUpdateView>;

const cardViewProperties = {
  cardNumber: Type.String({ example: "3e506370-826a-103d-bf76-001999888777" }),
  displayName: Type.Optional(Type.String()),
  issuedAt: Type.String(),
  expiresAt: Type.String(),
  hasOwnerAuthorization: Type.Boolean({
    description: "Whether the caller's organisation acts for the card's issuer",
  }),
  issuer: ref("OrganisationLiteView"),
  processor: Type.Optional(ref("OrganisationLiteView")),
  person: ref("PersonLiteView"),
};

export const CardView = Type.Object(
  { ...cardViewProperties, cardStatusType: ref("CodeView"), cardType: ref("CodeView") },
  { $id: "CardView" },
);

export const CardLiteView = Type.Object(cardViewProperties, { $id: "CardLiteView" });

export const CardStatusView = Type.Object(
  {
    cardNumber: Type.String(),
    displayName: Type.Optional(Type.String({ description: "Only when the issuer has chosen to show it" })),
    issuedAt: Type.String(),
    expiresAt: Type.String(),
    issuerIdentifier: Type.String(),
    issuerName: Type.String(),
    status: Type.String({ description: "ACTIVE, INACTIVE or EXPIRED", example: "ACTIVE" }),
  },
  { $id: "CardStatusView" },
);

export const Link = Type.Object({ rel: Type.String(), href: Type.String() }, { $id: "Link" });

export const PageMetadata = Type.Object(
  {
    number: Type.Integer({ format: "int64" }),
    size: Type.Integer({ format: "int64" }),
    totalElements: Type.Integer({ format: "int64" }),
    totalPages: Type.Integer({ format: "int64" }),
  },
  { $id: "PageMetadata" },
);

const paged = (item: string, id: string) =>
  Type.Object(
    {
      content: Type.Array(ref(item)),
      empty: Type.Boolean(),
      links: Type.Array(ref("Link")),
      page: ref("PageMetadata"),
    },
    { $id: id },
  );

export const PagedResourcesCardLiteView = paged("CardLiteView", "PagedResourcesCardLiteView");
export const PagedResourcesPersonLiteView = paged("PersonLiteView", "PagedResourcesPersonLiteView");

export const ESC_ROUTER_V2_SCHEMAS = [
  CodeView,
  ApiErrorMessage,
  AddressView,
  OrganisationLiteView,
  ContactPointView,
  PersonOrganisationView,
  PersonView,
  PersonLiteView,
  PersonOrganisationUpdateView,
  PersonUpdateView,
  CardUpdateView,
  CardView,
  CardLiteView,
  CardStatusView,
  Link,
  PageMetadata,
  PagedResourcesCardLiteView,
  PagedResourcesPersonLiteView,
];

export const escRef = ref;
