import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import { addOrganisation, esiOf, newPic } from "./sync-stores.ts";

const run = promisify(execFile);

/** `openesc <args>` on the data folder: its exit code and output, whatever the code. */
async function openesc(dataDir: string, args: readonly string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/openesc.js", ...args], {
      encoding: "utf8",
      env: { ...process.env, OPENESC_DATA_DIR: dataDir, OPENESC_LOG_LEVEL: "silent" },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const HEADER = "esi,fullName,email,statusState,validFrom,cardType,issuedAt,expiresAt,=cmd";

function csvRow(i: number, extra: { email?: string } = {}): string {
  return `${esiOf(i)},Student ${i},${extra.email ?? `s${i}@example.org`},enrolled,2026-09-01,SMART_PASSIVE,2026-09-01,2030-08-31,x`;
}

describe("openesc import and openesc sync", () => {
  let dir: string;
  let dataDir: string;
  let pic: string;
  let otherPic: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "openesc-import-cli-"));
    dataDir = join(dir, "data");
    const storage = new SqliteStorage({ file: join(dataDir, "openesc.db") });
    await storage.init();
    pic = newPic();
    otherPic = newPic();
    await addOrganisation(storage, pic);
    await addOrganisation(storage, otherPic);
    await storage.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, lines: readonly string[]) => {
    const path = join(dir, name);
    writeFileSync(path, `${lines.join("\n")}\n`);
    return path;
  };
  const runs = () => {
    const db = new Database(join(dataDir, "openesc.db"), { readonly: true });
    try {
      return db
        .prepare(
          "SELECT connector, organisation_id, state, created, rejected FROM connector_runs ORDER BY id",
        )
        .all();
    } finally {
      db.close();
    }
  };

  it("imports a file: exit 0 with rejected rows, a summary line, and a report a spreadsheet opens safely", async () => {
    const students = file("students.csv", [
      HEADER,
      csvRow(1),
      csvRow(2, { email: "@SUM(A1)" }),
      csvRow(3),
      csvRow(1),
    ]);
    const report = join(dir, "rejected.csv");
    const result = await openesc(dataDir, ["import", students, "--organisation", pic, "--report", report]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^import: completed, 5 rows: 2 created, 0 updated, 0 unchanged, 0 missing, 0 ended, 3 rejected \(run 1, [\d.]+ s, \d+ rows\/s\)\n$/,
    );
    const lines = readFileSync(report, "utf8").trimEnd().split("\r\n");
    assert.deepEqual(lines, [
      "row,field,reason,locator",
      "0,'=cmd,is not a column of the native CSV; its values are ignored,header",
      "2,email,must be an e-mail address,",
      "4,esi,duplicate of row 1,",
    ]);
    const again = await openesc(dataDir, ["import", students, "--organisation", pic]);
    assert.match(again.stdout, /: 0 created, 0 updated, 2 unchanged, 0 missing, 0 ended, 3 rejected/);
  });

  it("a dry run writes nothing and says so", async () => {
    const students = file("dry.jsonl", [JSON.stringify({ esi: esiOf(9), fullName: "Student 9" })]);
    const before = runs();
    const result = await openesc(dataDir, ["import", students, "--organisation", pic, "--dry-run"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^import: dry run completed \(nothing written\), 1 rows: 1 created/);
    assert.deepEqual(runs(), before);
  });

  it("exits with 1 when the run fails, and records it as failed", async () => {
    const broken = file("broken.csv", ["name,mail", "Student 1,s1@example.org"]);
    const result = await openesc(dataDir, ["import", broken, "--organisation", pic]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^import: failed, 0 rows/);
    assert.match(result.stderr, /import: failed: .*the header has no column "esi"/);
    assert.equal((runs().at(-1) as { state: string }).state, "failed");
  });

  it("exits with 2 on a usage error, and writes nothing", async () => {
    const students = file("ok.csv", [HEADER, csvRow(1)]);
    const before = runs();
    const cases: [string[], RegExp][] = [
      [["import", students], /required option '--organisation <id>'/],
      [["import", join(dir, "students.txt"), "--organisation", pic], /--format must be csv or jsonl/],
      [["import", join(dir, "absent.csv"), "--organisation", pic], /absent\.csv: no such file/],
      [["import", students, "--organisation", "123456789"], /no organisation 123456789 is registered/],
      [["import", students, "--organisation", pic, "--grace-days", "soon"], /must be a whole number/],
      [["import", students, "--organisation", pic, "--data-dir", join(dir, "nowhere")], /holds no store/],
    ];
    writeFileSync(join(dir, "students.txt"), "");
    for (const [args, message] of cases) {
      const result = await openesc(dataDir, args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(runs(), before);
  });

  it("sync runs each configured connector; a bad configuration is a usage error", async () => {
    const csv = file("sis.csv", [HEADER, csvRow(20), csvRow(21)]);
    file("service.jsonl", [
      JSON.stringify({
        esi: esiOf(20),
        fullName: "Student 20",
        statusState: "enrolled",
        validFrom: "2026-09-01",
      }),
    ]);
    const config = file("sync.json", [
      JSON.stringify({
        connectors: [
          { name: "sis", organisation: pic, source: { kind: "csv", path: csv }, graceDays: 10 },
          { name: "service", organisation: otherPic, source: { kind: "jsonl", path: "service.jsonl" } },
        ],
      }),
    ]);
    const report = join(dir, "sync-rejected.csv");
    const result = await openesc(dataDir, ["sync", config, "--report", report]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^sis: completed, 3 rows: 2 created/m);
    assert.match(result.stdout, /^service: completed, 1 rows: 1 created/m);
    assert.deepEqual(readFileSync(report, "utf8").trimEnd().split("\r\n"), [
      "connector,row,field,reason,locator",
      "sis,0,'=cmd,is not a column of the native CSV; its values are ignored,header",
    ]);
    const only = await openesc(dataDir, ["sync", config, "--only", "service"]);
    assert.equal(only.code, 0, only.stderr);
    assert.match(only.stdout, /^service: completed, 1 rows: 0 created, 0 updated, 1 unchanged/);
    assert.doesNotMatch(only.stdout, /^sis:/m);

    const misconfigured = file("bad-source.json", [
      JSON.stringify({ connectors: [{ name: "db", organisation: pic, source: { kind: "sql" } }] }),
    ]);
    const failed = await openesc(dataDir, ["sync", misconfigured]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /db: the sql source cannot be set up/);
    for (const [name, content] of [
      ["not-json.json", "{"],
      ["no-connectors.json", JSON.stringify({ connectors: [] })],
      [
        "unknown-kind.json",
        JSON.stringify({ connectors: [{ name: "x", organisation: pic, source: { kind: "ftp" } }] }),
      ],
    ] as const) {
      const bad = await openesc(dataDir, ["sync", file(name, [content])]);
      assert.equal(bad.code, 2, `${name}: ${bad.stderr}`);
    }
  });
});
