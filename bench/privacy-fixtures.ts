/**
 * The data sets of the privacy benchmark, built once through the hub's own storage port and cached under
 * `.bench-cache/privacy-*` (a change of {@link PRIVACY_FIXTURE_VERSION} or of the number of migrations
 * rebuilds them; so does age, since the cards' dates count from the day they were built):
 *
 * - `privacy-cards-100k/`: one institution with 100,000 students, each with a link (name, level), a student
 *   status, a card, and for every other student the consent to status sharing; plus one API token of the
 *   institution, whose secret is the fixed, not secret {@link BENCH_INSTITUTION_TOKEN}. No audit entry:
 *   whatever the trail holds after a run was written by that run.
 * - `privacy-audit-1m/`: a store whose audit trail holds 1,000,000 entries, appended through
 *   `AuditRepository.append` in transactions of {@link AUDIT_BATCH} entries, as the hub's group commit does.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SQLITE_MIGRATIONS } from "../src/adapters/storage/sqlite/sqlite-migrations.ts";
import { SqliteStorage } from "../src/adapters/storage/sqlite/sqlite-storage.ts";
import type { AuditAction, AuditSubjectType, NewAuditEntry } from "../src/domain/audit-entry.ts";
import type { Card } from "../src/domain/card.ts";
import type { CardType } from "../src/domain/card-type.ts";
import { currentWording } from "../src/domain/consent-wording.ts";
import type { CountryCode } from "../src/domain/country-code.ts";
import { type Escn, generateEscns } from "../src/domain/escn.ts";
import { parseEsi } from "../src/domain/esi.ts";
import { addDays, type IsoDate, isoDateOf } from "../src/domain/iso-date.ts";
import { parsePic } from "../src/domain/pic.ts";
import type { Purpose } from "../src/domain/purpose.ts";
import { hashToken, scopesFor } from "../src/services/token-service.ts";

/** Bump when the shape of either data set changes; the cached copies are then rebuilt. */
export const PRIVACY_FIXTURE_VERSION = 1;

export const CARD_COUNT = 100_000;
export const AUDIT_ENTRY_COUNT = 1_000_000;
/** Entries per append transaction when the audit trail is built. */
const AUDIT_BATCH = 10_000;
/** Rows per transaction when the cards' store is built. */
const CHUNK = 20_000;
/** A fixture this old is rebuilt: its dates count from the day it was built. */
const MAX_AGE_DAYS = 180;

/** The institution's bearer token in the cards' store. Not a secret: it exists only in the bench store. */
export const BENCH_INSTITUTION_TOKEN = "oesc_bench-institution-token-not-a-secret-0123456789";

const INSTITUTION = parsePic("912345678");
const CREATED_AT = "2026-01-15T09:00:00.000Z";
const CARD_TYPES: readonly CardType[] = ["SMART_PASSIVE", "PASSIVE", "SMART_CDZ", "SMART_NO_CDZ"];

export interface CardsFixtureInfo {
  readonly fixtureVersion: number;
  readonly migrations: number;
  readonly cards: number;
  readonly persons: number;
  readonly consents: number;
  readonly institution: string;
  /** The id of the institution's token: what its audit entries carry. */
  readonly tokenId: string;
  readonly buildSeconds: number;
  readonly builtAt: string;
}

export interface CardsFixture {
  readonly dir: string;
  /** The hub's data folder; copy it before a hub writes to it. */
  readonly dataDir: string;
  /** One ESCN per line, every card of the institution. */
  readonly escnFile: string;
  readonly info: CardsFixtureInfo;
  readonly built: boolean;
}

export interface AuditFixtureInfo {
  readonly fixtureVersion: number;
  readonly migrations: number;
  readonly entries: number;
  /** Seconds spent in the append transactions (entries hashed, chained and inserted by the repository). */
  readonly appendSeconds: number;
  readonly builtAt: string;
}

export interface AuditFixture {
  readonly dir: string;
  readonly dataDir: string;
  readonly info: AuditFixtureInfo;
  readonly built: boolean;
}

interface Versioned {
  readonly fixtureVersion: number;
  readonly migrations: number;
  readonly builtAt: string;
}

function cachedInfo<T extends Versioned>(dir: string, required: readonly string[]): T | undefined {
  const file = join(dir, "fixture.json");
  if (!existsSync(file) || !required.every((name) => existsSync(join(dir, name)))) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, "utf8")) as T;
    const fresh =
      info.fixtureVersion === PRIVACY_FIXTURE_VERSION &&
      info.migrations === SQLITE_MIGRATIONS.length &&
      Date.now() - Date.parse(info.builtAt) < MAX_AGE_DAYS * 86_400_000;
    return fresh ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Builds in a side folder and renames it when complete, so that an interrupted build is never reused. */
