/**
 * The SQL source: its read-only pre-check and its options on their own, then the conformance suite on
 * PostgreSQL and on MariaDB, each in a throwaway database. The process runs in UTC+14, where a DATE read
 * through a JavaScript `Date` would move to the day before.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mapColumns } from "../../src/connectors/sources/sql/column-mapping.ts";
import { readOnlyStatement } from "../../src/connectors/sources/sql/read-only-statement.ts";
import { SqlSource, SqlSourceError, type SqlSourceOptions } from "../../src/connectors/sources/sql-source.ts";
import { createThrowawayMariadb, mariadbAvailability } from "../support/mariadb-server.ts";
import {
  adminQuery,
  postgresAvailability,
  throwawayName,
  urlForDatabase,
} from "../support/postgres-server.ts";
import { type SqlDatabaseUnderTest, sqlSourceConformance } from "./sql-source.suite.ts";

process.env["TZ"] = "Pacific/Kiritimati";

function refusal(query: string, engine: "postgres" | "mariadb"): string {
  try {
    readOnlyStatement(query, engine);
  } catch (error) {
    assert.ok(error instanceof SqlSourceError);
    assert.equal(error.reason, "not-read-only");
    return error.message;
  }
  assert.fail(`${engine} accepted ${query}`);
}

describe("the SQL source's read-only pre-check", () => {
  it("passes a read statement through, without its trailing semicolons", () => {
    for (const engine of ["postgres", "mariadb"] as const) {
      for (const [query, sent] of [
        ["SELECT esi, full_name FROM students", "SELECT esi, full_name FROM students"],
        ["  select 1 ;; ", "select 1"],
        ["WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x"],
        ["TABLE students", "TABLE students"],
        ["VALUES (1, 2);", "VALUES (1, 2)"],
        ["(SELECT 1) UNION (SELECT 2)", "(SELECT 1) UNION (SELECT 2)"],
        ["SELECT ';' AS a, 'it''s; DELETE' AS b", "SELECT ';' AS a, 'it''s; DELETE' AS b"],
        ["SELECT 1 -- ; DELETE FROM t", "SELECT 1 -- ; DELETE FROM t"],
        ["SELECT 1 /* ; DELETE FROM t */", "SELECT 1 /* ; DELETE FROM t */"],
        ["SELECT insert_row(), updated_at FROM t", "SELECT insert_row(), updated_at FROM t"],
      ]) {
        assert.equal(readOnlyStatement(query as string, engine), sent, `${engine}: ${query}`);
      }
    }
    assert.equal(
      readOnlyStatement(`SELECT "delete", $$;DELETE$$ FROM t`, "postgres"),
      `SELECT "delete", $$;DELETE$$ FROM t`,
    );
    assert.equal(
      readOnlyStatement("SELECT `delete` FROM t # ; DELETE", "mariadb"),
      "SELECT `delete` FROM t # ; DELETE",
    );
    assert.equal(readOnlyStatement("SELECT 1 /* a /* b */ ; */", "postgres"), "SELECT 1 /* a /* b */ ; */");
  });

  it("reads a bare name as the whole view or table, quoted as the engine folds it", () => {
    assert.equal(readOnlyStatement("esc_students", "postgres"), `SELECT * FROM "esc_students"`);
    assert.equal(
      readOnlyStatement(" Sis.Students_For_ESC ; ", "postgres"),
      `SELECT * FROM "sis"."students_for_esc"`,
    );
    assert.equal(readOnlyStatement(`"Mixed ""Case"""`, "postgres"), `SELECT * FROM "Mixed ""Case"""`);
    assert.equal(
      readOnlyStatement("Sis.Students_For_ESC", "mariadb"),
      "SELECT * FROM `Sis`.`Students_For_ESC`",
    );
    assert.equal(readOnlyStatement("`odd``name`", "mariadb"), "SELECT * FROM `odd``name`");
  });

  it("refuses what is not one read statement, saying why", () => {
    for (const engine of ["postgres", "mariadb"] as const) {
      assert.match(refusal("", engine), /is empty/);
      assert.match(refusal(" ; ", engine), /is empty/);
      assert.match(refusal("DELETE FROM students", engine), /DELETE is not accepted/);
      assert.match(refusal("SELECT 1; DROP TABLE students", engine), /single statement/);
      assert.match(refusal("SELECT 1; SELECT 2", engine), /single statement/);
      assert.match(refusal("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", engine), /DELETE/);
      assert.match(refusal("SELECT * INTO copy FROM students", engine), /INTO/);
      assert.match(refusal("SELECT * FROM students FOR UPDATE", engine), /UPDATE/);
      assert.match(refusal("SELECT * FROM students FOR SHARE", engine), /locking/);
      assert.match(refusal("DROP TABLE students", engine), /must be a SELECT/);
      assert.match(refusal("CALL refresh()", engine), /must be a SELECT/);
      assert.match(refusal("EXPLAIN ANALYZE SELECT 1", engine), /must be a SELECT/);
      assert.match(refusal("SELECT 'open", engine), /unterminated string/);
      assert.match(refusal("SELECT 1 /* open", engine), /unterminated comment/);
    }
    assert.match(refusal("SELECT 1 INTO OUTFILE '/tmp/students.csv'", "mariadb"), /INTO/);
    assert.match(refusal("SELECT * FROM t LOCK IN SHARE MODE", "mariadb"), /locking/);
    assert.match(refusal("SELECT 1 /*! ; DELETE FROM t */", "mariadb"), /executable comments/);
    assert.match(refusal("SELECT $a$ ; ", "postgres"), /unterminated dollar-quoted/);
  });

  it("reads strings and comments as each engine does", () => {
    // PostgreSQL's standard strings take no backslash escapes: the string ends at the second quote.
    assert.match(
      refusal(String.raw`SELECT 'a\'; DELETE FROM t; -- '`, "postgres"),
      /DELETE|single statement/,
    );
    assert.equal(
      readOnlyStatement(String.raw`SELECT 'a\'; DELETE FROM t; -- '`, "mariadb"),
      String.raw`SELECT 'a\'; DELETE FROM t; -- '`,
    );
    assert.equal(
      readOnlyStatement(String.raw`SELECT E'a\'; DELETE'`, "postgres"),
      String.raw`SELECT E'a\'; DELETE'`,
    );
    // MariaDB reads `--` as a comment only before a space: `1--1` is one minus minus one.
    assert.match(refusal("SELECT 1--1; DELETE FROM t", "mariadb"), /single statement/);
    assert.match(refusal(`SELECT "x"; DELETE FROM t`, "mariadb"), /single statement/);
  });
});

