import type { ConnectionOptions } from "node:tls";
import { Client, FilterParser } from "ldapts";
import { isOpenEscError } from "../../domain/errors.ts";
import { type IsoDate, parseIsoDate } from "../../domain/iso-date.ts";
import { parseSchacHomeOrganisation } from "../../domain/schac-home-organisation.ts";
import type { Source, SourceItem } from "../source-record.ts";
import { type LdapEntry, LdapEntryReader } from "./ldap-entry-reader.ts";
import { ATTRIBUTE_NAME, DEFAULT_LDAP_MAPPING, type LdapMapping } from "./ldap-mapping.ts";
import { type LdapFailureContext, ldapSourceError } from "./ldap-source-error.ts";

export { type LdapFailure, LdapSourceError } from "./ldap-source-error.ts";

export interface LdapSourceOptions {
  /** `ldap://host:port` or `ldaps://host:port`; no credentials in it (give `bindDn` and `password`). */
  url: string;
  /** The account to bind as; anonymous when absent. */
  bindDn?: string;
  password?: string;
  /** Where the search starts, e.g. `ou=people,dc=uni,dc=example`. */
  baseDn: string;
  /**
   * Which entries to read. By default the students by affiliation:
   * `(|(eduPersonAffiliation=student)(eduPersonScopedAffiliation=student@<homeOrganization>))`, the scoped
   * part only when `homeOrganization` is configured.
   */
  filter?: string;
  /** `sub` (default): the whole subtree under `baseDn`; `one`: its children only. */
  scope?: "sub" | "one";
  /** Entries per page of the paged search (RFC 2696), 500 by default. */
  pageSize?: number;
  /** Longest wait for a connection and for each answer (bind, each page), 10 000 ms by default. */
  timeoutMs?: number;
  /**
   * TLS: `ca` (PEM) trusts a private CA besides the system's; `startTls` upgrades an `ldap://` connection
   * before the bind. Certificates are always checked.
   */
  tls?: { ca?: string | Buffer; startTls?: boolean };
  /** Which attribute feeds which field, over {@link DEFAULT_LDAP_MAPPING}. */
  mapping?: Partial<LdapMapping>;
  /**
   * Affiliations that make an entry a student, `["student"]` by default (`member` alone does not: staff
   * hold it too). Empty: every entry the filter returns is a student (then `filter` is required).
   */
  studentAffiliations?: readonly string[];
  /** The institution's SCHAC home organisation domain: the only scope a scoped affiliation may carry. */
  homeOrganization?: string;
  /** The status's first day (`yyyy-MM-dd`, e.g. the academic year's start) instead of `createTimestamp`. */
  validFrom?: string;
  /** The IANA time zone in which GeneralizedTime instants become days; `UTC` by default. */
  timeZone?: string;
}

/** What the latest read saw: entries, pages, and entries that were not students (skipped, not records). */
export interface LdapReadStats {
  readonly entries: number;
  readonly pages: number;
  readonly notStudents: number;
}

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_PAGE_SIZE = 10_000;

/**
 * Students from an LDAP directory (eduPerson and SCHAC attributes by default), read with a paged search
 * and streamed page by page: memory holds one page whatever the directory's size. An entry that is not a
 * student is no record; a student entry that cannot be read is a problem located by its DN. A directory
 * that cannot be reached, refuses the bind or fails the search fails the source as a whole
 * ({@link LdapSourceError}).
 *
 * @example
 * const source = new LdapSource({
 *   url: "ldaps://ldap.uni.example", bindDn: "cn=esc-hub,ou=services,dc=uni,dc=example", password,
 *   baseDn: "ou=people,dc=uni,dc=example", homeOrganization: "uni.example", validFrom: "2025-10-01",
 * });
 * for await (const item of source.items()) ...
 */
