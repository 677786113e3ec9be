import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { SourceItem, SourceRecord } from "../../src/connectors/source-record.ts";
import { JsonlSource } from "../../src/connectors/sources/jsonl-source.ts";

const dir = mkdtempSync(join(tmpdir(), "openesc-jsonl-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(content: string | Uint8Array): string {
  files += 1;
  const path = join(dir, `students-${files}.jsonl`);
  writeFileSync(path, content);
  return path;
}

async function read(content: string | Uint8Array, maxLineBytes?: number) {
  const items: SourceItem[] = [];
  const source = new JsonlSource({ path: file(content), ...(maxLineBytes ? { maxLineBytes } : {}) });
  for await (const item of source.items()) items.push(item);
  return items;
}

const records = (items: readonly SourceItem[]): SourceRecord[] =>
  items.flatMap((i) => ("record" in i ? [i.record] : []));
const problems = (items: readonly SourceItem[]) =>
  items.flatMap((i) => ("problem" in i ? [[i.problem.origin.row, i.problem.field, i.problem.reason]] : []));

const esi = (n: number | string) => `urn:schac:personalUniqueCode:int:esi:fr:${n}`;
const line = (value: unknown) => JSON.stringify(value);

describe("the JSON Lines source", () => {
  it("reads one record per line, numbers as their text and null as not given; blank lines are skipped but counted", async () => {
    const items = await read(
      [
        line({
          esi: esi(1),
          fullName: "Renée Lefèvre",
          academicLevel: "MASTER",
          email: null,
          statusState: "enrolled",
          validFrom: "2026-09-01",
          validUntil: null,
        }),
        "",
        "   ",
        line({
          esi: esi(2),
          fullName: "Jan Kowalski",
          escn: null,
          cardType: "SMART_PASSIVE",
          issuedAt: "2026-09-01",
          expiresAt: "2030-08-31",
        }),
        line({ esi: `urn:schac:personalUniqueCode:int:esi:fr:${12345}`, fullName: 2026 }),
      ].join("\n"),
    );
    assert.deepEqual(problems(items), []);
    const [renee, jan, numbered] = records(items);
    assert.deepEqual(renee?.origin, { row: 1 });
    assert.equal(renee?.person.fullName, "Renée Lefèvre");
    assert.equal(renee?.person.email, null);
    assert.deepEqual(renee?.status, { state: "enrolled", validFrom: "2026-09-01", validUntil: null });
    assert.deepEqual(jan?.origin, { row: 4 });
    assert.equal(jan?.card?.cardType, "SMART_PASSIVE");
    assert.equal(jan?.card?.status, "ACTIVE");
    assert.equal(numbered?.person.fullName, "2026");
  });

  it("reports a line that is not JSON, or not an object, with its line number, and goes on", async () => {
    const items = await read(
      [
        line({ esi: esi(1), fullName: "Jeanne Exemple" }),
        "{not json",
        "[1, 2]",
        '"a string"',
        "null",
        '{"esi": "urn:schac:personalUniqueCode:int:esi:fr:2", "fullName": "Jan"',
        line({ esi: esi(3), fullName: "Anne Roy" }),
      ].join("\n"),
    );
    assert.deepEqual(problems(items), [
      [2, "", "is not JSON"],
      [3, "", "is not a JSON object"],
      [4, "", "is not a JSON object"],
      [5, "", "is not a JSON object"],
      [6, "", "is not JSON"],
    ]);
    assert.deepEqual(
      records(items).map((r) => r.origin.row),
      [1, 7],
    );
  });

  it("names the key at fault as a JSON pointer: a value of the wrong type, a broken rule, a control character", async () => {
    const items = await read(
      [
        line({ esi: esi(1), fullName: "Jeanne Exemple", email: true }),
        line({ esi: esi(2), fullName: "Jan Kowalski", academicLevel: { level: "MASTER" } }),
        line({ esi: esi(3), fullName: "Anne Roy", email: "not an address" }),
        line({ esi: esi(4), fullName: "Jean\nDupont" }),
        line({ esi: "nope", fullName: "Marie Curie" }),
      ].join("\n"),
    );
    assert.deepEqual(
      problems(items).map(([row, field]) => [row, field]),
      [
        [1, "/email"],
        [2, "/academicLevel"],
        [3, "/email"],
        [4, "/fullName"],
        [5, "/esi"],
      ],
    );
  });

  it("skips a line longer than the limit with a problem, and reads the next", async () => {
    const long = line({ esi: esi(1), fullName: "x".repeat(5000) });
    const items = await read([long, line({ esi: esi(2), fullName: "Jan Kowalski" })].join("\n"), 1000);
    assert.deepEqual(problems(items), [[1, "", "is longer than 1000 bytes"]]);
    assert.deepEqual(
      records(items).map((r) => r.origin.row),
      [2],
    );
  });

  it("reads CRLF lines and a byte order mark, and reports a line that is not UTF-8", async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`${line({ esi: esi(1), fullName: "Jeanne Exemple" })}\r\n`),
      Buffer.from(`{"esi": "${esi(2)}", "fullName": "Ren`),
      Buffer.from([0xe9]),
      Buffer.from(`e"}\r\n${line({ esi: esi(3), fullName: "Anne Roy" })}\r\n`),
    ]);
    const items = await read(bytes);
    assert.deepEqual(problems(items), [[2, "", "is not UTF-8 text"]]);
    assert.deepEqual(
      records(items).map((r) => [r.origin.row, r.person.fullName]),
      [
        [1, "Jeanne Exemple"],
        [3, "Anne Roy"],
      ],
    );
  });

  it("ignores an unknown key and reports it once, as a problem of row 0 naming the line it was first seen on", async () => {
    const items = await read(
      [
        line({ esi: esi(1), fullName: "Jeanne Exemple" }),
        line({ esi: esi(2), fullName: "Jan Kowalski", emial: "jan@example.org", "=1+1": "x" }),
        line({ esi: esi(3), fullName: "Anne Roy", emial: "anne@example.org" }),
      ].join("\n"),
    );
    const reason = "is not a field of the native format; its values are ignored";
    assert.deepEqual(
      items.flatMap((i) => ("problem" in i ? [i.problem] : [])),
      [
        { origin: { row: 0, locator: "line 2" }, field: "/emial", reason },
        { origin: { row: 0, locator: "line 2" }, field: "/=1+1", reason },
      ],
    );
    assert.equal(records(items).length, 3);
  });

  it("fails as a whole when the file cannot be opened, and tells its progress", async () => {
    const missing = new JsonlSource({ path: join(dir, "nowhere.jsonl") });
    await assert.rejects(async () => {
      for await (const _ of missing.items());
    }, /^Error: jsonl:.*nowhere\.jsonl: the file cannot be opened \(ENOENT\)/);
    const path = file(`${line({ esi: esi(1), fullName: "Jeanne Exemple" })}\n`);
    const source = new JsonlSource({ path });
    const size = source.progress().totalBytes;
    assert.ok(size > 0);
    for await (const _ of source.items());
    assert.deepEqual(source.progress(), { bytesRead: size, totalBytes: size });
  });
});
