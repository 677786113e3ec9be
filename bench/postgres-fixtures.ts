/**
 * Data of the PostgreSQL benchmark (`npm run bench -- postgres`): the dedicated database `openesc_bench`,
 * the status fixture held twice (in that database and in a SQLite data folder, the same cards), and the
 * bulk load of card rows through the hub's bulk path against a raw `COPY` of the same text.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { copyLines } from "../src/adapters/storage/postgres/postgres-card-repository.ts";
import { POSTGRES_MIGRATIONS } from "../src/adapters/storage/postgres/postgres-migrations.ts";
import { PostgresStorage } from "../src/adapters/storage/postgres/postgres-storage.ts";
import { SqliteStorage } from "../src/adapters/storage/sqlite/sqlite-storage.ts";
import type { Card } from "../src/domain/card.ts";
import type { CardType } from "../src/domain/card-type.ts";
import type { CountryCode } from "../src/domain/country-code.ts";
import { type Escn, generateEscns } from "../src/domain/escn.ts";
import { parseEsi } from "../src/domain/esi.ts";
import { addDays, type IsoDate, isoDateOf } from "../src/domain/iso-date.ts";
import { type Pic, parsePic } from "../src/domain/pic.ts";
import type { Storage } from "../src/ports/storage.ts";
import { LOOPBACK } from "./processes.ts";

/** Bump when the shape of the data changes; the cached status fixture is then rebuilt. */
export const PG_FIXTURE_VERSION = 1;
export const BENCH_DATABASE = "openesc_bench";
const ORGANISATIONS = 300;
/** Each person holds this many cards (persons only exist for the cards to point at). */
const CARDS_PER_PERSON = 2;
const COUNTRIES = ["FR", "DE", "IT", "ES", "PL", "BE", "NL", "PT", "AT", "FI", "SE", "IE", "CZ", "GR"];
const CARD_TYPES: readonly CardType[] = ["SMART_PASSIVE", "PASSIVE", "SMART_CDZ", "SMART_NO_CDZ"];
const CREATED_AT = "2026-01-15T09:00:00.000Z";
/** The scratch schema of the bulk load, dropped and created again on every run. */
const LOAD_SCHEMA = "bench_load";

const orgId = (i: number): Pic => parsePic(String(900_000_001 + i * 37));

/**
 * The server to use: `BENCH_POSTGRES_URL` (any database on it; the benchmark works in its own
 * `openesc_bench`), by default the local server on loopback as user `postgres`.
 */
export function serverUrl(): URL {
  const url = new URL(process.env["BENCH_POSTGRES_URL"] ?? `postgres://postgres@${LOOPBACK}:5432/postgres`);
  if (url.hostname !== LOOPBACK) throw new Error(`the benchmark loads ${LOOPBACK} only, not ${url.hostname}`);
  return url;
}

export function benchDatabaseUrl(): string {
  const url = serverUrl();
  url.pathname = `/${BENCH_DATABASE}`;
  return url.toString();
}

/** Creates `openesc_bench` when it is missing. */
export async function ensureDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl().toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [BENCH_DATABASE]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  } finally {
    await client.end();
  }
}

async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: benchDatabaseUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** `count` ESCNs, dealt to the issuers in turn: card `c` is issued by organisation `c % ORGANISATIONS`. */
function escnsOf(count: number): Escn[] {
  const perOrg = Array.from(
    { length: ORGANISATIONS },
    (_, o) => Math.floor(count / ORGANISATIONS) + (o < count % ORGANISATIONS ? 1 : 0),
  );
  const pools = perOrg.map((n, o) => generateEscns(n, { prefix: "001", pic: orgId(o) }));
  return Array.from({ length: count }, (_, c) => pools[c % ORGANISATIONS]![Math.floor(c / ORGANISATIONS)]!);
}

/** Card rows `[from, to)`; person `k` of the store has id `firstPersonId + k`. */
function cardRows(
  escns: readonly Escn[],
  firstPersonId: number,
  from: number,
  to: number,
  today: IsoDate,
): Omit<Card, "version">[] {
  const rows: Omit<Card, "version">[] = [];
  for (let c = from; c < to; c++) {
    const expired = c % 10 === 3;
    const expiresAt = expired ? addDays(today, -(30 + (c % 300))) : addDays(today, 30 + (c % 1400));
    const person = Math.floor(c / CARDS_PER_PERSON);
    rows.push({
      escn: escns[c]!,
      personId: firstPersonId + person,
      esi: "",
      issuerId: orgId(c % ORGANISATIONS),
      processorId: null,
      cardType: CARD_TYPES[c % CARD_TYPES.length]!,
      status: c % 7 === 5 ? "INACTIVE" : "ACTIVE",
      inactiveReason: c % 7 === 5 ? "lost" : null,
      issuedAt: addDays(expiresAt, -3 * 365),
      expiresAt,
      displayName: `Student ${String(person).padStart(8, "0")}`,
      chipUid: null,
      createdAt: CREATED_AT,
      updatedAt: CREATED_AT,
    });
  }
  return rows;
}