export class LdapSource implements Source {
  readonly description: string;
  readonly #options: Readonly<{
    url: string;
    bindDn: string | null;
    password: string;
    baseDn: string;
    filter: string;
    scope: "sub" | "one";
    pageSize: number;
    timeoutMs: number;
    tls: ConnectionOptions;
    startTls: boolean;
  }>;
  readonly #reader: LdapEntryReader;
  #counts = { entries: 0, pages: 0, notStudents: 0 };

  constructor(options: LdapSourceOptions) {
    const url = parseLdapUrl(options.url);
    if (typeof options.baseDn !== "string" || options.baseDn.trim() === "") {
      throw new TypeError("baseDn is required");
    }
    if ((options.bindDn ?? "") === "" && options.password !== undefined) {
      throw new TypeError("password is given without bindDn");
    }
    // A simple bind with a DN and an empty password is an "unauthenticated bind" (RFC 4513 §5.1.2) that
    // many servers accept as anonymous: refuse it rather than read less than the account may.
    if ((options.bindDn ?? "") !== "" && !options.password) {
      throw new TypeError("bindDn is given without a password");
    }
    const startTls = options.tls?.startTls ?? false;
    if (startTls && url.protocol === "ldaps:") throw new TypeError("tls.startTls is for ldap:// URLs");
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new TypeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      throw new TypeError("timeoutMs must be a positive integer");
    const scope = options.scope ?? "sub";
    if (scope !== "sub" && scope !== "one") throw new TypeError('scope must be "sub" or "one"');

    const mapping = resolveMapping(options);
    const studentAffiliations = (options.studentAffiliations ?? ["student"]).map((a) => {
      if (typeof a !== "string" || !/^[A-Za-z0-9-]+$/.test(a)) {
        throw new TypeError(`studentAffiliations: "${a}" is not an affiliation`);
      }
      return a.toLowerCase();
    });
    const homeOrganization = options.homeOrganization === undefined ? null : homeOrganizationOf(options);
    const filter = options.filter ?? defaultFilter(mapping, studentAffiliations, homeOrganization);
    try {
      FilterParser.parseString(filter);
    } catch (error) {
      throw new TypeError(`filter is not an LDAP filter: ${(error as Error).message}`);
    }
    const timeZone = options.timeZone ?? "UTC";
    try {
      new Intl.DateTimeFormat("en", { timeZone });
    } catch {
      throw new TypeError(`timeZone "${timeZone}" is not an IANA time zone`);
    }

    this.#reader = new LdapEntryReader({
      mapping,
      studentAffiliations,
      homeOrganization,
      validFrom: options.validFrom === undefined ? null : validFromOf(options.validFrom),
      timeZone,
    });
    this.#options = Object.freeze({
      url: `${url.protocol}//${url.host}`,
      bindDn: options.bindDn || null,
      password: options.password ?? "",
      baseDn: options.baseDn,
      filter,
      scope,
      pageSize,
      timeoutMs,
      tls: options.tls?.ca === undefined ? {} : { ca: options.tls.ca },
      startTls,
    });
    this.description = `${url.protocol}//${url.host}/${options.baseDn}`;
  }

  /** The search filter: the one configured, or the default built from the affiliations. */
  get filter(): string {
    return this.#options.filter;
  }

  /** What the latest (or the running) `items()` has read so far. */
  get stats(): LdapReadStats {
    return { ...this.#counts };
  }

  async *items(): AsyncIterable<SourceItem> {
    const o = this.#options;
    // ldapts writes into the TLS options it is given (StartTLS adds the socket), and an ldap:// client
    // given TLS options fails StartTLS: a fresh copy each time, and only where it is used.
    const client = new Client({
      url: o.url,
      timeout: o.timeoutMs,
      connectTimeout: o.timeoutMs,
      ...(o.startTls ? {} : { tlsOptions: { ...o.tls } }),
    });
    const counts = { entries: 0, pages: 0, notStudents: 0 };
    this.#counts = counts;
    try {
      await this.#open(client);
      const pages = client.searchPaginated(o.baseDn, {
        scope: o.scope,
        filter: o.filter,
        attributes: this.#reader.attributes(),
        paged: { pageSize: o.pageSize },
      });
      for (;;) {
        let page: Awaited<ReturnType<typeof pages.next>>;
        try {
          page = await pages.next();
        } catch (error) {
          throw ldapSourceError(error, "search", this.#context());
        }
        if (page.done) break;
        counts.pages += 1;
        for (const entry of page.value.searchEntries) {
          counts.entries += 1;
          const item = this.#reader.read(entry as LdapEntry, counts.entries);
          if (item === null) counts.notStudents += 1;
          else yield item;
        }
      }
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  #context(): LdapFailureContext {
    const { url, bindDn, baseDn, timeoutMs } = this.#options;
    return { url, bindDn, baseDn, timeoutMs, entries: this.#counts.entries, pages: this.#counts.pages };
  }

  async #open(client: Client): Promise<void> {
    const o = this.#options;
    if (o.startTls) {
      try {
        await client.startTLS({ ...o.tls, host: new URL(o.url).hostname.replace(/^\[(.*)\]$/, "$1") });
      } catch (error) {
        throw ldapSourceError(error, "StartTLS", this.#context());
      }
    }
    if (o.bindDn === null) return;
    try {
      await client.bind(o.bindDn, o.password);
    } catch (error) {
      throw ldapSourceError(error, "bind", this.#context());
    }
  }
}

function parseLdapUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError("url must be an ldap:// or ldaps:// URL");
  }
  if (url.protocol !== "ldap:" && url.protocol !== "ldaps:") {
    throw new TypeError("url must be an ldap:// or ldaps:// URL");
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError("url must not carry credentials: give bindDn and password");
  }
  if (url.host === "") throw new TypeError("url must name a host");
  return url;
}

function resolveMapping(options: LdapSourceOptions): LdapMapping {
  const given = options.mapping ?? {};
  const mapping: LdapMapping = {
    ...DEFAULT_LDAP_MAPPING,
    // A configured first day serves every entry unless an attribute is mapped on purpose.
    ...(options.validFrom !== undefined ? { validFrom: null } : {}),
    ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)),
  };
  const names: [string, string | null | undefined][] = [
    ["esi", mapping.esi],
    ...(typeof mapping.fullName === "string" ? [mapping.fullName] : mapping.fullName).map(
      (name): [string, string] => ["fullName", name],
    ),
    ["email", mapping.email],
    ["academicLevel", mapping.academicLevel?.attribute],
    ["affiliation", mapping.affiliation],
    ["scopedAffiliation", mapping.scopedAffiliation],
    ["homeOrganization", mapping.homeOrganization],
    ["validFrom", mapping.validFrom],
    ["validUntil", mapping.validUntil],
    ...Object.entries(mapping.card ?? {}).map(([field, source]): [string, string | undefined] => [
      `card.${field}`,
      typeof source === "string" ? source : undefined,
    ]),
  ];
  for (const [field, name] of names) {
    if (name !== null && name !== undefined && !ATTRIBUTE_NAME.test(name)) {
      throw new TypeError(`mapping.${field}: "${name}" is not an attribute name`);
    }
  }
  if (typeof mapping.esi !== "string") throw new TypeError("mapping.esi is required");
  if ((typeof mapping.fullName === "string" ? [mapping.fullName] : mapping.fullName).length === 0) {
    throw new TypeError("mapping.fullName needs at least one attribute");
  }
  return Object.freeze(mapping);
}

