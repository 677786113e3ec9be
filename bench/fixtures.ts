/**
 * The data set of the status benchmark: 1,000,000 cards over a few hundred issuers and their students,
 * loaded through the hub's own storage port so that the load time measures our bulk path
 * (`cards.insertMany` in transactions of {@link CHUNK} cards). Built once and cached under
 * `.bench-cache/status-1m/` with the list of its ESCNs and the recorded load times; a change of
 * {@link FIXTURE_VERSION} or of the number of migrations rebuilds it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SQLITE_MIGRATIONS } from "../src/adapters/storage/sqlite/sqlite-migrations.ts";
import { SqliteStorage } from "../src/adapters/storage/sqlite/sqlite-storage.ts";
import type { Card } from "../src/domain/card.ts";
import type { CardType } from "../src/domain/card-type.ts";
import type { CountryCode } from "../src/domain/country-code.ts";
import { type Escn, generateEscns } from "../src/domain/escn.ts";
import { parseEsi } from "../src/domain/esi.ts";
import { addDays, type IsoDate, isoDateOf } from "../src/domain/iso-date.ts";
import { type Pic, parsePic } from "../src/domain/pic.ts";

/** Bump when the shape of the data changes; the cached fixture is then rebuilt. */
export const FIXTURE_VERSION = 2;

export const CARD_COUNT = 1_000_000;
export const ORGANISATION_COUNT = 300;
/** One student in this many holds a second (replacement) card; the first one is then INACTIVE. */
const SECOND_CARD_EVERY = 10;
/** One student in this many is also linked to a second organisation (an exchange). */
const EXCHANGE_EVERY = 20;
/** One issuer in this many shows the card's displayName in the public status. */
const SHOWS_NAME_EVERY = 10;
/** A fixture this old is rebuilt: its dates count from the day it was built (see {@link cardRows}). */
const MAX_AGE_DAYS = 180;
/** Rows per transaction. */
const CHUNK = 100_000;

const COUNTRIES = ["FR", "DE", "IT", "ES", "PL", "BE", "NL", "PT", "AT", "FI", "SE", "IE", "CZ", "GR"];
const CARD_TYPES: readonly CardType[] = ["SMART_PASSIVE", "PASSIVE", "SMART_CDZ", "SMART_NO_CDZ"];
const CREATED_AT = "2026-01-15T09:00:00.000Z";

export interface FixtureInfo {
  readonly fixtureVersion: number;
  readonly migrations: number;
  readonly cards: number;
  readonly organisations: number;
  readonly persons: number;
  readonly personLinks: number;
  /** Seconds spent in the transactions that inserted the cards through `cards.insertMany`. */
  readonly cardLoadSeconds: number;
  /** The same rows inserted with a bare better-sqlite3 prepared statement into the same schema. */
  readonly rawCardLoadSeconds: number;
  /** Seconds spent loading organisations, persons and their links through the repositories. */
  readonly personLoadSeconds: number;
  readonly builtAt: string;
}

export interface Fixture {
  readonly dir: string;
  /** The hub's OPENESC_DATA_DIR. */
  readonly dataDir: string;
  /** One ESCN per line, every card of the store. */
  readonly escnFile: string;
  readonly info: FixtureInfo;
  /** Whether this run built it (false: reused from the cache). */
  readonly built: boolean;
}

const orgId = (i: number): Pic => parsePic(String(900_000_001 + i * 37));
const orgName = (i: number): string => `Bench University ${String(i + 1).padStart(4, "0")}`;
const esiOf = (country: string, person: number): string =>
  `urn:schac:personalUniqueCode:int:esi:${country.toLowerCase()}:B${String(person).padStart(8, "0")}`;
const displayNameOf = (person: number): string => `Student ${String(person).padStart(8, "0")}`;

function readInfo(dir: string): FixtureInfo | undefined {
  const file = join(dir, "fixture.json");
  if (
    !existsSync(file) ||
    !existsSync(join(dir, "data", "openesc.db")) ||
    !existsSync(join(dir, "escns.txt"))
  )
    return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as FixtureInfo;
  } catch {
    return undefined;
  }
}

/**
 * The cached fixture when its version, the number of migrations and its card count still match and it
 * is less than {@link MAX_AGE_DAYS} old; otherwise builds it (in a side folder, renamed when complete, so
 * that an interrupted build is never reused).
 */