async function insertOrganisations(storage: Storage): Promise<void> {
  await storage.transaction(async (tx) => {
    for (let o = 0; o < ORGANISATIONS; o++) {
      await tx.organisations.insert({
        id: orgId(o),
        kind: "institution",
        name: `Bench University ${String(o + 1).padStart(4, "0")}`,
        country: COUNTRIES[o % COUNTRIES.length] as CountryCode,
        schacHomeOrganisation: `bench-university-${o + 1}.example.org`,
        erasmusCode: null,
        website: null,
        colours: { main: null, secondary: null, contrast: null, qr: null },
        showDisplayName: o % 10 === 0,
        serves: [],
        processors: [],
        createdAt: CREATED_AT,
        updatedAt: CREATED_AT,
      });
    }
  });
}

function personOf(k: number): { esi: string; esiKey: string } {
  const country = COUNTRIES[k % COUNTRIES.length]!.toLowerCase();
  const esi = parseEsi(`urn:schac:personalUniqueCode:int:esi:${country}:P${String(k).padStart(9, "0")}`);
  return { esi: esi.value, esiKey: esi.key };
}

/** Persons by COPY (fixture preparation, not measured); returns the id of the first. */
async function copyPersons(client: pg.Client, count: number): Promise<number> {
  await client.query("BEGIN");
  function* lines(): Generator<string> {
    for (let from = 0; from < count; from += 1000) {
      let text = "";
      for (let k = from; k < Math.min(count, from + 1000); k++) {
        const p = personOf(k);
        text += `${p.esi}\t${p.esiKey}\t${CREATED_AT}\t${CREATED_AT}\n`;
      }
      yield text;
    }
  }
  await pipeline(
    Readable.from(lines()),
    client.query(copyFrom("COPY persons (esi, esi_key, created_at, updated_at) FROM STDIN")),
  );
  await client.query("COMMIT");
  const { rows } = await client.query<{ first: string; n: string }>(
    "SELECT min(id) AS first, count(*) AS n FROM persons",
  );
  const first = Number(rows[0]!.first);
  if (Number(rows[0]!.n) !== count) throw new Error(`copied ${rows[0]!.n} persons, not ${count}`);
  const { rows: check } = await client.query<{ max: string }>("SELECT max(id) AS max FROM persons");
  if (Number(check[0]!.max) !== first + count - 1) throw new Error("person ids are not consecutive");
  return first;
}

// ---------------------------------------------------------------------------------------------------
// Bulk load
// ---------------------------------------------------------------------------------------------------

export interface BulkLoadResult {
  /** Rows asked for, and rows loaded by each path before the time budget ran out. */
  readonly requestedRows: number;
  readonly rows: number;
  readonly batchRows: number;
  readonly hubSeconds: number;
  readonly rawSeconds: number;
  readonly hubRowsPerSecond: number;
  readonly rawRowsPerSecond: number;
  /** hub ÷ raw rows per second. */
  readonly ratio: number;
  readonly preparationSeconds: number;
  readonly stoppedByBudget: boolean;
}

/**
 * Loads `requested` card rows, batch by batch, through `PostgresStorage.transaction(tx =>
 * tx.cards.insertMany(batch))` into the real schema (fresh migrations in the scratch schema
 * `bench_load`), and the same rows as the same COPY text into `raw_cards`, created `LIKE cards INCLUDING
 * ALL` (same columns, defaults, identity, NOT NULL and CHECK constraints, primary key, unique and other
 * indexes; LIKE copies no foreign keys, so raw_cards lacks the three of cards: person_id, issuer_id and
 * processor_id). Each batch is one transaction on both sides; the order alternates from batch to batch.
 * The raw side gets its text prepared before the clock starts (the ceiling is the server's COPY); the
 * hub side's time includes building its text. Stops after the batch that crosses `budgetSeconds`.
 */
