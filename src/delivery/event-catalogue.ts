import { type TSchema, Type } from "typebox";
import { CARD_STATUSES, INACTIVE_REASONS } from "../domain/card.ts";
import { CLOUD_EVENT_CONTENT_TYPE, cloudEventType } from "../domain/cloud-event.ts";
import { EVENT_NAMESPACE, type EventFamily, type EventType, eventFamily } from "../domain/events.ts";
import { ORGANISATION_KINDS } from "../domain/organisation.ts";
import { CONSENT_PURPOSES } from "../domain/purpose.ts";
import { STUDENT_STATUS_STATES } from "../domain/student-status.ts";
import type { DeliveryProjection } from "../domain/subscription.ts";

/**
 * What each event type means and what it carries: the one description behind the AsyncAPI document
 * (`asyncapi-document.ts`), the tests that hold the services to it, and docs/events.md. A type added to
 * `EVENT_TYPES` without an entry here does not compile.
 *
 * Schemas are plain JSON Schema (the keywords draft-07 and draft 2020-12 share, so AsyncAPI 3.0 takes them
 * as they are). Every `data` schema is closed: a field the catalogue does not name, a name above all, makes
 * the event invalid.
 */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** An event's `data`, as `DomainEvent` has it. */
export type EventData = Readonly<Record<string, string | number | boolean | null>>;

/** What an event's `subject` (and the CloudEvent's) identifies. */
export type EventSubjectKind = "escn" | "esi" | "organisation";

export interface EventDescription {
  /** When the hub emits it, in one sentence. */
  readonly summary: string;
  readonly subject: EventSubjectKind;
  /** The JSON Schema of the event's `data`, as its audience receives it. */
  readonly data: JsonSchema;
  /** Card events only: the `data` a subscriber that follows the card but is not its issuer or bureau gets. */
  readonly publicData: JsonSchema | null;
  /** Realistic `data`, for the AsyncAPI examples and the docs. */
  readonly example: EventData;
}

const closed = { additionalProperties: false } as const;
/** TypeBox builds plain JSON Schema objects; this only forgets their TypeBox type. */
const plain = (schema: TSchema): JsonSchema => schema as unknown as JsonSchema;
const literals = (values: readonly string[], options: object = {}) =>
  Type.Unsafe<string>({ type: "string", enum: [...values], ...options });
const nullable = (schema: TSchema, description: string) => Type.Union([schema, Type.Null()], { description });
const isoDate = (description: string) =>
  Type.String({ format: "date", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description });

const ESCN_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9]{12}$";
const escn = () =>
  Type.String({
    pattern: ESCN_PATTERN,
    description: "The European Student Card Number: a version 1 UUID in lower case ending in prefix and PIC",
  });
const esi = () =>
  Type.String({
    minLength: 1,
    maxLength: 255,
    description:
      "The student's European Student Identifier, as the institution gave it; in the history of an erased " +
      "person, the pseudonym `erased:` + 16 hexadecimal digits",
  });
const organisationId = (description: string) => Type.String({ minLength: 1, maxLength: 255, description });
const version = (what: string) =>
  Type.Integer({ minimum: 1, description: `The ${what}'s version after the change` });

const organisationData = Type.Object(
  {
    organisation: organisationId("The organisation's identifier (PIC, VAT number or operator-assigned)"),
    kind: literals(ORGANISATION_KINDS),
    version: version("organisation"),
  },
  closed,
);
const personData = Type.Object(
  {
    esi: esi(),
    organisation: organisationId("The organisation whose link to the person this is (a PIC)"),
  },
  closed,
);
const statusData = Type.Object(
  {
    esi: esi(),
    organisation: organisationId("The institution the status is held at (a PIC)"),
    state: literals(STUDENT_STATUS_STATES),
    validFrom: isoDate("First day the status holds"),
    validUntil: nullable(
      isoDate("Last day the status holds"),
      "Last day the status holds; null when open-ended",
    ),
  },
  closed,
);
const cardProperties = {
  escn: escn(),
  issuer: organisationId("PIC of the issuing institution"),
  status: literals(CARD_STATUSES, { description: "The stored status; EXPIRED follows from expiresAt" }),
  inactiveReason: nullable(literals(INACTIVE_REASONS), "Why the card is INACTIVE; null when ACTIVE"),
  expiresAt: isoDate("Last day the card is valid"),
  version: version("card"),
};
const cardData = Type.Object(cardProperties, closed);
const deletedCardData = Type.Object(
  {
    ...cardProperties,
    status: Type.Null({ description: "A deleted card has no status" }),
    inactiveReason: Type.Null(),
  },
  closed,
);
const consentData = Type.Object(
  {
    esi: esi(),
    purpose: literals(CONSENT_PURPOSES),
    wordingVersion: Type.String({ minLength: 1, description: "The wording the student was shown" }),
    state: literals(["given", "withdrawn"]),
  },
  closed,
);

