import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { RecordProblem, SourceItem, SourceRecord } from "../../src/connectors/source-record.ts";
import {
  type SqlEngine,
  SqlSource,
  SqlSourceError,
  type SqlSourceOptions,
} from "../../src/connectors/sources/sql-source.ts";
import { eventually } from "../support/eventually.ts";

/** What an engine's test file hands the suite: a throwaway database, and how to write to it and drop it. */
export interface SqlDatabaseUnderTest {
  /** The database's URL, as the source gets it (with a password where the server accepts one). */
  readonly url: string;
  /** The password in `url`, or a wrong one the server refuses: no message may show it. */
  readonly password: string;
  /** Runs one setup statement in the database, as an account that may write. */
  exec(sql: string): Promise<void>;
  /** The first value of the first row of `sql`, as a number, read outside any source. */
  number(sql: string): Promise<number>;
  cleanup(): Promise<void>;
}

/** Where the two engines' SQL differs; the suite's fixtures are otherwise the same. */
interface Dialect {
  quote(name: string): string;
  readonly text: string;
  readonly timestamp: string;
  /** A table `probe` and a function `insert_row()` that inserts into it and returns an ESI. */
  readonly writingFunction: readonly string[];
  /** A query that tries to turn the transaction read-write before calling `insert_row()`. */
  readonly escapeReadOnly: readonly string[];
  readonly escapeQuery: string;
  /** A view `many_students` of `n` generated, valid rows. */
  manyStudents(n: number): string;
  /** A query that takes `seconds` to answer. */
  sleep(seconds: number): string;
  /** SQLSTATE of a missing table or view. */
  readonly missingTable: string;
  /** A query of 200 rows whose 150th fails while the database computes it. */
  readonly failsAtRow150: string;
  /** Connections to the suite's database other than the one asking (the source's, still open or not). */
  readonly otherSessions: string;
}

const ESI = "urn:schac:personalUniqueCode:int:esi:example.org:";

const DIALECTS: Readonly<Record<SqlEngine, Dialect>> = {
  postgres: {
    quote: (name) => `"${name}"`,
    text: "text",
    timestamp: "timestamp",
    writingFunction: [
      "CREATE TABLE probe (n integer)",
      `CREATE FUNCTION insert_row() RETURNS text LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO probe VALUES (1); RETURN '${ESI}w'; END $$`,
    ],
    escapeReadOnly: [],
    escapeQuery:
      "SELECT set_config('transaction_read_only', 'off', true) AS rw, insert_row() AS esi, 'W' AS fullname",
    manyStudents: (n) => `CREATE VIEW many_students AS SELECT
        '${ESI}' || n AS esi, 'Student number ' || n AS fullname, 's' || n || '@example.org' AS email,
        'enrolled' AS statusstate, DATE '2025-09-01' + (n % 30) AS validfrom, DATE '2026-08-31' AS validuntil,
        'SMART_PASSIVE' AS cardtype, DATE '2025-09-01' AS issuedat, DATE '2029-08-31' AS expiresat
      FROM generate_series(1, ${n}) AS g(n)`,
    sleep: (seconds) => `SELECT pg_sleep(${seconds})::text AS esi, 'Slow' AS fullname`,
    missingTable: "42P01",
    failsAtRow150: `SELECT '${ESI}' || n AS esi, (1 / (n - 150))::text AS fullname FROM generate_series(1, 200) AS g(n)`,
    otherSessions:
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
  },
  mariadb: {
    quote: (name) => `\`${name}\``,
    text: "varchar(255)",
    timestamp: "datetime",
    writingFunction: [
      "CREATE TABLE probe (n integer) ENGINE=InnoDB",
      `CREATE FUNCTION insert_row() RETURNS varchar(255) MODIFIES SQL DATA
         BEGIN INSERT INTO probe VALUES (1); RETURN '${ESI}w'; END`,
    ],
    escapeReadOnly: [
      `CREATE FUNCTION make_read_write() RETURNS integer MODIFIES SQL DATA
         BEGIN SET SESSION TRANSACTION READ WRITE; RETURN 1; END`,
    ],
    escapeQuery: "SELECT make_read_write() AS rw, insert_row() AS esi, 'W' AS fullName",
    manyStudents: (n) => `CREATE VIEW many_students AS SELECT
        CONCAT('${ESI}', seq) AS esi, CONCAT('Student number ', seq) AS fullName,
        CONCAT('s', seq, '@example.org') AS email, 'enrolled' AS statusState,
        DATE '2025-09-01' + INTERVAL (seq % 30) DAY AS validFrom, DATE '2026-08-31' AS validUntil,
        'SMART_PASSIVE' AS cardType, DATE '2025-09-01' AS issuedAt, DATE '2029-08-31' AS expiresAt
      FROM seq_1_to_${n}`,
    sleep: (seconds) => `SELECT SLEEP(${seconds}) AS esi, 'Slow' AS fullName`,
    missingTable: "42S02",
    // MariaDB divides by zero into NULL; a subquery of two rows where one value is wanted is an error.
    failsAtRow150: `SELECT CONCAT('${ESI}', seq) AS esi, IF(seq = 150, (SELECT seq FROM seq_1_to_2), 'Name') AS fullName
      FROM seq_1_to_200`,
    otherSessions:
      "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
  },
};