async function buildInto<T>(dir: string, build: (building: string) => Promise<T>): Promise<T> {
  const building = `${dir}.building`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(join(building, "data"), { recursive: true });
  const info = await build(building);
  writeFileSync(join(building, "fixture.json"), `${JSON.stringify(info, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  return info;
}

export async function cardsFixture(cacheDir: string, log: (line: string) => void): Promise<CardsFixture> {
  const dir = join(cacheDir, "privacy-cards-100k");
  const paths = { dir, dataDir: join(dir, "data"), escnFile: join(dir, "escns.txt") };
  const cached = cachedInfo<CardsFixtureInfo>(dir, ["data/openesc.db", "escns.txt"]);
  if (cached?.cards === CARD_COUNT) return { ...paths, info: cached, built: false };
  log("no cached card store (or a stale one): building it");
  const info = await buildInto(dir, buildCards);
  return { ...paths, info, built: true };
}

export async function auditFixture(cacheDir: string, log: (line: string) => void): Promise<AuditFixture> {
  const dir = join(cacheDir, "privacy-audit-1m");
  const paths = { dir, dataDir: join(dir, "data") };
  const cached = cachedInfo<AuditFixtureInfo>(dir, ["data/openesc.db"]);
  if (cached?.entries === AUDIT_ENTRY_COUNT) return { ...paths, info: cached, built: false };
  log("no cached audit trail (or a stale one): building it");
  const info = await buildInto(dir, (building) => buildAudit(building, log));
  return { ...paths, info, built: true };
}

const esiOf = (person: number) =>
  parseEsi(`urn:schac:personalUniqueCode:int:esi:fr:P${String(person).padStart(8, "0")}`);
const nameOf = (person: number) => `Student ${String(person).padStart(8, "0")}`;

async function buildCards(dir: string): Promise<CardsFixtureInfo> {
  const started = performance.now();
  const today = isoDateOf(new Date());
  const escns: Escn[] = generateEscns(CARD_COUNT, { prefix: "001", pic: INSTITUTION });
  writeFileSync(join(dir, "escns.txt"), `${escns.join("\n")}\n`);
  const storage = new SqliteStorage({ file: join(dir, "data", "openesc.db") });
  await storage.init();
  const tokenId = randomUUID();
  await storage.transaction(async (tx) => {
    await tx.organisations.insert({
      id: INSTITUTION,
      kind: "institution",
      name: "Privacy Bench University",
      country: "FR" as CountryCode,
      schacHomeOrganisation: "privacy-bench-university.example.org",
      erasmusCode: null,
      website: null,
      colours: { main: null, secondary: null, contrast: null, qr: null },
      showDisplayName: false,
      serves: [],
      processors: [],
      createdAt: CREATED_AT,
      updatedAt: CREATED_AT,
    });
    await tx.tokens.insert({
      id: tokenId,
      organisationId: INSTITUTION,
      name: "privacy benchmark",
      scopes: [...scopesFor("institution")],
      createdAt: CREATED_AT,
      expiresAt: null,
      revokedAt: null,
      hash: hashToken(BENCH_INSTITUTION_TOKEN),
    });
  });
  const wording = currentWording("status-sharing").version;
  let consents = 0;
  for (let from = 0; from < CARD_COUNT; from += CHUNK) {
    const to = Math.min(from + CHUNK, CARD_COUNT);
    consents += await storage.transaction(async (tx) => {
      const cards: Omit<Card, "version">[] = [];
      let given = 0;
      for (let p = from; p < to; p++) {
        const esi = esiOf(p);
        const person = await tx.persons.insert({
          esi: esi.value,
          esiKey: esi.key,
          createdAt: CREATED_AT,
          updatedAt: CREATED_AT,
        });
        await tx.persons.upsertLink({
          personId: person.id,
          organisationId: INSTITUTION,
          fullName: nameOf(p),
          academicLevel: p % 5 === 0 ? "MASTER" : "BACHELOR",
          email: null,
          phone: null,
          fax: null,
          createdAt: CREATED_AT,
          updatedAt: CREATED_AT,
        });
        // Most are enrolled; some suspended; a few ended recently (well within the retention period).
        const state = p % 50 === 7 ? "ended" : p % 25 === 3 ? "suspended" : "enrolled";
        await tx.statuses.save(
          {
            personId: person.id,
            esi: esi.value,
            organisationId: INSTITUTION,
            state,
            validFrom: addDays(today, -(200 + (p % 900))),
            validUntil: state === "ended" ? addDays(today, -(p % 60)) : addDays(today, 100 + (p % 700)),
            createdAt: CREATED_AT,
            updatedAt: CREATED_AT,
          },
          null,
        );
        if (p % 2 === 0) {
          await tx.consents.save({
            personId: person.id,
            purpose: "status-sharing",
            state: "given",
            wordingVersion: wording,
            recordedBy: INSTITUTION,
            givenAt: CREATED_AT,
            withdrawnAt: null,
            updatedAt: CREATED_AT,
          });
          given++;
        }
        const expiresAt: IsoDate = addDays(today, p % 10 === 3 ? -(30 + (p % 200)) : 30 + (p % 1400));
        cards.push({
          escn: escns[p]!,
          personId: person.id,
          esi: "",
          issuerId: INSTITUTION,
          processorId: null,
          cardType: CARD_TYPES[p % CARD_TYPES.length]!,
          status: p % 40 === 11 ? "INACTIVE" : "ACTIVE",
          inactiveReason: p % 40 === 11 ? "lost" : null,
          issuedAt: addDays(expiresAt, -3 * 365),
          expiresAt,
          displayName: nameOf(p),
          chipUid: null,
          createdAt: CREATED_AT,
          updatedAt: CREATED_AT,
        });
      }
      await tx.cards.insertMany(cards);
      return given;
    });
  }
  await storage.close();
  return {
    fixtureVersion: PRIVACY_FIXTURE_VERSION,
    migrations: SQLITE_MIGRATIONS.length,
    cards: CARD_COUNT,
    persons: CARD_COUNT,
    consents,
    institution: INSTITUTION,
    tokenId,
    buildSeconds: (performance.now() - started) / 1000,
    builtAt: new Date().toISOString(),
  };
}

/** Who reads what, in proportions close to a hub's day: mostly card reads by institutions, some public. */
const AUDIT_SHAPES: readonly {
  action: AuditAction;
  purpose: Purpose;
  subjectType: AuditSubjectType;
  anonymous?: boolean;
}[] = [
  { action: "read", purpose: "card-management", subjectType: "card" },
  { action: "read", purpose: "card-management", subjectType: "card" },
  { action: "read", purpose: "card-management", subjectType: "card" },
  { action: "read", purpose: "card-management", subjectType: "person" },
  { action: "read", purpose: "status-management", subjectType: "student-status" },
  { action: "update", purpose: "card-management", subjectType: "card" },
  { action: "read", purpose: "display-name-publication", subjectType: "card", anonymous: true },
  { action: "create", purpose: "card-management", subjectType: "person" },
];

function auditEntries(from: number, to: number, escns: readonly Escn[], epochMs: number): NewAuditEntry[] {
  const entries: NewAuditEntry[] = [];
  for (let i = from; i < to; i++) {
    const shape = AUDIT_SHAPES[i % AUDIT_SHAPES.length]!;
    const personId = 1 + ((i * 7919) % 250_000);
    const org = String(900_000_001 + (i % 40) * 37);
    entries.push({
      // About 25 entries per second of a day's traffic.
      at: new Date(epochMs + i * 40).toISOString(),
      organisationId: shape.anonymous ? null : org,
      tokenId: shape.anonymous ? null : `00000000-0000-4000-8000-${String(i % 40).padStart(12, "0")}`,
      action: shape.action,
      purpose: shape.purpose,
      subjectType: shape.subjectType,
      subject: shape.subjectType === "card" ? escns[i % escns.length]! : String(personId),
      personId,
    });
  }
  return entries;
}

async function buildAudit(dir: string, log: (line: string) => void): Promise<AuditFixtureInfo> {
  const escns = generateEscns(10_000, { prefix: "001", pic: INSTITUTION });
  // A page cache that holds the trail's indexes: their keys (subjects, persons) arrive in random order.
  const storage = new SqliteStorage({ file: join(dir, "data", "openesc.db"), cacheMiB: 512 });
  await storage.init();
  const epochMs = Date.parse(CREATED_AT);
  let appendMs = 0;
  for (let from = 0; from < AUDIT_ENTRY_COUNT; from += AUDIT_BATCH) {
    const batch = auditEntries(from, Math.min(from + AUDIT_BATCH, AUDIT_ENTRY_COUNT), escns, epochMs);
    const t0 = performance.now();
    await storage.transaction((tx) => tx.audit.append(batch));
    appendMs += performance.now() - t0;
  }
  const entries = await storage.read.audit.count();
  await storage.close();
  if (entries !== AUDIT_ENTRY_COUNT) throw new Error(`audit fixture holds ${entries} entries`);
  log(
    `  appended ${entries.toLocaleString("en")} audit entries in ${(appendMs / 1000).toFixed(1)} s ` +
      `(${Math.round((entries / appendMs) * 1000).toLocaleString("en")} entries/s through AuditRepository.append, with a 512 MiB page cache; a build figure, not a measurement)`,
  );
  return {
    fixtureVersion: PRIVACY_FIXTURE_VERSION,
    migrations: SQLITE_MIGRATIONS.length,
    entries,
    appendSeconds: appendMs / 1000,
    builtAt: new Date().toISOString(),
  };
}
