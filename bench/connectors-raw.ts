/**
 * The ceilings of the import: the same rows as the CSV fixture, written with bare better-sqlite3 prepared
 * statements into a fresh store of the same schema (the hub's migrations, the same pragmas as
 * `SqliteStorage`), one transaction per batch of the import's size. Only the transactions are timed: the
 * file is read and each batch's values made ready before its clock starts.
 *
 * Two ceilings: the plain rows (person, link, status, card), and everything the engine writes for a new
 * student by design: the same rows, the three events (`person.linked`, `student-status.changed`,
 * `card.created`) in the outbox, their three audit entries in the hash chain, the connector's presence row
 * and the run's counts once per batch.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteStorage } from "../src/adapters/storage/sqlite/sqlite-storage.ts";
import { auditHash, type NewAuditEntry } from "../src/domain/audit-entry.ts";
import { addBenchInstitution, BENCH_PIC, csvBatches } from "./connectors-fixtures.ts";

export interface RawInsertResult {
  readonly name: "plain" | "everything";
  readonly rows: number;
  readonly batchSize: number;
  /** Time inside the transactions. */
  readonly seconds: number;
  readonly rowsPerSecond: number;
}

/** The store's pragmas, as `SqliteStorage` opens its writer. */
function openLikeTheHub(file: string): Database.Database {
  const db = new Database(file, { fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("secure_delete = ON");
  db.pragma(`cache_size = -${32 * 1024}`);
  return db;
}

/** Writes the first `rows` rows of `csvPath` raw, into a throwaway store removed afterwards. */
export async function rawInserts(
  csvPath: string,
  rows: number,
  batchSize: number,
  name: RawInsertResult["name"],
): Promise<RawInsertResult> {
  const dir = mkdtempSync(join(tmpdir(), "openesc-bench-raw-"));
  try {
    const file = join(dir, "openesc.db");
    const storage = new SqliteStorage({ file });
    await storage.init();
    await addBenchInstitution(storage);
    const at = new Date().toISOString();
    const run = await storage.transaction((tx) =>
      tx.connectorRuns.start({
        connector: "import",
        organisationId: BENCH_PIC,
        source: "raw",
        startedAt: at,
      }),
    );
    await storage.close();
    const db = openLikeTheHub(file);
    try {
      const write = name === "plain" ? plainWriter(db, at) : everythingWriter(db, at, run.id);
      let ms = 0;
      let done = 0;
      for await (const batch of csvBatches(csvPath, batchSize)) {
        const values = batch.slice(0, rows - done).map(valuesOf);
        const t0 = performance.now();
        db.exec("BEGIN IMMEDIATE");
        write(values, done);
        db.exec("COMMIT");
        ms += performance.now() - t0;
        done += values.length;
        if (done >= rows) break;
      }
      const count = (db.prepare("SELECT count(*) AS n FROM cards").get() as { n: number }).n;
      if (count !== done) throw new Error(`raw inserts wrote ${count} cards for ${done} rows`);
      return { name, rows: done, batchSize, seconds: ms / 1000, rowsPerSecond: done / (ms / 1000) };
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One CSV row's values, ready to bind. */
interface RowValues {
  readonly esi: string;
  readonly esiKey: string;
  readonly fullName: string;
  readonly academicLevel: string;
  readonly email: string;
  readonly state: string;
  readonly validFrom: string;
  readonly validUntil: string | null;
  readonly escn: string;
  readonly cardType: string;
  readonly cardStatus: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  readonly displayName: string;
}

function valuesOf(fields: readonly string[]): RowValues {
  const f = (i: number) => fields[i] ?? "";
  return {
    esi: f(0),
    esiKey: f(0).toLowerCase(),
    fullName: f(1),
    academicLevel: f(2),
    email: f(3),
    state: f(4),
    validFrom: f(5),
    validUntil: f(6) === "" ? null : f(6),
    escn: f(7),
    cardType: f(8),
    cardStatus: f(9),
    issuedAt: f(11),
    expiresAt: f(12),
    displayName: f(13),
  };
}

type BatchWriter = (rows: readonly RowValues[], before: number) => void;

interface RowIds {
  readonly personId: number;
}

/** Person, link, status and card of each row; returns the persons' ids. */
function rowWriter(db: Database.Database, at: string): (row: RowValues) => RowIds {
  const person = db.prepare("INSERT INTO persons (esi, esi_key, created_at, updated_at) VALUES (?, ?, ?, ?)");
  const link = db.prepare(
    `INSERT INTO person_links (person_id, organisation_id, full_name, academic_level, email, phone, fax,
     created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)`,
  );
  const status = db.prepare(
    `INSERT INTO student_statuses (person_id, organisation_id, state, valid_from, valid_until, created_at,
     updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, 1)`,
  );
  const card = db.prepare(
    `INSERT INTO cards (escn, person_id, issuer_id, processor_id, card_type, status, inactive_reason, issued_at,
     expires_at, display_name, chip_uid, created_at, updated_at, version)
     VALUES (?, ?, ?, NULL, ?, ?, NULL, ?, ?, ?, NULL, ?, ?, 1)`,
  );
  return (r) => {
    const personId = Number(person.run(r.esi, r.esiKey, at, at).lastInsertRowid);
    link.run(personId, BENCH_PIC, r.fullName, r.academicLevel, r.email, at, at);
    status.run(personId, BENCH_PIC, r.state, r.validFrom, r.validUntil, at, at);
    card.run(
      r.escn,
      personId,
      BENCH_PIC,
      r.cardType,
      r.cardStatus,
      r.issuedAt,
      r.expiresAt,
      r.displayName,
      at,
      at,
    );
    return { personId };
  };
}

function plainWriter(db: Database.Database, at: string): BatchWriter {
  const row = rowWriter(db, at);
  return (rows) => {
    for (const r of rows) row(r);
  };
}

function everythingWriter(db: Database.Database, at: string, runId: number): BatchWriter {
  const row = rowWriter(db, at);
  const event = db.prepare(
    "INSERT INTO outbox (id, type, subject, audience, data, occurred_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const audit = db.prepare(
    `INSERT INTO audit_log (seq, at, organisation_id, token_id, action, purpose, subject_type, subject, person_id,
     prev_hash, hash) VALUES (?, ?, ?, NULL, 'create', ?, ?, ?, ?, ?, ?)`,
  );
  const presence = db.prepare(
    `INSERT INTO connector_presence (connector, organisation_id, person_id, run_id, seen_at, missing_since)
     VALUES ('import', ?, ?, ?, ?, NULL)`,
  );
  const counts = db.prepare("UPDATE connector_runs SET rows_read = ?, created = ? WHERE id = ?");
  const head = db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  const audience = JSON.stringify([BENCH_PIC]);
  return (rows, before) => {
    const last = head.get() as { seq: number; hash: string } | undefined;
    let seq = last?.seq ?? 0;
    let prevHash = last?.hash ?? "";
    const chain = (subjectType: NewAuditEntry["subjectType"], subject: string, personId: number) => {
      const entry: NewAuditEntry = {
        at,
        organisationId: BENCH_PIC,
        tokenId: null,
        action: "create",
        purpose: subjectType === "student-status" ? "status-management" : "card-management",
        subjectType,
        subject,
        personId,
      };
      seq++;
      const hash = auditHash(prevHash, seq, entry);
      audit.run(seq, at, BENCH_PIC, entry.purpose, subjectType, subject, personId, prevHash, hash);
      prevHash = hash;
    };
    for (const r of rows) {
      const { personId } = row(r);
      const person = String(personId);
      event.run(
        randomUUID(),
        "person.linked",
        r.esi,
        audience,
        JSON.stringify({ esi: r.esi, organisation: BENCH_PIC }),
        at,
      );
      chain("person", person, personId);
      event.run(
        randomUUID(),
        "student-status.changed",
        r.esi,
        audience,
        JSON.stringify({
          esi: r.esi,
          organisation: BENCH_PIC,
          state: r.state,
          validFrom: r.validFrom,
          validUntil: r.validUntil,
        }),
        at,
      );
      chain("student-status", person, personId);
      event.run(
        randomUUID(),
        "card.created",
        r.escn,
        audience,
        JSON.stringify({
          escn: r.escn,
          issuer: BENCH_PIC,
          status: r.cardStatus,
          inactiveReason: null,
          expiresAt: r.expiresAt,
          version: 1,
        }),
        at,
      );
      chain("card", r.escn, personId);
      presence.run(BENCH_PIC, personId, runId, at);
    }
    counts.run(before + rows.length, before + rows.length, runId);
  };
}