describe("the SQL source's column mapping", () => {
  const mappingError = (columns: string[], configured = {}): string => {
    try {
      mapColumns(columns, configured);
    } catch (error) {
      assert.ok(error instanceof SqlSourceError);
      assert.equal(error.reason, "columns");
      return error.message;
    }
    assert.fail("mapped");
  };

  it("matches a field's name exactly, else without regard to case, and names the column found", () => {
    const mapping = mapColumns(["RowOrder", "ESI", "FullName", "esi_source"], {});
    assert.deepEqual(mapping.positions, [
      ["esi", 1],
      ["fullName", 2],
    ]);
    assert.equal(mapping.rename("esi"), "ESI");
    const exact = mapColumns(["ESI", "esi", "fullname"], { fullName: "FULLNAME" });
    assert.deepEqual(exact.positions, [
      ["esi", 1],
      ["fullName", 2],
    ]);
  });

  it("refuses a name two columns match, and a result without the ESI or the name", () => {
    assert.match(mappingError(["Esi", "ESI", "fullName"]), /column esi \(for esi\) is ambiguous/);
    assert.match(mappingError(["esi", "esi", "fullName"]), /ambiguous/);
    assert.match(
      mappingError(["esi", "name"]),
      /no column for fullName: the result's columns are: esi, name/,
    );
    assert.match(
      mappingError(["esi", "fullName"], { email: "mail" }),
      /column mail \(for email\) is not in the result/,
    );
  });
});