export async function statusFixture(cacheDir: string, log: (line: string) => void): Promise<Fixture> {
  const dir = join(cacheDir, "status-1m");
  const cached = readInfo(dir);
  if (
    cached &&
    cached.fixtureVersion === FIXTURE_VERSION &&
    cached.migrations === SQLITE_MIGRATIONS.length &&
    cached.cards === CARD_COUNT &&
    Date.now() - Date.parse(cached.builtAt) < MAX_AGE_DAYS * 86_400_000
  ) {
    return { dir, dataDir: join(dir, "data"), escnFile: join(dir, "escns.txt"), info: cached, built: false };
  }
  log(
    cached
      ? `fixture is stale (version ${cached.fixtureVersion}/${FIXTURE_VERSION}, migrations ${cached.migrations}/${SQLITE_MIGRATIONS.length}, built ${cached.builtAt}): rebuilding`
      : "no cached fixture: building it",
  );
  const building = `${dir}.building`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(join(building, "data"), { recursive: true });
  const info = await build(building, log);
  writeFileSync(join(building, "fixture.json"), `${JSON.stringify(info, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  return { dir, dataDir: join(dir, "data"), escnFile: join(dir, "escns.txt"), info, built: true };
}

interface Plan {
  /** For each card: the index of its holder in `persons`. */
  readonly cardPerson: Int32Array;
  /** For each card: the index of its issuer. */
  readonly cardOrg: Int16Array;
  readonly escns: Escn[];
  readonly personOrg: Int16Array;
  readonly personCount: number;
}

/** Who holds which card: cards are dealt to issuers in turn, every tenth student holds two. */
function plan(): Plan {
  const personCount = Math.ceil((CARD_COUNT * SECOND_CARD_EVERY) / (SECOND_CARD_EVERY + 1));
  const personOrg = new Int16Array(personCount);
  for (let p = 0; p < personCount; p++) personOrg[p] = p % ORGANISATION_COUNT;
  const cardPerson = new Int32Array(CARD_COUNT);
  const cardOrg = new Int16Array(CARD_COUNT);
  let card = 0;
  for (let p = 0; p < personCount && card < CARD_COUNT; p++) {
    const cards = p % SECOND_CARD_EVERY === 0 ? 2 : 1;
    for (let k = 0; k < cards && card < CARD_COUNT; k++, card++) {
      cardPerson[card] = p;
      cardOrg[card] = personOrg[p]!;
    }
  }
  if (card !== CARD_COUNT) throw new Error(`fixture plan dealt ${card} cards, not ${CARD_COUNT}`);
  // ESCNs per issuer, so each carries its issuer's PIC.
  const perOrg = new Int32Array(ORGANISATION_COUNT);
  for (let c = 0; c < CARD_COUNT; c++) perOrg[cardOrg[c]!]!++;
  const pools = Array.from({ length: ORGANISATION_COUNT }, (_, o) =>
    generateEscns(perOrg[o]!, { prefix: "001", pic: orgId(o) }),
  );
  const next = new Int32Array(ORGANISATION_COUNT);
  const escns: Escn[] = new Array(CARD_COUNT);
  for (let c = 0; c < CARD_COUNT; c++) {
    const o = cardOrg[c]!;
    escns[c] = pools[o]![next[o]!++]!;
  }
  return { cardPerson, cardOrg, escns, personOrg, personCount };
}

/**
 * The card rows of `[from, to)`; `personIds` maps plan indices to store ids. Dates count from the day
 * the fixture is built, and a card that has run out did so less than a year before, well within the
 * retention period (OPENESC_RETENTION_DAYS, 730 by default), so the hub's retention job leaves the
 * fixture alone for a year.
 */
function cardRows(
  p: Plan,
  personIds: Int32Array,
  from: number,
  to: number,
  today: IsoDate,
): Omit<Card, "version">[] {
  const rows: Omit<Card, "version">[] = [];
  for (let c = from; c < to; c++) {
    const person = p.cardPerson[c]!;
    // The first of two cards was replaced; a tenth of the rest has run out.
    const replaced = c + 1 < CARD_COUNT && p.cardPerson[c + 1] === person;
    const expired = !replaced && c % 10 === 3;
    const expiresAt = expired ? addDays(today, -(30 + (c % 300))) : addDays(today, 30 + (c % 1400));
    rows.push({
      escn: p.escns[c]!,
      personId: personIds[person]!,
      esi: "",
      issuerId: orgId(p.cardOrg[c]!),
      processorId: null,
      cardType: CARD_TYPES[c % CARD_TYPES.length]!,
      status: replaced ? "INACTIVE" : "ACTIVE",
      inactiveReason: replaced ? "replaced" : null,
      issuedAt: addDays(expiresAt, -3 * 365),
      expiresAt,
      displayName: displayNameOf(person),
      chipUid: null,
      createdAt: CREATED_AT,
      updatedAt: CREATED_AT,
    });
  }
  return rows;
}

async function build(dir: string, log: (line: string) => void): Promise<FixtureInfo> {
  let started = performance.now();
  const today = isoDateOf(new Date());
  const p = plan();
  log(`  planned ${CARD_COUNT.toLocaleString("en")} ESCNs in ${seconds(started)} s`);
  writeFileSync(join(dir, "escns.txt"), `${p.escns.join("\n")}\n`);

  const storage = new SqliteStorage({ file: join(dir, "data", "openesc.db") });
  await storage.init();
  // Organisations, persons and links, through the repositories.
  started = performance.now();
  await storage.transaction(async (tx) => {
    for (let o = 0; o < ORGANISATION_COUNT; o++) {
      await tx.organisations.insert({
        id: orgId(o),
        kind: "institution",
        name: orgName(o),
        country: COUNTRIES[o % COUNTRIES.length] as CountryCode,
        schacHomeOrganisation: `bench-university-${o + 1}.example.org`,
        erasmusCode: null,
        website: null,
        colours: { main: null, secondary: null, contrast: null, qr: null },
        showDisplayName: o % SHOWS_NAME_EVERY === 0,
        serves: [],
        processors: [],
        createdAt: CREATED_AT,
        updatedAt: CREATED_AT,
      });
    }
  });
  const personIds = new Int32Array(p.personCount);
  let links = 0;
  for (let from = 0; from < p.personCount; from += CHUNK) {
    const to = Math.min(from + CHUNK, p.personCount);
    links += await storage.transaction(async (tx) => {
      let n = 0;
      for (let person = from; person < to; person++) {
        const o = p.personOrg[person]!;
        const esi = parseEsi(esiOf(COUNTRIES[o % COUNTRIES.length]!, person));
        const stored = await tx.persons.insert({
          esi: esi.value,
          esiKey: esi.key,
          createdAt: CREATED_AT,
          updatedAt: CREATED_AT,
        });
        personIds[person] = stored.id;
        const orgs = person % EXCHANGE_EVERY === 0 ? [o, (o + 1) % ORGANISATION_COUNT] : [o];
        for (const linked of orgs) {
          await tx.persons.upsertLink({
            personId: stored.id,
            organisationId: orgId(linked),
            fullName: displayNameOf(person),
            academicLevel: "BACHELOR",
            email: null,
            phone: null,
            fax: null,
            createdAt: CREATED_AT,
            updatedAt: CREATED_AT,
          });
          n++;
        }
      }
      return n;
    });
  }
  const personLoadSeconds = (performance.now() - started) / 1000;
  log(
    `  loaded ${ORGANISATION_COUNT} organisations, ${p.personCount.toLocaleString("en")} persons and ${links.toLocaleString("en")} links in ${personLoadSeconds.toFixed(1)} s`,
  );

  // The figure: the 1M cards through the port's bulk path, one transaction per chunk. The ceiling: the
  // same rows into a copy of the same store (same schema, same pragmas) with a bare prepared statement.
  // Chunk by chunk, alternating which goes first, so that both meet the same machine.
  const raw = rawLoader(dir);
  let cardLoadMs = 0;
  let rawLoadMs = 0;
  for (let from = 0, chunk = 0; from < CARD_COUNT; from += CHUNK, chunk++) {
    const rows = cardRows(p, personIds, from, Math.min(from + CHUNK, CARD_COUNT), today);
    const viaPort = async () => {
      const t0 = performance.now();
      await storage.transaction((tx) => tx.cards.insertMany(rows));
      cardLoadMs += performance.now() - t0;
    };
    const viaRaw = () => {
      const t0 = performance.now();
      raw.insert(rows);
      rawLoadMs += performance.now() - t0;
    };
    if (chunk % 2 === 0) {
      await viaPort();
      viaRaw();
    } else {
      viaRaw();
      await viaPort();
    }
  }
  raw.dispose();
  const cardLoadSeconds = cardLoadMs / 1000;
  const rawCardLoadSeconds = rawLoadMs / 1000;
  log(
    `  loaded ${CARD_COUNT.toLocaleString("en")} cards through cards.insertMany in ${cardLoadSeconds.toFixed(1)} s ` +
      `(the same rows with bare better-sqlite3: ${rawCardLoadSeconds.toFixed(1)} s)`,
  );
  await storage.close();
  return {
    fixtureVersion: FIXTURE_VERSION,
    migrations: SQLITE_MIGRATIONS.length,
    cards: CARD_COUNT,
    organisations: ORGANISATION_COUNT,
    persons: p.personCount,
    personLinks: links,
    cardLoadSeconds,
    rawCardLoadSeconds,
    personLoadSeconds,
    builtAt: new Date().toISOString(),
  };
}

/**
 * A copy of the store as it is before the cards (organisations, persons, links), and an insert of card
 * rows into it with one bare prepared statement per chunk transaction, with the pragmas the hub uses.
 */
function rawLoader(dir: string): { insert(rows: Omit<Card, "version">[]): void; dispose(): void } {
  const copy = join(dir, "raw-ceiling.db");
  // VACUUM INTO takes a consistent copy of what is committed, write-ahead log included.
  const source = new Database(join(dir, "data", "openesc.db"), { readonly: true });
  source.exec(`VACUUM INTO '${copy.replaceAll("'", "''")}'`);
  source.close();
  const db = new Database(copy);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("cache_size = -32768");
  const stmt =
    db.prepare(`INSERT INTO cards (escn, person_id, issuer_id, processor_id, card_type, status, inactive_reason,
    issued_at, expires_at, display_name, chip_uid, created_at, updated_at, version)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`);
  const insert = db.transaction((rows: Omit<Card, "version">[]) => {
    for (const r of rows) {
      stmt.run(
        r.escn,
        r.personId,
        r.issuerId,
        r.processorId,
        r.cardType,
        r.status,
        r.inactiveReason,
        r.issuedAt,
        r.expiresAt,
        r.displayName,
        r.chipUid,
        r.createdAt,
        r.updatedAt,
      );
    }
  });
  return {
    insert,
    dispose() {
      db.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(copy + suffix, { force: true });
    },
  };
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
