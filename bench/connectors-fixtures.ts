/**
 * The connectors benchmark's data: a native CSV of N students (person, status and card on every row),
 * the same file with 1 % of its rows changed, and the organisation both are imported for. The files are
 * made once per size and kept in `.bench-cache/connectors/`; a file is made again when it is missing or
 * when {@link CSV_FIXTURE_VERSION} changes.
 */
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { RECORD_FIELDS } from "../src/connectors/record-fields.ts";
import { generateEscns } from "../src/domain/escn.ts";
import { type Pic, parsePic } from "../src/domain/pic.ts";
import type { Storage } from "../src/ports/storage.ts";

/** Raise when the rows the generator writes change: cached files of another version are made again. */
export const CSV_FIXTURE_VERSION = 1;
/** The institution the files list students of; every card number is under its PIC. */
export const BENCH_PIC: Pic = parsePic("999123456");
/** The issuing server's prefix of the card numbers (`OPENESC_ESCN_PREFIX`'s default). */
export const ESCN_PREFIX = "001";
/** One row in this many is changed in the second file (1 %). */
export const CHANGE_EVERY = 100;

const FIRST_NAMES = ["Anna", "Jan", "Eleni", "Lukas", "Marie", "Pablo", "Sofia", "Mikko", "Ines", "Tomas"];
const LAST_NAMES = ["Kowalska", "Dupont", "Papadopoulou", "Schmidt", "Rossi", "Garcia", "Virtanen", "Novak"];
const LEVELS = ["BACHELOR", "BACHELOR", "BACHELOR", "MASTER", "MASTER", "DOCTORATE"];
const WRITE_CHUNK = 10_000;

export interface CsvFixture {
  readonly rows: number;
  /** Every row: a new person, status and card for a fresh store. */
  readonly path: string;
  /** The same rows, one in {@link CHANGE_EVERY} with one field changed (e-mail, status or card, in turn). */
  readonly changedPath: string;
  /** How many rows of the second file differ from the first. */
  readonly changedRows: number;
  readonly bytes: number;
  /** Whether this run made the files (false: taken from the cache). */
  readonly built: boolean;
  readonly buildSeconds: number;
}

/** The two files for `rows` students, made when missing. */
export function csvFixture(cacheDir: string, rows: number, log: (line: string) => void): CsvFixture {
  const dir = join(cacheDir, "connectors");
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `students-v${CSV_FIXTURE_VERSION}-${rows}`);
  const path = `${base}.csv`;
  const changedPath = `${base}-changed.csv`;
  const changedRows = Math.floor((rows + CHANGE_EVERY / 2) / CHANGE_EVERY);
  const started = performance.now();
  const built = !existsSync(path) || !existsSync(changedPath);
  if (built) {
    log(`  writing ${rows.toLocaleString("en")} rows to ${path} and its 1 %-changed twin`);
    writeFiles(path, changedPath, rows);
  }
  const buildSeconds = (performance.now() - started) / 1000;
  return { rows, path, changedPath, changedRows, bytes: sizeOf(path), built, buildSeconds };
}

/** Whether row `i` (from 0) is one the second file changes. */
export const isChanged = (i: number): boolean => i % CHANGE_EVERY === CHANGE_EVERY / 2;

function writeFiles(path: string, changedPath: string, rows: number): void {
  // Written under a temporary name and renamed, so that a run cut short leaves no half file to reuse.
  const first = openSync(`${path}.tmp`, "w");
  const second = openSync(`${changedPath}.tmp`, "w");
  try {
    const header = `${RECORD_FIELDS.join(",")}\n`;
    writeSync(first, header);
    writeSync(second, header);
    for (let from = 0, chunk = 0; from < rows; from += WRITE_CHUNK, chunk++) {
      const to = Math.min(from + WRITE_CHUNK, rows);
      // Each chunk's numbers carry their own millisecond, so numbers of two chunks can never be equal.
      const escns = generateEscns(to - from, {
        prefix: ESCN_PREFIX,
        pic: BENCH_PIC,
        now: new Date(Date.UTC(2026, 8, 1) + chunk),
      });
      const lines: string[] = [];
      const changed: string[] = [];
      for (let i = from; i < to; i++) {
        const fields = rowFields(i, escns[i - from] as string);
        lines.push(fields.join(","));
        changed.push((isChanged(i) ? changeOf(i, fields) : fields).join(","));
      }
      writeSync(first, `${lines.join("\n")}\n`);
      writeSync(second, `${changed.join("\n")}\n`);
    }
  } finally {
    closeSync(first);
    closeSync(second);
  }
  renameSync(`${path}.tmp`, path);
  renameSync(`${changedPath}.tmp`, changedPath);
}

/** Row `i`'s values, in `RECORD_FIELDS` order; no value needs quoting. */
function rowFields(i: number, escn: string): string[] {
  const first = FIRST_NAMES[i % FIRST_NAMES.length] as string;
  const last = LAST_NAMES[Math.floor(i / FIRST_NAMES.length) % LAST_NAMES.length] as string;
  const year = 2022 + (i % 4);
  return [
    esiOfRow(i),
    `${first} ${last} ${i}`,
    LEVELS[i % LEVELS.length] as string,
    `s${i}@bench-university.example.org`,
    "enrolled",
    `${year}-09-01`,
    `${year + 5}-08-31`,
    escn,
    "SMART_PASSIVE",
    "ACTIVE",
    "",
    `${year}-09-15`,
    `${year + 5}-09-14`,
    `${first[0]}. ${last}`,
  ];
}

/** One change per changed row, in turn: the e-mail (the link), the status, the card. */
function changeOf(i: number, fields: readonly string[]): string[] {
  const out = [...fields];
  const kind = Math.floor(i / CHANGE_EVERY) % 3;
  if (kind === 0) out[3] = `s${i}.new@bench-university.example.org`;
  else if (kind === 1) out[4] = "suspended";
  else {
    out[9] = "INACTIVE";
    out[10] = "lost";
  }
  return out;
}

export function esiOfRow(i: number): string {
  return `urn:schac:personalUniqueCode:int:esi:fr:bench-${i}`;
}

/** The CSV's rows, `size` at a time, split on commas (the fixture quotes nothing). */
export async function* csvBatches(path: string, size: number): AsyncGenerator<string[][]> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let batch: string[][] = [];
  let header = true;
  for await (const line of lines) {
    if (header) {
      header = false;
      continue;
    }
    batch.push(line.split(","));
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Registers the bench institution, as onboarding does. */
export async function addBenchInstitution(storage: Storage): Promise<void> {
  const at = "2026-01-01T00:00:00.000Z";
  await storage.transaction((tx) =>
    tx.organisations.insert({
      id: BENCH_PIC,
      kind: "institution",
      name: "Bench University",
      country: null,
      schacHomeOrganisation: "bench-university.example.org",
      erasmusCode: null,
      website: null,
      colours: { main: null, secondary: null, contrast: null, qr: null },
      showDisplayName: false,
      serves: [],
      processors: [],
      createdAt: at,
      updatedAt: at,
    }),
  );
}

function sizeOf(path: string): number {
  return statSync(path).size;
}
