import { ESI_PREFIX } from "../../domain/esi.ts";
import type { IsoDate } from "../../domain/iso-date.ts";
import { type RecordField, type RecordFields, recordFromFields } from "../record-fields.ts";
import type { RecordOrigin, SourceItem } from "../source-record.ts";
import { dayOf, lastDayBefore, parseGeneralizedTime } from "./generalized-time.ts";
import { LDAP_CARD_FIELDS, type LdapCardField, type LdapMapping } from "./ldap-mapping.ts";

/** A search entry as the LDAP client hands it over: the DN and each attribute's value or values. */
export interface LdapEntry {
  readonly dn: string;
  readonly [attribute: string]: string | readonly string[] | Buffer | readonly Buffer[];
}

/** What the reader needs beyond the mapping, already checked and normalised by the source. */
export interface LdapReaderSettings {
  readonly mapping: LdapMapping;
  /** Affiliations that make a student, lower case; empty: every entry the filter returns is one. */
  readonly studentAffiliations: readonly string[];
  /** The institution's home organisation domain (lower case), the scope scoped affiliations must carry. */
  readonly homeOrganization: string | null;
  /** The status's first day for entries without a `validFrom` attribute. */
  readonly validFrom: IsoDate | null;
  /** Where GeneralizedTime instants become days. */
  readonly timeZone: string;
}

const ESI_PREFIX_LOWER = ESI_PREFIX.toLowerCase();
const ISO_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const DATE_REASON =
  "must be a GeneralizedTime (YYYYMMDDhhmmssZ) naming a day in 1900-9999, or a date yyyy-MM-dd";
const CARD_DATES: ReadonlySet<LdapCardField> = new Set(["issuedAt", "expiresAt"]);

/**
 * Turns directory entries into records: decides whether an entry is a student, picks its ESI among its
 * unique codes, converts GeneralizedTime to days, and names the attribute at fault in each problem.
 */
export class LdapEntryReader {
  readonly #settings: LdapReaderSettings;
  readonly #fullName: readonly string[];
  readonly #affiliations: ReadonlySet<string>;

  constructor(settings: LdapReaderSettings) {
    this.#settings = settings;
    const { fullName } = settings.mapping;
    this.#fullName = typeof fullName === "string" ? [fullName] : fullName;
    this.#affiliations = new Set(settings.studentAffiliations);
  }

  /** The attributes to ask the directory for (operational ones such as `createTimestamp` must be named). */
  attributes(): string[] {
    const m = this.#settings.mapping;
    const names = [
      m.esi,
      ...this.#fullName,
      m.email,
      m.academicLevel?.attribute,
      m.affiliation,
      m.scopedAffiliation,
      m.homeOrganization,
      m.validFrom,
      m.validUntil,
      ...Object.values(m.card ?? {}).map((source) => (typeof source === "string" ? source : undefined)),
    ];
    const unique = new Map<string, string>();
    for (const name of names) if (name) unique.set(name.toLowerCase(), name);
    return [...unique.values()];
  }

