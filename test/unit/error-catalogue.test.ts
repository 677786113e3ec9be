import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ERROR_CODES, type ErrorCode, OpenEscError } from "../../src/domain/errors.ts";
import { STATUS_OF_KIND, sendError } from "../../src/http/plugins/error-responses.ts";

const CATALOGUE = path.resolve(import.meta.dirname, "../../docs/errors.md");
const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

/** The catalogue's rows: `| \`CODE\` | HTTP | meaning | what to do |`. */
function documentedCodes(): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  for (const line of readFileSync(CATALOGUE, "utf8").split("\n")) {
    const match = /^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d{3})?/.exec(line);
    if (!match?.[1]) continue;
    rows.set(match[1], [...(rows.get(match[1]) ?? []), Number(match[2] ?? Number.NaN)]);
  }
  return rows;
}

/** Just enough of a Fastify reply to see what sendError answers. */
function recordingReply() {
  const seen = { status: 0, headers: {} as Record<string, string>, type: "", body: "" };
  const reply = {
    code(status: number) {
      seen.status = status;
      return reply;
    },
    header(name: string, value: string) {
      seen.headers[name.toLowerCase()] = value;
      return reply;
    },
    type(type: string) {
      seen.type = type;
      return reply;
    },
    send(body: string) {
      seen.body = body;
      return reply;
    },
  };
  return { reply: reply as unknown as FastifyReply, seen };
}

const requestTo = (url: string) => ({ url }) as FastifyRequest;

describe("the error catalogue", () => {
  it("documents every code in docs/errors.md, once, with the HTTP status it is answered with", () => {
    const rows = documentedCodes();
    for (const code of CODES) {
      const documented = rows.get(code);
      assert.ok(documented, `${code} has no row | \`${code}\` | in docs/errors.md`);
      assert.equal(documented.length, 1, `${code} has ${documented.length} rows in docs/errors.md`);
      assert.equal(
        documented[0],
        STATUS_OF_KIND[ERROR_CODES[code]],
        `${code}: HTTP status in docs/errors.md`,
      );
    }
  });

  it("documents no code that does not exist", () => {
    const stale = [...documentedCodes().keys()].filter((code) => !(code in ERROR_CODES));
    assert.deepEqual(stale, [], "rows in docs/errors.md for codes not in ERROR_CODES");
  });

  it("maps every kind to one HTTP error status, and every kind is used by some code", () => {
    const kinds = new Set(Object.values(ERROR_CODES));
    for (const kind of kinds) {
      const status = STATUS_OF_KIND[kind];
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${kind} → ${status}`);
    }
    assert.deepEqual(Object.keys(STATUS_OF_KIND).sort(), [...kinds].sort(), "kinds no code uses");
    // Only failures of the hub itself are 5xx.
    for (const code of CODES) {
      const serverSide = ERROR_CODES[code] === "internal" || ERROR_CODES[code] === "unavailable";
      assert.equal(STATUS_OF_KIND[ERROR_CODES[code]] >= 500, serverSide, code);
    }
  });

  for (const code of CODES) {
    it(`answers ${code} with its status in both shapes`, () => {
      const status = STATUS_OF_KIND[ERROR_CODES[code]];
      const error = new OpenEscError(code, "what went wrong");

      const esc = recordingReply();
      sendError(requestTo("/esc-rest/api/v2/cards"), esc.reply, error);
      assert.equal(esc.seen.status, status);
      assert.match(esc.seen.type, /^application\/json/);
      assert.deepEqual(JSON.parse(esc.seen.body), { code, message: "what went wrong" });

      const native = recordingReply();
      sendError(requestTo("/v1/cards"), native.reply, error);
      assert.equal(native.seen.status, status);
      assert.match(native.seen.type, /^application\/problem\+json/);
      const problem = JSON.parse(native.seen.body) as Record<string, unknown>;
      assert.equal(problem["status"], status);
      assert.equal(problem["code"], code);
      assert.equal(problem["type"], `urn:openesc:problem:${code}`);
      assert.notEqual(problem["title"], "Error", `no title for HTTP ${status}`);

      // As docs/errors.md says: a 401 names the scheme, a 503 says when to retry.
      for (const seen of [esc.seen, native.seen]) {
        if (status === 401) assert.match(seen.headers["www-authenticate"] ?? "", /^Bearer/);
        if (status === 503) assert.ok(seen.headers["retry-after"]);
      }
    });
  }
});
