/**
 * `POST /v1/imports`: a file uploaded as multipart/form-data, streamed to disk and run through the sync
 * engine for the token's organisation; and the runs it leaves, read through `/v1/connectors/runs`. The
 * well-formed bodies are built by the platform's own FormData (undici), not by code of ours.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { CARD_BUREAU, OTHER_UNIVERSITY, UNIVERSITY } from "../support/fixtures.ts";
import { ADMIN_TOKEN, startTestHub, type TestHub } from "../support/test-hub.ts";

const A = UNIVERSITY.id;
const HEADER = "esi,fullName,email,statusState,validFrom,validUntil,cardType,issuedAt,expiresAt";
const esiOf = (tag: string, i: number) => `urn:schac:personalUniqueCode:int:esi:fr:${tag}-${i}`;
const csvRow = (tag: string, i: number, name = `Student ${i}`) =>
  `${esiOf(tag, i)},${name},s${i}@example.org,enrolled,2026-09-01,2027-08-31,SMART_PASSIVE,2026-09-01,2030-08-31`;
const csv = (tag: string, rows: number, extra: readonly string[] = []) =>
  `${[HEADER, ...Array.from({ length: rows }, (_, i) => csvRow(tag, i + 1)), ...extra].join("\n")}\n`;
const jsonl = (tag: string, rows: number) =>
  `${Array.from({ length: rows }, (_, i) =>
    JSON.stringify({
      esi: esiOf(tag, i + 1),
      fullName: `Student ${i + 1}`,
      statusState: "enrolled",
      validFrom: "2026-09-01",
    }),
  ).join("\n")}\n`;

interface Part {
  readonly name: string;
  readonly content: string | Buffer;
  readonly filename?: string;
  readonly type?: string;
}

/** A multipart body as a browser or `curl -F` sends it, made by the platform's FormData. */
async function form(parts: readonly Part[]): Promise<{ payload: Buffer; type: string }> {
  const data = new FormData();
  for (const part of parts) {
    if (part.filename === undefined && part.type === undefined) data.append(part.name, String(part.content));
    else {
      const blob = new Blob([part.content], part.type === undefined ? {} : { type: part.type });
      data.append(part.name, blob, part.filename ?? "blob");
    }
  }
  const encoded = new Response(data);
  return {
    payload: Buffer.from(await encoded.arrayBuffer()),
    type: encoded.headers.get("content-type") ?? "",
  };
}

const file = (content: string | Buffer, filename = "students.csv", type = "text/csv"): Part => ({
  name: "file",
  content,
  filename,
  type,
});