export async function bulkLoad(
  requested: number,
  batchRows: number,
  budgetSeconds: number,
  log: (line: string) => void,
): Promise<BulkLoadResult> {
  const prepStarted = performance.now();
  await withClient(async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS ${LOAD_SCHEMA} CASCADE`);
  });
  const storage = new PostgresStorage({
    connectionString: benchDatabaseUrl(),
    schema: LOAD_SCHEMA,
    poolSize: 2,
    statementTimeoutMs: 600_000,
  });
  await storage.init();
  const raw = new pg.Client({
    connectionString: benchDatabaseUrl(),
    options: `-c search_path=${LOAD_SCHEMA}`,
  });
  await raw.connect();
  try {
    await insertOrganisations(storage);
    const firstPerson = await copyPersons(raw, Math.ceil(requested / CARDS_PER_PERSON));
    await raw.query("CREATE TABLE raw_cards (LIKE cards INCLUDING ALL)");
    await raw.query("ANALYZE");
    const escns = escnsOf(requested);
    const today = isoDateOf(new Date());
    const preparationSeconds = (performance.now() - prepStarted) / 1000;
    log(
      `  prepared ${LOAD_SCHEMA}: migrations, ${ORGANISATIONS} organisations, ${fmtInt(Math.ceil(requested / CARDS_PER_PERSON))} persons in ${preparationSeconds.toFixed(1)} s`,
    );

    let hubMs = 0;
    let rawMs = 0;
    let rows = 0;
    const started = performance.now();
    let stoppedByBudget = false;
    for (let from = 0, batch = 0; from < requested; from += batchRows, batch++) {
      if ((performance.now() - started) / 1000 > budgetSeconds) {
        stoppedByBudget = true;
        break;
      }
      const cards = cardRows(escns, firstPerson, from, Math.min(from + batchRows, requested), today);
      const text = [...copyLines(cards)];
      const viaHub = async () => {
        const t0 = performance.now();
        await storage.transaction((tx) => tx.cards.insertMany(cards));
        hubMs += performance.now() - t0;
      };
      const viaRaw = async () => {
        const t0 = performance.now();
        await raw.query("BEGIN");
        await pipeline(
          Readable.from(text),
          raw.query(
            copyFrom(`COPY raw_cards (escn, person_id, issuer_id, processor_id, card_type, status, inactive_reason,
  issued_at, expires_at, display_name, chip_uid, created_at, updated_at, version) FROM STDIN`),
          ),
        );
        await raw.query("COMMIT");
        rawMs += performance.now() - t0;
      };
      if (batch % 2 === 0) {
        await viaHub();
        await viaRaw();
      } else {
        await viaRaw();
        await viaHub();
      }
      rows += cards.length;
      if (batch % 4 === 3)
        log(
          `  ${fmtInt(rows)} rows: hub ${(hubMs / 1000).toFixed(1)} s, raw COPY ${(rawMs / 1000).toFixed(1)} s`,
        );
    }
    const { rows: counts } = await raw.query<{ hub: string; raw: string }>(
      "SELECT (SELECT count(*) FROM cards) AS hub, (SELECT count(*) FROM raw_cards) AS raw",
    );
    if (Number(counts[0]!.hub) !== rows || Number(counts[0]!.raw) !== rows) {
      throw new Error(`loaded ${counts[0]!.hub} and ${counts[0]!.raw} rows, expected ${rows}`);
    }
    const hubSeconds = hubMs / 1000;
    const rawSeconds = rawMs / 1000;
    return {
      requestedRows: requested,
      rows,
      batchRows,
      hubSeconds,
      rawSeconds,
      hubRowsPerSecond: rows / hubSeconds,
      rawRowsPerSecond: rows / rawSeconds,
      ratio: rawSeconds / hubSeconds,
      preparationSeconds,
      stoppedByBudget,
    };
  } finally {
    await raw.end();
    await storage.close();
    // The scratch schema is not kept: it would only take disk space.
    await withClient(async (client) => {
      await client.query(`DROP SCHEMA IF EXISTS ${LOAD_SCHEMA} CASCADE`);
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Status fixture: the same cards in openesc_bench (schema public) and in a SQLite data folder
// ---------------------------------------------------------------------------------------------------

export interface StatusFixture {
  readonly cards: number;
  /** One ESCN per line. */
  readonly escnFile: string;
  /** OPENESC_DATA_DIR of the SQLite hub. */
  readonly sqliteDataDir: string;
  readonly built: boolean;
  readonly builtAt: string;
}

/**
 * Reused when the marker table `bench_fixture` of openesc_bench says a complete fixture of this version,
 * size and number of migrations is there, and the SQLite folder and ESCN list are in the cache;
 * otherwise rebuilt (the database's public schema is dropped and created again: nothing else lives in
 * this database).
 */
export async function statusFixture(
  cacheDir: string,
  cards: number,
  log: (line: string) => void,
): Promise<StatusFixture> {
  const dir = join(cacheDir, `postgres-status-${cards}`);
  const escnFile = join(dir, "escns.txt");
  const sqliteDataDir = join(dir, "sqlite");
  const marker = await withClient(async (client) => {
    const { rows } = await client.query<{ exists: boolean }>(
      "SELECT to_regclass('public.bench_fixture') IS NOT NULL AS exists",
    );
    if (!rows[0]?.exists) return undefined;
    const { rows: found } = await client.query<{
      version: number;
      cards: number;
      migrations: number;
      built_at: string;
    }>("SELECT version, cards, migrations, built_at FROM public.bench_fixture WHERE complete");
    return found[0];
  });
  if (
    marker &&
    marker.version === PG_FIXTURE_VERSION &&
    marker.cards === cards &&
    marker.migrations === POSTGRES_MIGRATIONS.length &&
    existsSync(escnFile) &&
    existsSync(join(sqliteDataDir, "openesc.db"))
  ) {
    return { cards, escnFile, sqliteDataDir, built: false, builtAt: marker.built_at };
  }
  log(`no complete status fixture of ${fmtInt(cards)} cards: building it (PostgreSQL and SQLite)`);
  const started = performance.now();
  const building = `${dir}.building`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(join(building, "sqlite"), { recursive: true });
  const escns = escnsOf(cards);
  writeFileSync(join(building, "escns.txt"), `${escns.join("\n")}\n`);
  const today = isoDateOf(new Date());
  const persons = Math.ceil(cards / CARDS_PER_PERSON);
  const chunk = 50_000;

  // PostgreSQL.
  await withClient(async (client) => {
    await client.query("DROP SCHEMA IF EXISTS public CASCADE");
    await client.query("CREATE SCHEMA public");
  });
  const pgStorage = new PostgresStorage({
    connectionString: benchDatabaseUrl(),
    statementTimeoutMs: 600_000,
  });
  await pgStorage.init();
  try {
    await insertOrganisations(pgStorage);
    const first = await withClient((client) => copyPersons(client, persons));
    for (let from = 0; from < cards; from += chunk) {
      const rows = cardRows(escns, first, from, Math.min(from + chunk, cards), today);
      await pgStorage.transaction((tx) => tx.cards.insertMany(rows));
    }
  } finally {
    await pgStorage.close();
  }
  await withClient(async (client) => {
    await client.query("VACUUM ANALYZE");
  });
  log(`  PostgreSQL: ${fmtInt(cards)} cards in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // SQLite, the same cards (person ids start at 1 there too, or at whatever the first insert returns).
  const sqliteStarted = performance.now();
  const sqlite = new SqliteStorage({ file: join(building, "sqlite", "openesc.db") });
  await sqlite.init();
  try {
    await insertOrganisations(sqlite);
    let first = 0;
    for (let from = 0; from < persons; from += chunk) {
      await sqlite.transaction(async (tx) => {
        for (let k = from; k < Math.min(from + chunk, persons); k++) {
          const p = personOf(k);
          const stored = await tx.persons.insert({ ...p, createdAt: CREATED_AT, updatedAt: CREATED_AT });
          if (k === 0) first = stored.id;
          else if (stored.id !== first + k) throw new Error("SQLite person ids are not consecutive");
        }
      });
    }
    for (let from = 0; from < cards; from += chunk) {
      const rows = cardRows(escns, first, from, Math.min(from + chunk, cards), today);
      await sqlite.transaction((tx) => tx.cards.insertMany(rows));
    }
  } finally {
    await sqlite.close();
  }
  log(`  SQLite: ${fmtInt(cards)} cards in ${((performance.now() - sqliteStarted) / 1000).toFixed(1)} s`);

  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
  const builtAt = new Date().toISOString();
  await withClient(async (client) => {
    await client.query(
      `CREATE TABLE IF NOT EXISTS public.bench_fixture (version integer NOT NULL, cards integer NOT NULL,
        migrations integer NOT NULL, built_at text NOT NULL, complete boolean NOT NULL)`,
    );
    await client.query("DELETE FROM public.bench_fixture");
    await client.query("INSERT INTO public.bench_fixture VALUES ($1, $2, $3, $4, true)", [
      PG_FIXTURE_VERSION,
      cards,
      POSTGRES_MIGRATIONS.length,
      builtAt,
    ]);
  });
  return { cards, escnFile, sqliteDataDir, built: true, builtAt };
}

function fmtInt(n: number): string {
  return n.toLocaleString("en");
}