/** Students by affiliation, with equality matches only: the eduPerson schema gives affiliations no substring rule. */
function defaultFilter(mapping: LdapMapping, affiliations: readonly string[], scope: string | null): string {
  if (affiliations.length === 0) throw new TypeError("filter is required when studentAffiliations is empty");
  const terms = affiliations.flatMap((affiliation) => [
    ...(mapping.affiliation ? [`(${mapping.affiliation}=${escapeFilterValue(affiliation)})`] : []),
    ...(mapping.scopedAffiliation && scope
      ? [`(${mapping.scopedAffiliation}=${escapeFilterValue(`${affiliation}@${scope}`)})`]
      : []),
  ]);
  if (terms.length === 0) throw new TypeError("filter is required when no affiliation attribute is mapped");
  return terms.length === 1 ? terms[0]! : `(|${terms.join("")})`;
}

/** A value made safe inside a filter (RFC 4515 §3). */
function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

function homeOrganizationOf(options: LdapSourceOptions): string {
  try {
    return parseSchacHomeOrganisation(options.homeOrganization, "homeOrganization");
  } catch (error) {
    if (isOpenEscError(error)) throw new TypeError(error.message);
    throw error;
  }
}

function validFromOf(value: string): IsoDate {
  try {
    return parseIsoDate(value, "validFrom");
  } catch (error) {
    if (isOpenEscError(error)) throw new TypeError(error.message);
    throw error;
  }
}
