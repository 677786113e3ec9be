import type { AcademicLevel } from "../../domain/academic-level.ts";
import { CARD_FIELDS } from "../record-fields.ts";

/** The card fields a directory may feed (cards rarely live in directories: none is mapped by default). */
export const LDAP_CARD_FIELDS = CARD_FIELDS;
export type LdapCardField = (typeof LDAP_CARD_FIELDS)[number];

/** Where a card field comes from: an attribute's name, or one value for every entry (`{ value: "..." }`). */
export type LdapCardSource = string | { readonly value: string };

/**
 * Which attribute of a directory entry feeds which part of a record. Attribute names are matched without
 * regard to case, as LDAP does. `null` turns a part off.
 *
 * @example
 * // Names in `cn`, addresses in a local attribute, levels from a local code:
 * { fullName: ["cn"], email: "uniMailAddress",
 *   academicLevel: { attribute: "uniStudyLevel", values: { BSC: "BACHELOR", MSC: "MASTER", PHD: "DOCTORATE" } } }
 */
export interface LdapMapping {
  /**
   * Holds the ESI among other unique codes (`schacPersonalUniqueCode`): the one value that starts with
   * `urn:schac:personalUniqueCode:int:esi:` (in any case) is taken; values of other kinds are ignored.
   */
  readonly esi: string;
  /** The full name, by preference: the first attribute with a value wins (`displayName`, then `cn`). */
  readonly fullName: string | readonly string[];
  /** The e-mail address (`mail`); its first value. */
  readonly email: string | null;
  /**
   * The academic level (none by default): the attribute and, when its values are local codes, what each
   * means (codes matched without regard to case). Without `values`, it must hold BACHELOR, MASTER or
   * DOCTORATE.
   */
  readonly academicLevel: {
    readonly attribute: string;
    readonly values?: Readonly<Record<string, AcademicLevel>>;
  } | null;
  /** Unscoped affiliations (`eduPersonAffiliation`): whether the entry is a student. */
  readonly affiliation: string | null;
  /** Scoped affiliations (`eduPersonScopedAffiliation`, `student@uni.example`), matched against the scope. */
  readonly scopedAffiliation: string | null;
  /** The entry's home organisation domain (`schacHomeOrganization`): the scope when none is configured. */
  readonly homeOrganization: string | null;
  /**
   * The status's first day: a GeneralizedTime (its day) or a `yyyy-MM-dd` date. `createTimestamp` (when the
   * entry was made, stable from run to run) unless a constant `validFrom` is configured, which then serves
   * every entry (or, with an attribute mapped too, the entries without it).
   */
  readonly validFrom: string | null;
  /**
   * The status's last day (`schacExpiryDate`): a GeneralizedTime is the first instant the entry is no longer
   * valid, so the last day is the day before that instant; a `yyyy-MM-dd` date is the last day itself.
   */
  readonly validUntil: string | null;
  /** Card fields, by attribute or constant. */
  readonly card: Readonly<Partial<Record<LdapCardField, LdapCardSource>>> | null;
}

/** The mapping of an eduPerson/SCHAC directory: what {@link LdapSource} uses where the options say nothing. */
export const DEFAULT_LDAP_MAPPING: LdapMapping = Object.freeze({
  esi: "schacPersonalUniqueCode",
  fullName: Object.freeze(["displayName", "cn"]),
  email: "mail",
  academicLevel: null,
  affiliation: "eduPersonAffiliation",
  scopedAffiliation: "eduPersonScopedAffiliation",
  homeOrganization: "schacHomeOrganization",
  validFrom: "createTimestamp",
  validUntil: "schacExpiryDate",
  card: null,
});

/** An attribute description: a name or a numeric OID, with options (`displayName;lang-pl`). */
export const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)(?:;[A-Za-z0-9-]+)*$/;