/** What a card event says to a follower that is not in its audience: what the public status shows anyway. */
function publicCardData(full: TSchema): JsonSchema {
  const properties = (full as { properties: Record<string, TSchema> }).properties;
  const pick = (name: string) => {
    const schema = properties[name];
    if (!schema) throw new TypeError(`card data has no ${name}`);
    return schema;
  };
  return plain(
    Type.Object({ escn: pick("escn"), status: pick("status"), expiresAt: pick("expiresAt") }, closed),
  );
}

const ESI = "urn:schac:personalUniqueCode:int:esi:fr:1234567890A";
const PIC = "999888777";
const ESCN = "f1c0e5a0-7b3e-11f1-9a1b-001999888777";
const card = (status: string | null, inactiveReason: string | null, version: number): EventData => ({
  escn: ESCN,
  issuer: PIC,
  status,
  inactiveReason,
  expiresAt: "2030-08-31",
  version,
});
const status = { esi: ESI, organisation: PIC, state: "enrolled", validFrom: "2026-09-01" };

/** An entry as written below; the public projection of card events is derived from the full one. */
type Entry = Omit<EventDescription, "data" | "publicData"> & { readonly data: TSchema };

const described = (entries: { readonly [T in EventType]: Entry }) =>
  Object.fromEntries(
    Object.entries(entries).map(([type, { data, ...rest }]) => [
      type,
      { ...rest, data: plain(data), publicData: rest.subject === "escn" ? publicCardData(data) : null },
    ]),
  ) as { readonly [T in EventType]: EventDescription };

export const EVENT_CATALOGUE = described({
  "organisation.created": {
    summary: "The operator onboarded an organisation.",
    subject: "organisation",
    data: organisationData,
    example: { organisation: PIC, kind: "institution", version: 1 },
  },
  "organisation.updated": {
    summary: "An organisation's profile changed (name, card bureaus, colours…); read it through the API.",
    subject: "organisation",
    data: organisationData,
    example: { organisation: PIC, kind: "institution", version: 2 },
  },
  "person.linked": {
    summary:
      "An organisation linked a person: it registered them, or added its link to a person another holds.",
    subject: "esi",
    data: personData,
    example: { esi: ESI, organisation: PIC },
  },
  "person.updated": {
    summary: "An organisation changed what it holds about a person; read it through the API.",
    subject: "esi",
    data: personData,
    example: { esi: ESI, organisation: PIC },
  },
  "person.unlinked": {
    summary:
      "An organisation's link to a person went: removed by it, erased, or by retention after the status ended.",
    subject: "esi",
    data: personData,
    example: { esi: ESI, organisation: PIC },
  },
  "student-status.changed": {
    summary: "An institution set or changed a person's student status.",
    subject: "esi",
    data: statusData,
    example: { ...status, validUntil: "2027-08-31" },
  },
  "student-status.expired": {
    summary:
      "The expiry job, the day after validUntil: the status no longer holds (its stored state is unchanged).",
    subject: "esi",
    data: statusData,
    example: { ...status, validUntil: "2026-12-31" },
  },
  "card.created": {
    summary: "A card was registered.",
    subject: "escn",
    data: cardData,
    example: card("ACTIVE", null, 1),
  },
  "card.updated": {
    summary: "A card's status, inactive reason, expiry or other details changed.",
    subject: "escn",
    data: cardData,
    example: card("INACTIVE", "lost", 2),
  },
  "card.expired": {
    summary:
      "The expiry job, the day after expiresAt: the card is no longer valid (its stored status is unchanged).",
    subject: "escn",
    data: cardData,
    example: card("ACTIVE", null, 1),
  },
  "card.deleted": {
    summary: "A card was deleted: by its issuer, by an erasure, or by retention after it expired.",
    subject: "escn",
    data: deletedCardData,
    example: card(null, null, 2),
  },
  "consent.given": {
    summary: "A student gave consent to a purpose, through their institution.",
    subject: "esi",
    data: consentData,
    example: { esi: ESI, purpose: "status-sharing", wordingVersion: "2026-11", state: "given" },
  },
  "consent.withdrawn": {
    summary: "A student withdrew a consent, through their institution.",
    subject: "esi",
    data: consentData,
    example: { esi: ESI, purpose: "status-sharing", wordingVersion: "2026-11", state: "withdrawn" },
  },
});

