/**
 * The LDAP part of the connectors benchmark: the throwaway OpenLDAP server of the LDAP tests
 * (test/support/slapd-server.ts) with N student entries loaded by `slapadd`, read by `LdapSource` alone, by
 * `LdapSource` through the sync engine into a fresh embedded store, and dumped by OpenLDAP's own
 * `ldapsearch` (the ceiling: the same entries, the same account, the same paged search).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStorage } from "../src/adapters/storage/sqlite/sqlite-storage.ts";
import { LdapSource } from "../src/connectors/sources/ldap-source.ts";
import { SyncEngine } from "../src/connectors/sync-engine.ts";
import type { SyncSummary } from "../src/connectors/sync-report.ts";
import { systemClock } from "../src/ports/clock.ts";
import type { LdifEntry } from "../test/support/ldif.ts";
import { type SlapdServer, slapdAvailability, startSlapd } from "../test/support/slapd-server.ts";
import { addBenchInstitution, BENCH_PIC, ESCN_PREFIX } from "./connectors-fixtures.ts";

const LDAPSEARCH = "/usr/bin/ldapsearch";
const PEOPLE = "ou=people,dc=example,dc=org";
const FILTER = "(eduPersonAffiliation=student)";
/**
 * Entries per page, for `LdapSource` (its default) and `ldapsearch` alike. The server answers at most 500
 * entries per search (OpenLDAP's default `olcSizeLimit`, kept by the harness); the bench account may page
 * through any number in all (`size.prtotal=unlimited`), but a page larger than 500 is refused.
 */
export const LDAP_PAGE_SIZE = 500;

/** Why the LDAP part cannot run here, or null when it can. */
export function ldapUnavailable(): string | null {
  const slapd = slapdAvailability();
  if (slapd.skip !== false) return slapd.skip;
  return existsSync(LDAPSEARCH) ? null : `${LDAPSEARCH} is not installed (apt-get install ldap-utils)`;
}

/** Student `i` as an eduPerson/SCHAC entry, as a university's directory holds one. */
function studentEntry(i: number): LdifEntry {
  const year = 2027 + (i % 4);
  return {
    dn: `uid=s${i},${PEOPLE}`,
    attributes: {
      objectClass: ["inetOrgPerson", "eduPerson", "schacLinkageIdentifiers", "schacEntryMetadata"],
      uid: `s${i}`,
      sn: `Student${i}`,
      cn: `Student ${i}`,
      displayName: `Bench Student ${i}`,
      mail: `s${i}@example.org`,
      eduPersonAffiliation: ["member", "student"],
      schacPersonalUniqueCode: [
        `urn:schac:personalUniqueCode:int:studentID:example.org:${i}`,
        `urn:schac:personalUniqueCode:int:esi:example.org:${i}`,
      ],
      schacExpiryDate: `${year}0930235959Z`,
    },
  };
}

function* studentEntries(count: number): Generator<LdifEntry> {
  for (let i = 0; i < count; i++) yield studentEntry(i);
}

export interface LdapServerRun {
  readonly server: SlapdServer;
  /** From the call to a server that answers, `slapadd` of every entry included. */
  readonly startSeconds: number;
}

export async function startLdapServer(entries: number): Promise<LdapServerRun> {
  const started = performance.now();
  const server = await startSlapd({ entries: studentEntries(entries) });
  return { server, startSeconds: (performance.now() - started) / 1000 };
}

function sourceOf(server: SlapdServer): LdapSource {
  return new LdapSource({
    url: server.url,
    bindDn: server.readerDn,
    password: server.readerPassword,
    baseDn: PEOPLE,
    pageSize: LDAP_PAGE_SIZE,
    // A fixed first day: every run reads the same statuses.
    validFrom: "2026-09-01",
  });
}

export interface Timed<T> {
  readonly seconds: number;
  readonly value: T;
}

/** `LdapSource` read to its end, nothing done with the records: how many records and problems. */
export async function readLdap(server: SlapdServer): Promise<Timed<{ records: number; problems: number }>> {
  const started = performance.now();
  let records = 0;
  let problems = 0;
  for await (const item of sourceOf(server).items()) {
    if ("record" in item) records++;
    else problems++;
  }
  return { seconds: (performance.now() - started) / 1000, value: { records, problems } };
}

/** An LDAP sync into a fresh embedded store, as `openesc sync` runs one; the store is removed after. */
export async function syncLdap(server: SlapdServer): Promise<Timed<SyncSummary>> {
  const dir = mkdtempSync(join(tmpdir(), "openesc-bench-ldap-"));
  const storage = new SqliteStorage({ file: join(dir, "openesc.db") });
  try {
    await storage.init();
    await addBenchInstitution(storage);
    const engine = new SyncEngine(
      { storage, clock: systemClock, timeZone: "UTC" },
      { escnPrefix: ESCN_PREFIX },
    );
    const started = performance.now();
    const result = await engine.run(BENCH_PIC, sourceOf(server), { connector: "ldap" });
    const seconds = (performance.now() - started) / 1000;
    if (result.state !== "completed") throw new Error(`the LDAP sync failed: ${result.error}`);
    return { seconds, value: result.summary };
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `ldapsearch -x -H <url> -D <reader> -w <password> -b <people> -E pr=<page>/noprompt '<filter>'`, its LDIF
 * counted and dropped: how many entries it dumped.
 */
export async function ldapsearchDump(server: SlapdServer): Promise<Timed<number>> {
  const args = [
    "-x",
    "-LLL",
    "-H",
    server.url,
    "-D",
    server.readerDn,
    "-w",
    server.readerPassword,
    "-b",
    PEOPLE,
    "-E",
    `pr=${LDAP_PAGE_SIZE}/noprompt`,
    FILTER,
  ];
  const started = performance.now();
  const child = spawn(LDAPSEARCH, args, { stdio: ["ignore", "pipe", "pipe"] });
  let entries = 0;
  let stderr = "";
  let carry = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const text = carry + chunk.toString("latin1");
    const lines = text.split("\n");
    carry = lines.pop() ?? "";
    for (const line of lines) if (line.startsWith("dn: ")) entries++;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-2000);
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`ldapsearch exited with ${code}: ${stderr}`);
  return { seconds, value: entries };
}
