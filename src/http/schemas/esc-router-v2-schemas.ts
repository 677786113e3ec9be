import { type Static, Type } from "typebox";
import { data } from "./data-annotation.ts";

/**
 * The ESC Router V2 views, with the component names and fields of its published OpenAPI document, so
 * that the document we serve lines up with it and existing clients keep working. Write views accept and
 * ignore unknown fields, as the original does.
 */
const ref = (id: string, options: object = {}) => Type.Unsafe<unknown>({ $ref: `${id}#`, ...options });

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

export const AddressView = Type.Object(
  { country: Type.Optional(ref("CodeView", data("organisation.country"))) },
  { $id: "AddressView" },
);

export const OrganisationLiteView = Type.Object(
  {
    id: Type.Integer({ format: "int64", ...data("organisation.seq") }),
    identifier: Type.String({
      description: "The identifier of the organisation (PIC/VAT)",
      example: "999888777",
      ...data("organisation.id"),
    }),
    identifierCode: ref("CodeView", data("organisation.kind")),
    name: Type.String({ example: "Université de Saint-Valentin", ...data("organisation.name") }),
    fullLabel: Type.String({
      description: "The identifier and the name of the organisation",
      ...data("organisation.name"),
    }),
    organisationType: ref("CodeView", data("organisation.kind")),
    status: ref("CodeView", data("organisation.status")),
    schacHomeOrganization: Type.Optional(
      Type.String({ example: "univ-saint-valentin.fr", ...data("organisation.schacHomeOrganisation") }),
    ),
    website: Type.Optional(Type.String(data("organisation.website"))),
    mainColor: Type.Optional(Type.String(data("organisation.colours"))),
    secondaryColor: Type.Optional(Type.String(data("organisation.colours"))),
    contrastColor: Type.Optional(Type.String(data("organisation.colours"))),
    address: Type.Optional(ref("AddressView", data("organisation.country"))),
  },
  { $id: "OrganisationLiteView" },
);

export const ContactPointView = Type.Object(
  { email: Type.Optional(Type.String(data("personLink.email"))) },
  { $id: "ContactPointView" },
);

export const PersonOrganisationView = Type.Object(
  {
    organisation: ref("OrganisationLiteView", data("personLink.organisation")),
    academicLevel: Type.Optional(ref("CodeView", data("personLink.academicLevel"))),
    contactPoint: Type.Optional(ref("ContactPointView", data("personLink.email"))),
    fullName: Type.Optional(
      Type.String({
        description: "The full name as this organisation knows it",
        ...data("personLink.fullName"),
      }),
    ),
  },
  { $id: "PersonOrganisationView" },
);

export const PersonView = Type.Object(
  {
    identifier: Type.String({
      example: "urn:schac:personalUniqueCode:int:esi:es:12345678X",
      ...data("person.esi"),
    }),
    identifierCode: ref("CodeView", data("person.esi")),
    fullName: Type.String({ example: "John Smith", ...data("personLink.fullName") }),
    organisationCount: Type.Integer({
      format: "int32",
      description: "Number of the caller's organisations linked to the person (never those of others)",
      ...data("personLink.organisation"),
    }),
    organisations: Type.Array(ref("PersonOrganisationView"), data("personLink.organisation")),
  },
  { $id: "PersonView" },
);

export const PersonLiteView = Type.Object(
  {
    identifier: Type.String(data("person.esi")),
    fullName: Type.String(data("personLink.fullName")),
    organisations: Type.Optional(Type.Array(ref("PersonOrganisationView"), data("personLink.organisation"))),
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
  cardNumber: Type.String({ example: "3e506370-826a-103d-bf76-001999888777", ...data("card.escn") }),
  displayName: Type.Optional(Type.String(data("card.displayName"))),
  issuedAt: Type.String(data("card.issuedAt")),
  expiresAt: Type.String(data("card.expiresAt")),
  hasOwnerAuthorization: Type.Boolean({
    ...data("card.hasOwnerAuthorization"),
    description: "Whether the caller's organisation acts for the card's issuer",
  }),
  issuer: ref("OrganisationLiteView", data("card.issuer")),
  processor: Type.Optional(ref("OrganisationLiteView", data("card.processor"))),
  person: ref("PersonLiteView", data("card.holder")),
};

export const CardView = Type.Object(
  {
    ...cardViewProperties,
    cardStatusType: ref("CodeView", data("card.publicStatus")),
    cardType: ref("CodeView", data("card.cardType")),
  },
  { $id: "CardView" },
);

export const CardLiteView = Type.Object(cardViewProperties, { $id: "CardLiteView" });

export const CardStatusView = Type.Object(
  {
    cardNumber: Type.String(data("card.escn")),
    displayName: Type.Optional(
      Type.String({
        description:
          "Only when the issuer shows display names and the holder consented (display-name-publication)",
        ...data("card.displayName"),
      }),
    ),
    issuedAt: Type.String(data("card.issuedAt")),
    expiresAt: Type.String(data("card.expiresAt")),
    issuerIdentifier: Type.String(data("card.issuer")),
    issuerName: Type.String(data("organisation.name")),
    status: Type.String({
      description: "ACTIVE, INACTIVE or EXPIRED",
      example: "ACTIVE",
      ...data("card.publicStatus"),
    }),
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