/** Who receives events of each family, and in which projection. */
export const AUDIENCE: { readonly [F in EventFamily]: string } = {
  organisation: "The organisation itself.",
  person: "The organisation whose link it is (only organisations linked to the person).",
  "student-status": "The institution holding the status (only organisations linked to the person).",
  card:
    "The issuer and its card bureau in full; subscribers whose card set holds the ESCN in the public " +
    "projection (escn, status, expiresAt).",
  consent: "Every organisation linked to the person.",
};

const SUBJECTS: { readonly [K in EventSubjectKind]: () => TSchema } = {
  escn,
  esi,
  organisation: () => organisationId("The organisation's identifier"),
};

const envelopeProperties = {
  specversion: Type.Literal("1.0"),
  id: Type.String({
    format: "uuid",
    description:
      "Unique per event; every delivery attempt repeats it (and as webhook-id): drop duplicates by it",
  }),
  source: Type.String({ format: "uri", description: "The hub's feed: its public URL + /v1/events" }),
  type: Type.String({ pattern: `^${EVENT_NAMESPACE.replaceAll(".", "\\.")}\\.[a-z-]+\\.[a-z-]+$` }),
  subject: Type.String({ minLength: 1, description: "The ESCN, ESI or organisation the event is about" }),
  time: Type.String({ format: "date-time", description: "When the change happened" }),
  datacontenttype: Type.Literal("application/json"),
  sequence: Type.String({
    pattern: "^[1-9][0-9]*$",
    description: "The event's feed position: a cursor for after= and Last-Event-ID, increasing in feed order",
  }),
  data: Type.Object({}, { description: "What changed: see the schema of each type" }),
};

/** A CloudEvents 1.0 event in structured JSON mode, of any type, as the hub sends it. */
export const CLOUD_EVENT_ENVELOPE: JsonSchema = plain(
  Type.Object(envelopeProperties, {
    ...closed,
    description: `A CloudEvents 1.0 event (${CLOUD_EVENT_CONTENT_TYPE})`,
  }),
);

/**
 * The JSON Schema of a whole CloudEvent of `type`, in `projection` (`public` exists for card events only,
 * as in `toCloudEvent`).
 *
 * @example ajv.compile(cloudEventSchema("card.updated", "public"))
 */
export function cloudEventSchema(type: EventType, projection: DeliveryProjection = "full"): JsonSchema {
  const entry = EVENT_CATALOGUE[type];
  const data = projection === "public" ? entry.publicData : entry.data;
  if (data === null) throw new TypeError(`event type ${type} has no public projection`);
  const reaches =
    projection === "public"
      ? "The public projection, for subscribers whose card set holds the ESCN."
      : `Reaches: ${AUDIENCE[eventFamily(type)]}`;
  return plain(
    Type.Object(
      {
        ...envelopeProperties,
        type: Type.Literal(cloudEventType(type)),
        subject: SUBJECTS[entry.subject](),
        data: Type.Unsafe(data),
      },
      {
        ...closed,
        title: projection === "public" ? `${cloudEventType(type)} (public)` : cloudEventType(type),
        description: `${entry.summary} ${reaches}`,
      },
    ),
  );
}