  /** The entry's record or problem; null when the entry is not a student (not a record: nothing to sync). */
  read(entry: LdapEntry, row: number): SourceItem | null {
    const origin: RecordOrigin = { row, locator: entry.dn };
    const values = valuesOf(entry);
    const all = (attribute: string | null | undefined): string[] =>
      attribute ? (values.get(attribute.toLowerCase()) ?? []) : [];
    const first = (attribute: string | null | undefined): string | undefined => all(attribute)[0];
    if (!this.#isStudent(all, first)) return null;

    const m = this.#settings.mapping;
    const problem = (field: string, reason: string): SourceItem => ({ problem: { origin, field, reason } });
    const fields: RecordFields = {};

    const codes = all(m.esi);
    const esis = codes.filter((code) => code.trim().toLowerCase().startsWith(ESI_PREFIX_LOWER));
    if (codes.length > 0 && esis.length === 0) {
      return problem(m.esi, `has no European Student Identifier (a value starting ${ESI_PREFIX})`);
    }
    const distinct = new Set(esis.map((esi) => esi.trim().toLowerCase())).size;
    if (distinct > 1) {
      return problem(m.esi, `has ${distinct} different European Student Identifiers; a record takes one`);
    }
    fields.esi = esis[0];
    const nameAttribute = this.#fullName.find((attribute) => all(attribute).some((v) => v.trim() !== ""));
    fields.fullName = all(nameAttribute).find((v) => v.trim() !== "");
    fields.email = first(m.email);

    if (m.academicLevel !== null) {
      const { attribute, values: codesToLevels } = m.academicLevel;
      const found = all(attribute);
      if (codesToLevels === undefined) {
        fields.academicLevel = found[0];
      } else if (found.length > 0) {
        const byCode = new Map(
          Object.entries(codesToLevels).map(([code, level]) => [code.toLowerCase(), level]),
        );
        const level = found.map((code) => byCode.get(code.trim().toLowerCase())).find((l) => l !== undefined);
        if (level === undefined) return problem(attribute, "holds no value the academic level mapping knows");
        fields.academicLevel = level;
      }
    }

    fields.statusState = "enrolled";
    const validFrom = this.#date(first(m.validFrom), "start");
    if (validFrom === "invalid") return problem(m.validFrom ?? "validFrom", DATE_REASON);
    fields.validFrom = validFrom ?? this.#settings.validFrom;
    const validUntil = this.#date(first(m.validUntil), "end");
    if (validUntil === "invalid") return problem(m.validUntil ?? "validUntil", DATE_REASON);
    fields.validUntil = validUntil;

    for (const field of LDAP_CARD_FIELDS) {
      const source = m.card?.[field];
      if (source === undefined) continue;
      const text = typeof source === "string" ? first(source) : source.value;
      if (!CARD_DATES.has(field)) {
        fields[field] = text;
        continue;
      }
      const day = this.#date(text, field === "issuedAt" ? "start" : "end");
      if (day === "invalid") return problem(typeof source === "string" ? source : field, DATE_REASON);
      fields[field] = day;
    }

    return recordFromFields(fields, origin, (field) => this.#attributeOf(field));
  }

  #isStudent(all: (attribute: string | null) => string[], first: (a: string | null) => string | undefined) {
    if (this.#affiliations.size === 0) return true;
    const m = this.#settings.mapping;
    if (all(m.affiliation).some((value) => this.#affiliations.has(value.trim().toLowerCase()))) return true;
    // A scoped affiliation counts only in our own scope: a guest's `student@other.example` makes no student
    // of ours. With no scope known (none configured, none on the entry) scoped values are not looked at.
    const scope = this.#settings.homeOrganization ?? first(m.homeOrganization)?.trim().toLowerCase();
    if (!scope) return false;
    return all(m.scopedAffiliation).some((value) => {
      const at = value.lastIndexOf("@");
      if (at <= 0) return false;
      const affiliation = value.slice(0, at).trim().toLowerCase();
      return (
        this.#affiliations.has(affiliation) &&
        value
          .slice(at + 1)
          .trim()
          .toLowerCase() === scope
      );
    });
  }

  /** A GeneralizedTime's day (or the last day before it, for an end), a `yyyy-MM-dd` as is, or "invalid". */
  #date(text: string | undefined, kind: "start" | "end"): string | null | "invalid" {
    if (text === undefined || text.trim() === "") return null;
    const trimmed = text.trim();
    if (ISO_DATE.test(trimmed)) return trimmed; // the record's own check says whether it is a real day
    const instant = parseGeneralizedTime(trimmed);
    if (instant === null) return "invalid";
    const zone = this.#settings.timeZone;
    return (kind === "start" ? dayOf(instant, zone) : lastDayBefore(instant, zone)) ?? "invalid";
  }

  /** The attribute a record field came from, so that a problem names what the directory calls it. */
  #attributeOf(field: RecordField): string {
    const m = this.#settings.mapping;
    switch (field) {
      case "esi":
        return m.esi;
      case "fullName":
        return this.#fullName[0] ?? field;
      case "email":
        return m.email ?? field;
      case "academicLevel":
        return m.academicLevel?.attribute ?? field;
      case "statusState":
        return m.affiliation ?? field;
      case "validFrom":
        return m.validFrom ?? field;
      case "validUntil":
        return m.validUntil ?? field;
      default: {
        const source = m.card?.[field];
        return typeof source === "string" ? source : field;
      }
    }
  }
}

/** The entry's values by lower-case attribute name (LDAP names are case-insensitive), as text. */
function valuesOf(entry: LdapEntry): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of Object.entries(entry)) {
    if (name === "dn") continue;
    const list = (Array.isArray(value) ? value : [value]) as (string | Buffer)[];
    values.set(
      name.toLowerCase(),
      list.map((v) => (typeof v === "string" ? v : v.toString("utf8"))),
    );
  }
  return values;
}