const MANY = 200_000;

/** `gc()`, to measure what the source keeps rather than garbage not yet collected. */
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function collect(source: SqlSource): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.items()) items.push(item);
  return items;
}

async function failure(work: () => unknown): Promise<SqlSourceError> {
  try {
    await work();
  } catch (error) {
    assert.ok(error instanceof SqlSourceError, `expected an SqlSourceError, got ${inspect(error)}`);
    return error;
  }
  assert.fail("expected the source to fail");
}

const records = (items: readonly SourceItem[]) =>
  items.flatMap((item) => ("record" in item ? [item.record] : []));
const problems = (items: readonly SourceItem[]) =>
  items.flatMap((item) => ("problem" in item ? [item.problem] : []));

/** A TCP server that accepts connections and never says a word: a database that hangs. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  return {
    port: address.port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * What an SQL source must do on every engine it supports. Each engine's database gets the same fixtures:
 * a table of students with mixed-case column names, a view over it with other names, a writing function,
 * and a view of 200,000 generated rows.
 */
export function sqlSourceConformance(engine: SqlEngine, setup: () => Promise<SqlDatabaseUnderTest>): void {
  const dialect = DIALECTS[engine];
  const q = dialect.quote;

  describe(`SqlSource on ${engine}`, () => {
    let db: SqlDatabaseUnderTest;
    const source = (options: Partial<SqlSourceOptions> & { query: string }) =>
      new SqlSource({ engine, url: db.url, timeoutMs: 10_000, ...options });
    const ordered = `SELECT * FROM ${q("Students")} ORDER BY ${q("RowOrder")}`;

    before(async () => {
      db = await setup();
      const t = dialect.text;
      await db.exec(`CREATE TABLE ${q("Students")} (
        ${q("RowOrder")} integer, ${q("ESI")} ${t}, ${q("FullName")} ${t}, ${q("Email")} ${t},
        ${q("AcademicLevel")} ${t}, ${q("StatusState")} ${t}, ${q("ValidFrom")} date, ${q("ValidUntil")} date,
        ${q("CardType")} ${t}, ${q("IssuedAt")} ${dialect.timestamp}, ${q("ExpiresAt")} date)`);
      await db.exec(`INSERT INTO ${q("Students")} VALUES
        (1, '${ESI}ada', 'Ada Lovelace', 'ada@example.org', 'MASTER', 'enrolled', '2025-09-01', '2026-08-31',
            'SMART_PASSIVE', '2025-12-31 23:30:00', '2029-12-31'),
        (2, '${ESI}emile', 'Émile Zola', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, 'student 42', 'Bad Row', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (4, '${ESI}leap', 'Leap Day', 'leap@example.org', NULL, 'ended', '2024-02-29', NULL,
            NULL, NULL, NULL)`);
      await db.exec(`CREATE VIEW esc_students AS SELECT ${q("ESI")} AS student_esi,
        ${q("FullName")} AS display_name, ${q("StatusState")} AS state, ${q("ValidFrom")} AS enrolled_from
        FROM ${q("Students")}`);
      for (const sql of [...dialect.writingFunction, ...dialect.escapeReadOnly]) await db.exec(sql);
      await db.exec(dialect.manyStudents(MANY));
    });
    after(() => db?.cleanup());

    it("reads a table whose column names differ from the fields only in case", async () => {
      const items = await collect(source({ query: ordered }));
      assert.deepEqual(
        records(items).map((record) => record.origin.row),
        [1, 2, 4],
      );
      const [ada, emile, leap] = records(items) as [SourceRecord, SourceRecord, SourceRecord];
      assert.deepEqual(ada, {
        origin: { row: 1 },
        person: {
          esi: `${ESI}ada`,
          fullName: "Ada Lovelace",
          academicLevel: "MASTER",
          email: "ada@example.org",
        },
        status: { state: "enrolled", validFrom: "2025-09-01", validUntil: "2026-08-31" },
        card: {
          escn: null,
          cardType: "SMART_PASSIVE",
          status: "ACTIVE",
          inactiveReason: null,
          issuedAt: "2025-12-31",
          expiresAt: "2029-12-31",
          displayName: null,
        },
      });
      // NULL is "not given": no e-mail, no status, no card, rather than the text "null" or an empty value.
      assert.deepEqual(emile.person, {
        esi: `${ESI}emile`,
        fullName: "Émile Zola",
        academicLevel: null,
        email: null,
      });
      assert.equal(emile.status, null);
      assert.equal(emile.card, null);
      assert.deepEqual(leap.status, { state: "ended", validFrom: "2024-02-29", validUntil: null });
    });

    it("keeps every date on its day in a process far east of UTC", async () => {
      // UTC+14: a DATE read as a local midnight and written out in UTC would land on the day before.
      assert.equal(
        new Date(2025, 0, 1).getTimezoneOffset(),
        -14 * 60,
        "the test file sets TZ=Pacific/Kiritimati",
      );
      const items = await collect(source({ query: ordered }));
      const dates = records(items).map((record) => [
        record.status?.validFrom,
        record.status?.validUntil,
        record.card?.issuedAt,
        record.card?.expiresAt,
      ]);
      assert.deepEqual(dates, [
        ["2025-09-01", "2026-08-31", "2025-12-31", "2029-12-31"],
        [undefined, undefined, undefined, undefined],
        ["2024-02-29", null, undefined, undefined],
      ]);
    });

    it("reports a malformed ESI as a problem of its row, naming the column, and keeps the other rows", async () => {
      const items = await collect(source({ query: ordered }));
      assert.equal(items.length, 4);
      const [problem] = problems(items) as [RecordProblem];
      assert.equal(problems(items).length, 1);
      assert.deepEqual(
        { ...problem, reason: typeof problem.reason },
        {
          origin: { row: 3 },
          field: "ESI",
          reason: "string",
        },
      );
      assert.ok(
        !problem.reason.includes("student 42"),
        "an ESI is personal data: the reason does not repeat it",
      );
    });

    it("reads a view named bare, through a column mapping, naming its columns in problems", async () => {
      const items = await collect(
        source({
          query: "esc_students",
          columns: {
            esi: "student_esi",
            fullName: "DISPLAY_NAME",
            statusState: "state",
            validFrom: "enrolled_from",
          },
        }),
      );
      const byEsi = records(items)
        .map((record) => [record.person.esi, record.person.fullName, record.status?.validFrom ?? null])
        .sort();
      assert.deepEqual(byEsi, [
        [`${ESI}ada`, "Ada Lovelace", "2025-09-01"],
        [`${ESI}emile`, "Émile Zola", null],
        [`${ESI}leap`, "Leap Day", "2024-02-29"],
      ]);
      assert.deepEqual(
        problems(items).map((problem) => problem.field),
        ["student_esi"],
      );
    });

    it("fails before the first row when a configured column is not in the result, listing the columns", async () => {
      const error = await failure(() =>
        collect(source({ query: "esc_students", columns: { esi: "student_esi", fullName: "name" } })),
      );
      assert.equal(error.reason, "columns");
      assert.match(error.message, /column name \(for fullName\) is not in the result/);
      assert.match(error.message, /student_esi, display_name, state, enrolled_from/);
    });

    it("refuses writes and several statements before connecting", async () => {
      for (const query of [
        `DELETE FROM ${q("Students")}`,
        `SELECT 1; DROP TABLE ${q("Students")}`,
        `WITH d AS (DELETE FROM ${q("Students")} RETURNING *) SELECT * FROM d`,
        `UPDATE ${q("Students")} SET ${q("Email")} = NULL`,
      ]) {
        const error = await failure(() => source({ query }));
        assert.equal(error.reason, "not-read-only", query);
      }
      assert.equal(await db.number(`SELECT COUNT(*) FROM ${q("Students")}`), 4);
    });

    it("runs the query in a read-only transaction: a function that writes is refused by the database", async () => {
      const error = await failure(() =>
        collect(source({ query: "SELECT insert_row() AS esi, 'W' AS fullName" })),
      );
      assert.equal(error.reason, "write-refused");
      assert.equal(error.sqlState, "25006");
      assert.match(error.message, /read-only transaction/);
      assert.equal(await db.number("SELECT COUNT(*) FROM probe"), 0);
    });

    it("does not let the query turn its transaction read-write", async () => {
      const error = await failure(() => collect(source({ query: dialect.escapeQuery })));
      assert.notEqual(error.reason, "not-read-only", "the database refused it, not the pre-check");
      assert.equal(await db.number("SELECT COUNT(*) FROM probe"), 0);
    });

    it(`streams ${MANY.toLocaleString("en")} rows with flat memory`, async (t) => {
      gc();
      const start = process.memoryUsage().heapUsed;
      let peak = start;
      let count = 0;
      const began = performance.now();
      for await (const item of source({ query: "many_students" }).items()) {
        assert.ok("record" in item);
        count += 1;
        if (count % 20_000 === 0) {
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed);
        }
      }
      const seconds = (performance.now() - began) / 1000;
      assert.equal(count, MANY);
      const growth = (peak - start) / 1024 / 1024;
      t.diagnostic(
        `${engine}: ${MANY} rows in ${seconds.toFixed(2)} s, ${Math.round(MANY / seconds)} rows/s, heap +${growth.toFixed(1)} MB`,
      );
      assert.ok(growth < 50, `heap grew by ${growth.toFixed(1)} MB`);
    });

    it("ends the query and its connection when the reader stops early", async () => {
      let count = 0;
      for await (const _ of source({ query: "many_students", batchSize: 100 }).items()) {
        count += 1;
        if (count === 5) break;
      }
      assert.equal(count, 5);
      await eventually(async () => assert.equal(await db.number(dialect.otherSessions), 0), 3000);
    });

    it("fails as a whole when a row fails while the database computes it, after the rows before it", async () => {
      let read = 0;
      const error = await failure(async () => {
        for await (const item of source({ query: dialect.failsAtRow150, batchSize: 100 }).items()) {
          assert.ok("record" in item);
          read += 1;
        }
      });
      assert.equal(error.reason, "query-failed");
      assert.ok(read < 150, `${read} rows read`);
      await eventually(async () => assert.equal(await db.number(dialect.otherSessions), 0), 3000);
    });

    it("fails as a whole, with the database's reason, on a query the database refuses", async () => {
      const error = await failure(() => collect(source({ query: "SELECT * FROM no_such_view" })));
      assert.equal(error.reason, "query-failed");
      assert.equal(error.sqlState, dialect.missingTable);
      assert.match(error.message, /no_such_view/);
    });

    it("fails with a timeout when the database takes longer than timeoutMs", async () => {
      const began = performance.now();
      const error = await failure(() => collect(source({ query: dialect.sleep(5), timeoutMs: 500 })));
      assert.equal(error.reason, "timeout");
      assert.ok(performance.now() - began < 3000);
    });

    it("fails within the timeout when the server does not answer, without the password", async () => {
      const silent = await silentServer();
      try {
        const url = new URL(db.url);
        url.port = String(silent.port);
        url.password = db.password;
        const began = performance.now();
        const error = await failure(() =>
          collect(source({ url: url.toString(), query: "students", timeoutMs: 1000 })),
        );
        assert.equal(error.reason, "connection-failed");
        assert.ok(performance.now() - began < 2500, "within the timeout");
        assert.ok(!inspect(error).includes(db.password));
      } finally {
        await silent.close();
      }
    });

    it("fails at once when nothing listens", async () => {
      const closed = await silentServer();
      await closed.close();
      const url = new URL(db.url);
      url.port = String(closed.port);
      const began = performance.now();
      const error = await failure(() => collect(source({ url: url.toString(), query: "students" })));
      assert.equal(error.reason, "connection-failed");
      assert.ok(performance.now() - began < 2000, "without waiting for the timeout");
      assert.match(error.message, /^cannot connect to sql:/);
    });

    it("never shows the password, in the description or an error", async () => {
      const url = new URL(db.url);
      url.password = db.password;
      const withPassword = source({ url: url.toString(), query: "SELECT * FROM no_such_view" });
      assert.ok(!withPassword.description.includes(db.password));
      assert.match(
        withPassword.description,
        new RegExp(`^sql:${engine}://127\\.0\\.0\\.1:\\d+/openesc_test_`),
      );
      const error = await failure(() => collect(withPassword));
      for (const shown of [
        error.message,
        String(error.stack),
        inspect(error, { depth: 10 }),
        JSON.stringify(error),
      ]) {
        assert.ok(!shown.includes(db.password), shown);
      }
    });
  });
}
