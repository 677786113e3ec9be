/**
 * The LDAP source against a real OpenLDAP server (test/support/slapd-server.ts): which entries are students,
 * how their attributes become records, paging, TLS, and how a directory that cannot be read fails the run.
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import type { RecordProblem, SourceItem, SourceRecord } from "../../src/connectors/source-record.ts";
import { dayOf, lastDayBefore, parseGeneralizedTime } from "../../src/connectors/sources/generalized-time.ts";
import {
  LdapSource,
  LdapSourceError,
  type LdapSourceOptions,
} from "../../src/connectors/sources/ldap-source.ts";
import { isoDateOf } from "../../src/domain/iso-date.ts";
import { freePort } from "../support/hub-process.ts";
import type { LdifEntry } from "../support/ldif.ts";
import { type SlapdServer, slapdAvailability, startSlapd } from "../support/slapd-server.ts";

const PEOPLE = "ou=people,dc=example,dc=org";
const MANY = "ou=many,dc=example,dc=org";
const ESI = "urn:schac:personalUniqueCode:int:esi:";

/** An eduPerson/SCHAC person under ou=people. */
function person(uid: string, attributes: Record<string, string | string[]>): LdifEntry {
  return {
    dn: `uid=${uid},${PEOPLE}`,
    attributes: {
      objectClass: [
        "inetOrgPerson",
        "eduPerson",
        "schacContactLocation",
        "schacLinkageIdentifiers",
        "schacEntryMetadata",
      ],
      uid,
      sn: uid,
      cn: uid,
      schacHomeOrganization: "example.org",
      ...attributes,
    },
  };
}

/** Under ou=people, which the server comes with. */
const PEOPLE_ENTRIES: LdifEntry[] = [
  // The ESI among unique codes of other kinds; both affiliations.
  person("anna", {
    cn: "Anna Kowalska",
    displayName: "Anna Kowalska",
    mail: "anna.kowalska@example.org",
    eduPersonAffiliation: ["member", "student"],
    eduPersonScopedAffiliation: ["member@example.org", "student@example.org"],
    schacPersonalUniqueCode: [
      "urn:schac:personalUniqueCode:int:studentID:example.org:12345",
      `${ESI}example.org:12345`,
      "urn:schac:personalUniqueCode:pl:example.org:album:12345",
    ],
    schacExpiryDate: "20270930235959Z",
    employeeType: "BSC",
  }),
  // A student by scoped affiliation only, a national ESI in upper case, non-ASCII name, expiry at midnight.
  person("lukasz", {
    cn: "Lukasz Zolc",
    displayName: "Łukasz Żółć-Brzęczyszczykiewicz",
    mail: "lukasz@example.org",
    eduPersonScopedAffiliation: "student@EXAMPLE.ORG",
    schacPersonalUniqueCode: "URN:SCHAC:PERSONALUNIQUECODE:INT:ESI:PL:4711",
    schacExpiryDate: "20270701000000Z",
    employeeType: "MSC",
  }),
  person("eleni", {
    displayName: "Ελένη Παπαδοπούλου",
    mail: "eleni@example.org",
    eduPersonAffiliation: "student",
    schacPersonalUniqueCode: `${ESI}example.org:777`,
    schacExpiryDate: "20270630120000+0200",
  }),
  // No displayName (cn instead), no mail, no expiry; the affiliation in another case.
  person("elodie", {
    cn: "Élodie Dupré",
    eduPersonAffiliation: "Student",
    schacPersonalUniqueCode: `${ESI}example.org:888`,
  }),
  person("noesi", { cn: "No Code", eduPersonAffiliation: "student" }),
  person("codesonly", {
    cn: "Codes Only",
    eduPersonAffiliation: "student",
    schacPersonalUniqueCode: "urn:schac:personalUniqueCode:int:studentID:example.org:999",
  }),
  // A GeneralizedTime slapd accepts but no record can: year 0000, a placeholder some systems write.
  person("badexpiry", {
    cn: "Bad Expiry",
    eduPersonAffiliation: "student",
    schacPersonalUniqueCode: `${ESI}example.org:555`,
    schacExpiryDate: "00000101000000Z",
  }),
  person("piotr", {
    cn: "Piotr Staff",
    eduPersonAffiliation: ["staff", "member", "employee"],
    schacPersonalUniqueCode: "urn:schac:personalUniqueCode:int:employeeID:example.org:42",
  }),
  // An incoming exchange student: a student of another institution, not of ours.
  person("guest", {
    cn: "Guest Student",
    eduPersonAffiliation: "affiliate",
    eduPersonScopedAffiliation: "student@other.example",
    schacPersonalUniqueCode: `${ESI}other.example:1`,
  }),
];