describe("the SQL source's options", () => {
  const options: SqlSourceOptions = {
    engine: "postgres",
    url: "postgres://reader:s3cret-pw@db.example.org/sis",
    query: "esc_students",
  };
  const refused = (changes: Partial<SqlSourceOptions>): SqlSourceError => {
    try {
      new SqlSource({ ...options, ...changes });
    } catch (error) {
      assert.ok(error instanceof SqlSourceError);
      assert.ok(!error.message.includes("s3cret-pw"), error.message);
      return error;
    }
    assert.fail("accepted");
  };

  it("describes the database without the user or the password", () => {
    assert.equal(new SqlSource(options).description, "sql:postgres://db.example.org:5432/sis");
    assert.equal(
      new SqlSource({ ...options, engine: "mariadb", url: "mariadb://root:s3cret-pw@[::1]:3307/sis" })
        .description,
      "sql:mariadb://[::1]:3307/sis",
    );
  });

  it("refuses a URL of another engine, without a database, or not a URL, without repeating it", () => {
    assert.match(refused({ engine: "mariadb" }).message, /mariadb:\/\//);
    assert.match(refused({ url: "postgres://reader:s3cret-pw@db.example.org/" }).message, /one database/);
    assert.match(refused({ url: "//reader:s3cret-pw@db.example.org/sis" }).message, /must be a postgres URL/);
    assert.match(
      refused({ engine: "mariadb", url: "mariadb://u:s3cret-pw@h/sis?multipleStatements=true" }).message,
      /only the ssl parameter/,
    );
    assert.match(refused({ engine: "mariadb", url: "mariadb://u:s3cret-pw@h/sis?ssl=yes" }).message, /ssl/);
    assert.match(refused({ url: "postgres://reader:s3cret-pw%zz@db.example.org/sis" }).message, /%-escape/);
    assert.equal(refused({ engine: "oracle" as "postgres" }).reason, "options");
    assert.equal(refused({ engine: "constructor" as "postgres" }).reason, "options");
  });

  it("refuses a mapping to something that is not a record field, and sizes out of range", () => {
    assert.match(
      refused({ columns: { studentNumber: "x" } as SqlSourceOptions["columns"] }).message,
      /studentNumber is not a record field/,
    );
    assert.match(refused({ columns: { esi: " " } }).message, /esi must name a column/);
    assert.match(refused({ batchSize: 0 }).message, /batchSize/);
    assert.match(refused({ timeoutMs: 1.5 }).message, /timeoutMs/);
  });
});

const PASSWORD = "s3cret-pw-4711";

const postgres = await postgresAvailability();
if (postgres.skip === false) {
  sqlSourceConformance("postgres", async (): Promise<SqlDatabaseUnderTest> => {
    // A database of its own, so that views are read by their bare names; dropped afterwards.
    const name = throwawayName();
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(urlForDatabase(name));
    url.password = PASSWORD; // the test server trusts loopback: the password is sent nowhere, but is in the URL
    return {
      url: url.toString(),
      password: PASSWORD,
      exec: async (sql) => {
        await adminQuery(sql, urlForDatabase(name));
      },
      number: async (sql) => Number(Object.values((await adminQuery(sql, urlForDatabase(name))).rows[0])[0]),
      cleanup: async () => {
        await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
    };
  });
} else {
  const { skip, fail } = postgres;
  describe("SqlSource on postgres", () => {
    if (fail) {
      it("needs the PostgreSQL server (CI=true)", () => {
        throw new Error(skip);
      });
    } else {
      it("runs against PostgreSQL", { skip }, () => undefined);
    }
  });
}

const mariadb = await mariadbAvailability();
if (mariadb.skip === false) {
  sqlSourceConformance("mariadb", async (): Promise<SqlDatabaseUnderTest> => {
    const database = await createThrowawayMariadb();
    return {
      url: database.url,
      // The test server's root has no password: this one is refused, and the refusal must not show it.
      password: PASSWORD,
      exec: async (sql) => {
        await database.query(sql);
      },
      number: async (sql) => Number(Object.values(((await database.query(sql)) as object[])[0] ?? {})[0]),
      cleanup: () => database.drop(),
    };
  });
} else {
  const { skip, fail } = mariadb;
  describe("SqlSource on mariadb", () => {
    if (fail) {
      it("needs the MariaDB server (CI=true)", () => {
        throw new Error(skip);
      });
    } else {
      it("runs against MariaDB", { skip }, () => undefined);
    }
  });
}
