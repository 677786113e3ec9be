import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { parseEscn } from "../../src/domain/escn.ts";

const run = promisify(execFile);
const openesc = (...args: string[]) =>
  run(process.execPath, ["bin/openesc.js", ...args], { encoding: "utf8" });

describe("the openesc command", () => {
  it("generates distinct ESCNs carrying the prefix and the PIC", async () => {
    const { stdout } = await openesc(
      "escn",
      "generate",
      "--pic",
      "999888777",
      "--prefix",
      "042",
      "--count",
      "5",
    );
    const lines = stdout.trim().split("\n");
    assert.equal(lines.length, 5);
    assert.equal(new Set(lines).size, 5);
    for (const line of lines) assert.ok(parseEscn(line).endsWith("-042999888777"));
  });

  it("explains a refused ESCN in one line and exits with 2", async () => {
    await assert.rejects(
      openesc("escn", "inspect", "3e506370-826a-403d-bf76-001000000001"),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr, /^openesc: escn: version must be 1/);
        assert.doesNotMatch(error.stderr, /\n\s+at /);
        return true;
      },
    );
  });

  it("shows the form and matching key of an ESI", async () => {
    const { stdout } = await openesc("esi", "URN:SCHAC:personalUniqueCode:int:esi:ES:12345678X");
    assert.deepEqual(JSON.parse(stdout), {
      form: "national",
      scope: "ES",
      key: "urn:schac:personaluniquecode:int:esi:es:12345678x",
    });
  });

  it("refuses a bad configuration naming the variable", async () => {
    await assert.rejects(
      run(process.execPath, ["bin/openesc.js", "config"], {
        encoding: "utf8",
        env: { ...process.env, PORT: "eighty" },
      }),
      (error: { code: number; stderr: string }) =>
        error.code === 2 && /PORT must be a whole number/.test(error.stderr),
    );
  });
});