const MANY_COUNT = 1200;
const MANY_ENTRIES: LdifEntry[] = [
  { dn: MANY, attributes: { objectClass: "organizationalUnit", ou: "many" } },
  ...Array.from({ length: MANY_COUNT }, (_, i) => ({
    dn: `uid=m${i},${MANY}`,
    attributes: {
      objectClass: ["inetOrgPerson", "eduPerson", "schacLinkageIdentifiers"],
      uid: `m${i}`,
      sn: "Many",
      cn: `Student ${i}`,
      eduPersonAffiliation: "student",
      schacPersonalUniqueCode: `${ESI}example.org:m${i}`,
    },
  })),
];

async function collect(source: LdapSource): Promise<{ records: SourceRecord[]; problems: RecordProblem[] }> {
  const records: SourceRecord[] = [];
  const problems: RecordProblem[] = [];
  for await (const item of source.items() as AsyncIterable<SourceItem>) {
    if ("record" in item) records.push(item.record);
    else problems.push(item.problem);
  }
  return { records, problems };
}

async function failureOf(source: LdapSource): Promise<LdapSourceError> {
  try {
    await collect(source);
  } catch (error) {
    assert.ok(error instanceof LdapSourceError, `not an LdapSourceError: ${inspect(error)}`);
    return error;
  }
  assert.fail("the source did not fail");
}

describe("GeneralizedTime", () => {
  it("reads the SCHAC form and the other forms RFC 4517 allows", () => {
    assert.equal(parseGeneralizedTime("20270930235959Z")?.toISOString(), "2027-09-30T23:59:59.000Z");
    assert.equal(parseGeneralizedTime("2027093012Z")?.toISOString(), "2027-09-30T12:00:00.000Z");
    assert.equal(parseGeneralizedTime("202709301230Z")?.toISOString(), "2027-09-30T12:30:00.000Z");
    assert.equal(parseGeneralizedTime("20270930120000.25Z")?.toISOString(), "2027-09-30T12:00:00.250Z");
    assert.equal(parseGeneralizedTime("2027093012,5Z")?.toISOString(), "2027-09-30T12:30:00.000Z");
    assert.equal(parseGeneralizedTime("20270930120000+0200")?.toISOString(), "2027-09-30T10:00:00.000Z");
    assert.equal(parseGeneralizedTime("20270930120000-05")?.toISOString(), "2027-09-30T17:00:00.000Z");
  });

  it("refuses what names no instant", () => {
    for (const text of [
      "20270930",
      "20270930120000", // no zone: local time of an unknown place
      "20270231120000Z",
      "20271301120000Z",
      "20270930240000Z",
      "20270930126000Z",
      "20270930120000+2400",
      "2027-09-30T12:00:00Z",
      " 20270930120000Z",
    ]) {
      assert.equal(parseGeneralizedTime(text), null, text);
    }
  });

  it("ends a validity on the last day before the expiry instant, in the time zone chosen", () => {
    const day = (text: string, zone = "UTC") => lastDayBefore(parseGeneralizedTime(text)!, zone);
    assert.equal(day("20270701000000Z"), "2027-06-30");
    assert.equal(day("20270630235959Z"), "2027-06-30");
    assert.equal(day("20270630120000Z"), "2027-06-30");
    // 22:00 UTC is midnight in Warsaw in summer: 30 June stays the last day there.
    assert.equal(day("20270630220000Z", "Europe/Warsaw"), "2027-06-30");
    // 23:00 UTC is already 1 July in Warsaw, so 1 July is valid for an hour there.
    assert.equal(day("20270630230000Z"), "2027-06-30");
    assert.equal(day("20270630230000Z", "Europe/Warsaw"), "2027-07-01");
    assert.equal(dayOf(parseGeneralizedTime("00000101000000Z")!, "UTC"), null);
  });
});