describe("POST /v1/imports", () => {
  let hub: TestHub;
  let uni: string;
  let other: string;
  let bureau: string;

  async function upload(
    parts: readonly Part[],
    options: { token?: string; query?: string; on?: TestHub } = {},
  ): Promise<LightMyRequestResponse> {
    const { payload, type } = await form(parts);
    return (options.on ?? hub).request({
      method: "POST",
      url: `/v1/imports${options.query ? `?${options.query}` : ""}`,
      token: options.token ?? uni,
      headers: { "content-type": type },
      payload,
    });
  }

  const expectStatus = (res: LightMyRequestResponse, status: number, code?: string) => {
    assert.equal(res.statusCode, status, res.body);
    if (code !== undefined) assert.equal(res.json().code, code, res.body);
  };
  const runsOf = async (token = uni, query = "") =>
    (await hub.request({ method: "GET", url: `/v1/connectors/runs?limit=100${query}`, token })).json<{
      items: { id: number; connector: string; state: string }[];
    }>().items;
  const person = (esi: string, token = uni) =>
    hub.request({ method: "GET", url: `/v1/persons/${encodeURIComponent(esi)}`, token });
  const status = (esi: string) =>
    hub.request({ method: "GET", url: `/v1/student-statuses/${A}/${encodeURIComponent(esi)}`, token: uni });

  before(async () => {
    hub = await startTestHub();
    uni = await hub.onboard(UNIVERSITY);
    other = await hub.onboard(OTHER_UNIVERSITY);
    bureau = await hub.onboard(CARD_BUREAU);
  });
  after(() => hub.close());

  it("imports a CSV: students, statuses and cards created, counted, and the run recorded", async () => {
    const res = await upload([file(csv("csv", 3))]);
    expectStatus(res, 200);
    const body = res.json();
    assert.equal(body.state, "completed");
    assert.equal(body.dryRun, false);
    assert.deepEqual(
      [body.rows, body.created, body.updated, body.unchanged, body.missing, body.ended, body.rejected],
      [3, 3, 0, 0, 0, 0, 0],
    );
    assert.deepEqual(body.problems, []);
    assert.equal(body.problemsTruncated, false);
    assert.equal(typeof body.runId, "number");
    const read = await person(esiOf("csv", 2));
    expectStatus(read, 200);
    assert.equal(read.json().links[0].fullName, "Student 2");
    assert.equal((await status(esiOf("csv", 2))).json().state, "enrolled");

    const run = await hub.request({ method: "GET", url: `/v1/connectors/runs/${body.runId}`, token: uni });
    expectStatus(run, 200);
    assert.deepEqual(
      { ...run.json<object>(), startedAt: "", finishedAt: "" },
      {
        id: body.runId,
        connector: "upload",
        source: "upload:csv",
        state: "completed",
        startedAt: "",
        finishedAt: "",
        rows: 3,
        created: 3,
        updated: 0,
        unchanged: 0,
        missing: 0,
        ended: 0,
        rejected: 0,
        error: null,
      },
    );
    assert.equal((await runsOf())[0]?.id, body.runId);
    // The audit trail names the token that uploaded the file.
    const trail = await hub.request({ method: "GET", url: "/v1/audit?limit=100", token: uni });
    const created = trail
      .json<{ items: { action: string; subjectType: string; tokenId: string | null }[] }>()
      .items.filter((e) => e.action === "create");
    assert.deepEqual(
      ["person", "student-status", "card"].map((t) => created.filter((e) => e.subjectType === t).length),
      [3, 3, 3],
    );
    assert.ok(created.every((e) => e.tokenId !== null));
    // Nothing of the upload is left on disk.
    assert.deepEqual(readdirSync(join(hub.dataDir, "uploads")), []);
  });

  it("writes nothing the second time the same file comes", async () => {
    const events = await hub.services.storage.read.outbox.latestPosition();
    const body = (await upload([file(csv("csv", 3))])).json();
    assert.deepEqual([body.created, body.updated, body.unchanged], [0, 0, 3]);
    assert.equal(await hub.services.storage.read.outbox.latestPosition(), events);
  });

  it("imports JSON Lines, by the part's content type or by the file's name", async () => {
    const byType = await upload([file(jsonl("jsonl", 2), "export", "application/jsonl")]);
    expectStatus(byType, 200);
    assert.equal(byType.json().created, 2);
    const byName = await upload([file(jsonl("ndjson", 2), "export.ndjson", "application/octet-stream")]);
    expectStatus(byName, 200);
    assert.equal(byName.json().created, 2);
    const byField = await upload([
      { name: "format", content: "jsonl" },
      file(jsonl("field", 1), "export.txt", "text/plain"),
    ]);
    expectStatus(byField, 200);
    assert.equal(byField.json().created, 1);
    const run = await hub.request({
      method: "GET",
      url: `/v1/connectors/runs/${byType.json().runId}`,
      token: uni,
    });
    assert.equal(run.json().source, "upload:jsonl");
  });

  it("in a dry run, compares and reports, and writes nothing, not even the run", async () => {
    const runs = await runsOf();
    const events = await hub.services.storage.read.outbox.latestPosition();
    const res = await upload([file(csv("dry", 2))], { query: "dryRun=true" });
    expectStatus(res, 200);
    assert.equal(res.json().dryRun, true);
    assert.equal(res.json().runId, null);
    assert.equal(res.json().created, 2);
    expectStatus(await person(esiOf("dry", 1)), 404);
    assert.deepEqual(await runsOf(), runs);
    assert.equal(await hub.services.storage.read.outbox.latestPosition(), events);
  });

  it("reports a bad row with its row, column and reason, keeps the good ones, and shows no value", async () => {
    const bad = `${esiOf("bad", 2)},=HYPERLINK("x"),not-an-address,enrolled,2026-09-01,,SMART_PASSIVE,2026-09-01,2030-08-31`;
    const text = [HEADER, csvRow("bad", 1), bad, csvRow("bad", 3)].join("\n");
    const res = await upload([file(text)]);
    expectStatus(res, 200);
    const body = res.json();
    assert.deepEqual([body.created, body.rejected], [2, 1]);
    assert.deepEqual(body.problems, [
      { row: 2, field: "email", reason: "must be an e-mail address", locator: null },
    ]);
    assert.doesNotMatch(res.body, /HYPERLINK|not-an-address|bad-2/);
    expectStatus(await person(esiOf("bad", 3)), 200);
  });

  it("keeps the first 1,000 problems and says that there were more", async () => {
    const rows = Array.from({ length: 1002 }, (_, i) => `${esiOf("many", i)},,,,,,,,`);
    const body = (await upload([file([HEADER, ...rows].join("\n"))])).json();
    assert.equal(body.rejected, 1002);
    assert.equal(body.problems.length, 1000);
    assert.equal(body.problemsTruncated, true);
  });

  it("ends no one: a student missing from an upload stays as they were, and no one is remembered", async () => {
    await upload([file(csv("stay", 2))]);
    const res = await upload([file(csv("stay", 1))]);
    assert.deepEqual([res.json().missing, res.json().ended], [0, 0]);
    assert.equal((await status(esiOf("stay", 2))).json().state, "enrolled");
    assert.deepEqual(await hub.services.storage.read.connectorPresence.list("upload", A, 0, 10), []);
  });

  it("keeps the batches of a file that breaks off, and fails the run with a reason that names no path", async () => {
    const text = `${csv("cut", 501)}${esiOf("cut", 502)},"Open quote\n`;
    const res = await upload([file(text)]);
    expectStatus(res, 200);
    const body = res.json();
    assert.equal(body.state, "failed");
    assert.equal(body.created, 500);
    assert.match(body.error, /^upload:csv: /);
    assert.ok(!body.error.includes(hub.dataDir), body.error);
    expectStatus(await person(esiOf("cut", 500)), 200);
    const run = await hub.request({ method: "GET", url: `/v1/connectors/runs/${body.runId}`, token: uni });
    assert.equal(run.json().state, "failed");
    assert.equal(run.json().error, body.error);
  });

  it("allows two uploads of one organisation at once: both complete, and each student is there once", async () => {
    const [first, second] = await Promise.all([
      upload([file(csv("twice", 40))]),
      upload([file(csv("twice", 40))]),
    ]);
    expectStatus(first, 200);
    expectStatus(second, 200);
    assert.deepEqual([first.json().state, second.json().state], ["completed", "completed"]);
    assert.equal(first.json().created + second.json().created, 40);
    const read = await person(esiOf("twice", 40));
    assert.equal(read.json().links.length, 1);
  });

  describe("refuses, writing nothing", () => {
    let runs: unknown[];
    before(async () => {
      runs = await runsOf();
    });
    after(async () => {
      assert.deepEqual(await runsOf(), runs, "a refused upload recorded a run");
      assert.deepEqual(readdirSync(join(hub.dataDir, "uploads")), []);
    });

    it("415 for a body that is not multipart", async () => {
      for (const [type, payload] of [
        ["application/json", JSON.stringify({ file: csv("json", 1) })],
        ["text/csv", csv("raw", 1)],
        ["application/x-www-form-urlencoded", "file=x"],
      ] as const) {
        const res = await hub.request({
          method: "POST",
          url: "/v1/imports",
          token: uni,
          headers: { "content-type": type },
          payload,
        });
        expectStatus(res, 415, "MEDIA_TYPE_UNSUPPORTED");
      }
      expectStatus(
        await hub.request({ method: "POST", url: "/v1/imports", token: uni }),
        415,
        "MEDIA_TYPE_UNSUPPORTED",
      );
    });

    it("400 naming the part when there is no file part, or the file is in another part", async () => {
      const none = await upload([{ name: "format", content: "csv" }]);
      expectStatus(none, 400, "VALIDATION_FAILED");
      assert.equal(none.json().errors[0].field, "file");
      const elsewhere = await upload([{ ...file(csv("x", 1)), name: "students" }]);
      expectStatus(elsewhere, 400, "VALIDATION_FAILED");
      assert.equal(elsewhere.json().errors[0].field, "students");
    });

    it("400 for a format that is unknown or cannot be told", async () => {
      expectStatus(await upload([file(csv("x", 1))], { query: "format=xml" }), 400, "VALIDATION_FAILED");
      const field = await upload([{ name: "format", content: "xlsx" }, file(csv("x", 1))]);
      expectStatus(field, 400, "VALIDATION_FAILED");
      assert.equal(field.json().errors[0].field, "format");
      const untold = await upload([file(csv("x", 1), "students.txt", "application/octet-stream")]);
      expectStatus(untold, 400, "VALIDATION_FAILED");
      assert.equal(untold.json().errors[0].field, "format");
    });

    it("400 with the source's reason for a file that is not CSV at all", async () => {
      const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
      for (const content of [png, '{"esi": "x"}\n', ""]) {
        const res = await upload([file(content)]);
        expectStatus(res, 400, "VALIDATION_FAILED");
        const issue = res.json().errors[0];
        assert.equal(issue.field, "file");
        assert.match(issue.reason, /header|empty/);
        assert.ok(!res.body.includes(hub.dataDir), res.body);
      }
    });

    it("400 for a form that is not well formed", async () => {
      const { payload, type } = await form([file(csv("broken", 2))]);
      for (const [body, contentType] of [
        [payload.subarray(0, payload.length - 30), type],
        [Buffer.from("no boundary here"), type],
        [payload, "multipart/form-data"],
        [payload, "multipart/form-data; boundary="],
      ] as const) {
        const res = await hub.request({
          method: "POST",
          url: "/v1/imports",
          token: uni,
          headers: { "content-type": contentType },
          payload: body,
        });
        assert.ok(res.statusCode === 400, `${contentType}: ${res.statusCode} ${res.body}`);
      }
      expectStatus(await person(esiOf("broken", 1)), 404);
    });

    it("403 for an organisation that has no students of its own, or a token without the write scopes", async () => {
      expectStatus(await upload([file(csv("x", 1))], { token: bureau }), 403, "FORBIDDEN");
      expectStatus(await upload([file(csv("x", 1))], { token: ADMIN_TOKEN }), 403, "FORBIDDEN");
      const reader = await hub.request({
        method: "POST",
        url: `/v1/organisations/${A}/tokens`,
        token: ADMIN_TOKEN,
        payload: { name: "reader", scopes: ["persons:read", "persons:write", "statuses:write"] },
      });
      const res = await upload([file(csv("x", 1))], { token: reader.json().token });
      expectStatus(res, 403, "SCOPE_MISSING");
      assert.match(res.json().detail, /cards:write/);
    });

    it("401 without a token, before the body is read", async () => {
      const { payload, type } = await form([file(csv("x", 1))]);
      const res = await hub.request({
        method: "POST",
        url: "/v1/imports",
        headers: { "content-type": type },
        payload,
      });
      expectStatus(res, 401, "UNAUTHENTICATED");
    });
  });

  describe("limits", () => {
    let small: TestHub;
    let token: string;
    before(async () => {
      small = await startTestHub({ env: { OPENESC_IMPORT_MAX_BYTES: "1024" } });
      token = await small.onboard(UNIVERSITY);
    });
    after(() => small.close());

    const sized = (bytes: number) => {
      const head = `${HEADER}\n${csvRow("size", 1)}\n`;
      return head + "\n".repeat(bytes - Buffer.byteLength(head));
    };

    it("413 for a file larger than OPENESC_IMPORT_MAX_BYTES, writing nothing, and takes one of exactly that size", async () => {
      const res = await upload([file(sized(1025))], { token, on: small });
      expectStatus(res, 413, "BODY_TOO_LARGE");
      assert.equal(res.json().errors[0].field, "file");
      expectStatus(
        await small.request({
          method: "GET",
          url: `/v1/persons/${encodeURIComponent(esiOf("size", 1))}`,
          token,
        }),
        404,
      );
      assert.equal((await small.services.storage.read.connectorRuns.find(1)) ?? null, null);
      const uploads = join(small.dataDir, "uploads");
      assert.deepEqual(existsSync(uploads) ? readdirSync(uploads) : [], []);
      const exact = await upload([file(sized(1024))], { token, on: small });
      expectStatus(exact, 200);
      assert.equal(exact.json().created, 1);
    });

    it("reads a large file as it comes, far beyond the hub's body limit", async () => {
      // 1 MiB is the body limit of the main hub; the file is three times that.
      const rows = Math.ceil((3 * 1_048_576) / csvRow("big", 1).length);
      const res = await upload([file(csv("big", rows))], { query: "dryRun=true" });
      expectStatus(res, 200);
      assert.equal(res.json().rows, rows);
    });
  });

  describe("the runs, behind the tenant wall", () => {
    it("lists only the caller's runs, newest first, by keyset pages, one connector's on demand", async () => {
      const theirs = await upload([file(csv("b-side", 1))], { token: other });
      expectStatus(theirs, 200);
      const mine = await runsOf();
      assert.ok(mine.length >= 3);
      assert.ok(!mine.some((r) => r.id === theirs.json().runId));
      assert.deepEqual(
        mine.map((r) => r.id),
        [...mine.map((r) => r.id)].sort((a, b) => b - a),
      );
      assert.ok(mine.every((r) => r.connector === "upload"));
      assert.deepEqual(await runsOf(uni, "&connector=sis"), []);
      const first = await hub.request({ method: "GET", url: "/v1/connectors/runs?limit=2", token: uni });
      const next = first.json().next;
      assert.ok(typeof next === "string");
      const second = await hub.request({
        method: "GET",
        url: `/v1/connectors/runs?limit=2&after=${next}`,
        token: uni,
      });
      assert.deepEqual(
        [...first.json().items, ...second.json().items].map((r: { id: number }) => r.id),
        mine.slice(0, 4).map((r) => r.id),
      );
      expectStatus(
        await hub.request({ method: "GET", url: "/v1/connectors/runs?after=nonsense", token: uni }),
        400,
        "CURSOR_INVALID",
      );
    });

    it("answers another organisation's run exactly as one that does not exist", async () => {
      const theirs = (await runsOf(other))[0];
      assert.ok(theirs);
      const held = await hub.request({ method: "GET", url: `/v1/connectors/runs/${theirs.id}`, token: uni });
      const unknown = await hub.request({ method: "GET", url: "/v1/connectors/runs/999999999", token: uni });
      const garbage = await hub.request({ method: "GET", url: "/v1/connectors/runs/abc", token: uni });
      expectStatus(held, 404, "CONNECTOR_RUN_NOT_FOUND");
      assert.equal(held.body, unknown.body);
      assert.equal(garbage.body, unknown.body);
    });

    it("lists no connectors when the hub has no sync configuration", async () => {
      const res = await hub.request({ method: "GET", url: "/v1/connectors", token: uni });
      expectStatus(res, 200);
      assert.deepEqual(res.json(), { items: [] });
      expectStatus(await hub.request({ method: "GET", url: "/v1/connectors", token: bureau }), 403);
    });
  });
});