const availability = slapdAvailability();

if (availability.skip === false) {
  describe("LdapSource against slapd", () => {
    let server: SlapdServer;
    let options: LdapSourceOptions;
    const firstDays: string[] = [];

    before(async () => {
      firstDays.push(isoDateOf(new Date()));
      server = await startSlapd({ entries: [...PEOPLE_ENTRIES, ...MANY_ENTRIES] });
      options = {
        url: server.url,
        bindDn: server.readerDn,
        password: server.readerPassword,
        baseDn: PEOPLE,
        homeOrganization: "example.org",
        timeoutMs: 5_000,
      };
    });
    after(async () => {
      await server?.stop();
    });

    it("starts a throwaway server quickly", () => {
      assert.ok(server.startMs < 5_000, `slapd took ${server.startMs} ms`);
    });

    it("reads students into records, and student entries it cannot read into problems located by DN", async () => {
      const source = new LdapSource(options);
      const { records, problems } = await collect(source);
      firstDays.push(isoDateOf(new Date()));
      const byName = new Map(records.map((r) => [r.person.fullName, r]));
      assert.deepEqual([...byName.keys()].sort(), [
        "Anna Kowalska",
        "Élodie Dupré",
        "Łukasz Żółć-Brzęczyszczykiewicz",
        "Ελένη Παπαδοπούλου",
      ]);

      const anna = byName.get("Anna Kowalska")!;
      assert.equal(anna.person.esi, `${ESI}example.org:12345`);
      assert.equal(anna.person.email, "anna.kowalska@example.org");
      assert.equal(anna.person.academicLevel, null, "no academic level unless mapped");
      assert.equal(anna.status?.state, "enrolled");
      assert.equal(anna.status?.validUntil, "2027-09-30");
      // The entry's creation day (createTimestamp), stable from one run to the next.
      assert.ok(firstDays.includes(anna.status?.validFrom ?? ""), `validFrom ${anna.status?.validFrom}`);
      assert.equal(anna.card, null, "no card unless mapped");
      assert.equal(anna.origin.locator, `uid=anna,${PEOPLE}`);

      const lukasz = byName.get("Łukasz Żółć-Brzęczyszczykiewicz")!;
      assert.equal(lukasz.person.esi, "URN:SCHAC:PERSONALUNIQUECODE:INT:ESI:PL:4711", "kept as given");
      assert.equal(lukasz.status?.validUntil, "2027-06-30", "expiry at midnight: the day before is the last");

      const eleni = byName.get("Ελένη Παπαδοπούλου")!;
      assert.equal(eleni.status?.validUntil, "2027-06-30");

      const elodie = byName.get("Élodie Dupré")!;
      assert.equal(elodie.person.email, null);
      assert.equal(elodie.status?.validUntil, null, "no schacExpiryDate: open-ended");

      const problemsByDn = new Map(problems.map((p) => [p.origin.locator, p]));
      assert.equal(problems.length, 3);
      assert.deepEqual(
        {
          field: problemsByDn.get(`uid=noesi,${PEOPLE}`)?.field,
          reason: problemsByDn.get(`uid=noesi,${PEOPLE}`)?.reason,
        },
        { field: "schacPersonalUniqueCode", reason: "is required" },
      );
      const codesOnly = problemsByDn.get(`uid=codesonly,${PEOPLE}`);
      assert.equal(codesOnly?.field, "schacPersonalUniqueCode");
      assert.match(codesOnly?.reason ?? "", /no European Student Identifier/);
      const badExpiry = problemsByDn.get(`uid=badexpiry,${PEOPLE}`);
      assert.equal(badExpiry?.field, "schacExpiryDate");
      assert.match(badExpiry?.reason ?? "", /GeneralizedTime/);

      // Rows number the search's entries, so every item has its own.
      const rows = [...records, ...problems].map((item) => item.origin.row).sort((a, b) => a - b);
      assert.deepEqual(rows, [1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(source.stats, { entries: 7, pages: 1, notStudents: 0 });
    });

    it("reads a non-student as no record: staff, and guests whose student affiliation is scoped elsewhere", async () => {
      // A filter wider than the students: the affiliations decide, and the entry's own home organisation
      // gives the scope when none is configured.
      const source = new LdapSource({
        ...options,
        homeOrganization: undefined,
        filter: "(objectClass=eduPerson)",
      });
      const { records, problems } = await collect(source);
      const dns = [...records, ...problems].map((item) => item.origin.locator);
      assert.ok(!dns.includes(`uid=piotr,${PEOPLE}`));
      assert.ok(!dns.includes(`uid=guest,${PEOPLE}`));
      assert.ok(
        dns.includes(`uid=lukasz,${PEOPLE}`),
        "student@example.org matches the entry's home organisation",
      );
      assert.equal(records.length, 4);
      assert.equal(problems.length, 3);
      assert.deepEqual(source.stats, { entries: 9, pages: 1, notStudents: 2 });
    });

    it("takes a configured first day, another name attribute, address attribute and a level mapping", async () => {
      const source = new LdapSource({
        ...options,
        validFrom: "2026-10-01",
        mapping: {
          fullName: "cn",
          email: "eduPersonPrincipalName",
          academicLevel: { attribute: "employeeType", values: { bsc: "BACHELOR", MSC: "MASTER" } },
        },
        filter: "(|(uid=anna)(uid=lukasz))",
      });
      await server.add([
        {
          dn: `uid=eppn,${PEOPLE}`,
          attributes: {
            objectClass: ["inetOrgPerson", "eduPerson", "schacLinkageIdentifiers"],
            uid: "eppn",
            sn: "Principal",
            cn: "Pat Principal",
            eduPersonPrincipalName: "pat.principal@example.org",
            eduPersonAffiliation: "student",
            schacPersonalUniqueCode: `${ESI}example.org:eppn`,
            employeeType: "PHD",
          },
        },
      ]);
      const { records } = await collect(source);
      const byDn = new Map(records.map((r) => [r.origin.locator, r]));
      assert.equal(byDn.get(`uid=anna,${PEOPLE}`)?.person.fullName, "Anna Kowalska");
      assert.equal(byDn.get(`uid=lukasz,${PEOPLE}`)?.person.fullName, "Lukasz Zolc", "cn, not displayName");
      assert.equal(byDn.get(`uid=anna,${PEOPLE}`)?.person.email, null, "no eduPersonPrincipalName");
      assert.equal(byDn.get(`uid=anna,${PEOPLE}`)?.person.academicLevel, "BACHELOR");
      assert.equal(byDn.get(`uid=lukasz,${PEOPLE}`)?.person.academicLevel, "MASTER");
      assert.equal(byDn.get(`uid=anna,${PEOPLE}`)?.status?.validFrom, "2026-10-01");

      const pat = await collect(
        new LdapSource({
          ...options,
          filter: "(uid=eppn)",
          mapping: {
            email: "eduPersonPrincipalName",
            academicLevel: { attribute: "employeeType", values: { bsc: "BACHELOR" } },
          },
        }),
      );
      assert.equal(pat.records.length, 0);
      assert.deepEqual(
        pat.problems.map((p) => [p.field, p.reason]),
        [["employeeType", "holds no value the academic level mapping knows"]],
      );
      const patRecord = await collect(
        new LdapSource({ ...options, filter: "(uid=eppn)", mapping: { email: "eduPersonPrincipalName" } }),
      );
      assert.equal(patRecord.records[0]?.person.email, "pat.principal@example.org");
    });

    it("turns expiry instants into days in the configured time zone", async () => {
      // 20270930235959Z is already 1 October in Auckland (UTC+13 from the end of September).
      const { records } = await collect(
        new LdapSource({ ...options, filter: "(uid=anna)", timeZone: "Pacific/Auckland" }),
      );
      assert.equal(records[0]?.status?.validUntil, "2027-10-01");
    });

    it("fails as a whole, with a hint, when an anonymous search sees nothing of the base", async () => {
      const error = await failureOf(new LdapSource({ ...options, bindDn: undefined, password: undefined }));
      assert.equal(error.failure, "search-failed");
      assert.match(error.message, /no such object \(LDAP result 32\); an anonymous search may not see it/);
    });

    it("maps card fields when asked: attributes and constants", async () => {
      const source = new LdapSource({
        ...options,
        filter: "(uid=anna)",
        mapping: {
          card: {
            cardType: { value: "SMART_PASSIVE" },
            issuedAt: "createTimestamp",
            expiresAt: "schacExpiryDate",
          },
        },
      });
      const { records } = await collect(source);
      const card = records[0]?.card;
      assert.equal(card?.cardType, "SMART_PASSIVE");
      assert.equal(card?.escn, null, "the engine matches the holder's card of that type");
      assert.equal(card?.expiresAt, "2027-09-30");
      assert.ok(firstDays.includes(card?.issuedAt ?? ""));
    });

    it("pages through 1,200 entries, reading page by page", async () => {
      const searchesBefore = server.searchOperations();
      const source = new LdapSource({ ...options, baseDn: MANY, scope: "one", pageSize: 100 });
      const iterator = source.items()[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.ok(!first.done && "record" in first.value);
      assert.equal(source.stats.pages, 1, "the first record comes before the second page is asked for");
      const esis = new Set<string>();
      esis.add((first.value as { record: SourceRecord }).record.person.esi);
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        assert.ok("record" in next.value, inspect(next.value));
        esis.add(next.value.record.person.esi);
      }
      assert.equal(esis.size, MANY_COUNT);
      assert.ok(source.stats.pages >= MANY_COUNT / 100, `${source.stats.pages} pages`);
      // Each page is one search operation on the server's side.
      const searches = server.searchOperations() - searchesBefore;
      assert.ok(searches >= MANY_COUNT / 100, `the server logged ${searches} search operations`);
    });

    it("fails as a whole, naming the limit, when the directory caps a paged search's total", async () => {
      const source = new LdapSource({
        ...options,
        bindDn: server.limitedReaderDn,
        baseDn: MANY,
        pageSize: 100,
      });
      const error = await failureOf(source);
      assert.equal(error.failure, "search-failed");
      assert.match(error.message, /size limit exceeded \(LDAP result 4\)/);
      assert.match(error.message, /after 500 entries/);
      assert.match(error.message, /size\.prtotal/);
    });

    it("fails as a whole on a wrong password, naming the bind DN but never the password", async () => {
      const password = "Wr0ng-Passw0rd-7731";
      const error = await failureOf(new LdapSource({ ...options, password }));
      assert.equal(error.failure, "bind-refused");
      assert.match(error.message, /invalid credentials \(LDAP result 49\)/);
      assert.ok(error.message.includes(server.readerDn), error.message);
      assert.ok(!inspect(error, { depth: 10 }).includes(password), "the password leaks through the error");
    });

    it("fails as a whole on a search base that does not exist", async () => {
      const error = await failureOf(new LdapSource({ ...options, baseDn: "ou=nowhere,dc=example,dc=org" }));
      assert.equal(error.failure, "search-failed");
      assert.match(error.message, /no such object \(LDAP result 32\)/);
    });

    it("describes itself without credentials", () => {
      const source = new LdapSource(options);
      assert.equal(source.description, `${server.url}/${PEOPLE}`);
      assert.ok(!source.description.includes(server.readerPassword));
    });
  });

  describe("LdapSource over TLS", () => {
    let server: SlapdServer;
    before(async () => {
      server = await startSlapd({ entries: PEOPLE_ENTRIES.slice(0, 2), tls: true });
    });
    after(async () => {
      await server?.stop();
    });
    const optionsFor = (url: string): LdapSourceOptions => ({
      url,
      bindDn: server.readerDn,
      password: server.readerPassword,
      baseDn: PEOPLE,
      timeoutMs: 5_000,
    });

    it("reads over ldaps:// with the directory's CA", async () => {
      const { records } = await collect(
        new LdapSource({ ...optionsFor(server.ldapsUrl!), tls: { ca: server.certificatePem! } }),
      );
      assert.deepEqual(
        records.map((r) => r.person.fullName),
        ["Anna Kowalska"],
      );
    });

    it("reads over ldap:// upgraded with StartTLS", async () => {
      const { records } = await collect(
        new LdapSource({ ...optionsFor(server.url), tls: { ca: server.certificatePem!, startTls: true } }),
      );
      assert.equal(records.length, 1);
    });

    it("fails as a whole when the certificate is not trusted", async () => {
      const error = await failureOf(new LdapSource(optionsFor(server.ldapsUrl!)));
      assert.equal(error.failure, "tls");
      assert.match(error.message, /tls\.ca/);
    });
  });
} else {
  const { skip, fail } = availability;
  // Under CI=true the reason fails a test (counted in `# fail`), rather than a hook (counted as cancelled).
  describe("LdapSource against slapd", () => {
    it("runs when OpenLDAP is installed", { skip: fail ? false : skip }, () => {
      throw new Error(skip);
    });
  });
}

describe("LdapSource without a directory", () => {
  const base = { bindDn: "cn=esc-hub,dc=example,dc=org", password: "s3cret-not-shown", baseDn: PEOPLE };

  it("fails as a whole, at once, when nothing listens", async () => {
    const url = `ldap://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const error = await failureOf(new LdapSource({ ...base, url, timeoutMs: 5_000 }));
    assert.equal(error.failure, "unreachable");
    assert.match(
      error.message,
      new RegExp(`cannot reach the directory at ${url} \\(bind\\): .*ECONNREFUSED`),
    );
    assert.ok(!error.message.includes(base.password));
    assert.ok(Date.now() - started < 2_000);
  });

  it("fails as a whole within the timeout when the server never answers", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      const error = await failureOf(
        new LdapSource({ ...base, url: `ldap://127.0.0.1:${port}`, timeoutMs: 300 }),
      );
      assert.equal(error.failure, "timeout");
      assert.match(error.message, /did not answer the bind within 300 ms/);
      assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("refuses options that cannot work, before any connection", () => {
    const url = "ldap://127.0.0.1:389";
    assert.throws(() => new LdapSource({ ...base, url: "http://x" }), /ldap:\/\/ or ldaps:\/\//);
    assert.throws(() => new LdapSource({ ...base, url: "ldap://u:p@host" }), /must not carry credentials/);
    assert.throws(() => new LdapSource({ ...base, url, password: "" }), /bindDn is given without a password/);
    assert.throws(() => new LdapSource({ ...base, url, filter: "(uid=a" }), /filter is not an LDAP filter/);
    assert.throws(() => new LdapSource({ ...base, url, pageSize: 0 }), /pageSize/);
    assert.throws(() => new LdapSource({ ...base, url, timeZone: "Mars/Olympus" }), /IANA/);
    assert.throws(() => new LdapSource({ ...base, url, validFrom: "2026-02-30" }), /validFrom/);
    assert.throws(() => new LdapSource({ ...base, url, studentAffiliations: [] }), /filter is required/);
    assert.throws(() => new LdapSource({ ...base, url, mapping: { email: "mail)(x" } }), /mapping\.email/);
    assert.throws(
      () => new LdapSource({ ...base, url: "ldaps://h", tls: { startTls: true } }),
      /startTls is for ldap:\/\//,
    );
  });

  it("builds its default filter from the affiliations and the home organisation", () => {
    const url = "ldap://h";
    assert.equal(new LdapSource({ ...base, url }).filter, "(eduPersonAffiliation=student)");
    assert.equal(
      new LdapSource({
        ...base,
        url,
        homeOrganization: "Example.ORG",
        studentAffiliations: ["student", "alum"],
      }).filter,
      "(|(eduPersonAffiliation=student)(eduPersonScopedAffiliation=student@example.org)" +
        "(eduPersonAffiliation=alum)(eduPersonScopedAffiliation=alum@example.org))",
    );
    assert.equal(new LdapSource({ ...base, url, filter: "(ou=x)" }).filter, "(ou=x)");
    assert.throws(
      () => new LdapSource({ ...base, url, homeOrganization: "not a domain" }),
      /homeOrganization/,
    );
  });
});
