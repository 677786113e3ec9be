/**
 * The mirror sender against a scripted router (a real HTTP server on loopback that answers each request as
 * the test says) and a real SQLite store: which answers settle a job, which are tried again and when, which
 * are refusals, and in which order a batch's requests go.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { GuardedOutboundHttp } from "../../src/adapters/http/guarded-outbound-http.ts";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import { EscRouterClient } from "../../src/delivery/esc-router-client.ts";
import { personSubjectKey } from "../../src/delivery/mirror-queue.ts";
import { MirrorSender } from "../../src/delivery/mirror-sender.ts";
import { MirrorTarget } from "../../src/delivery/mirror-targets.ts";
import { RetryPolicy } from "../../src/delivery/retry-policy.ts";
import { type Escn, generateEscn } from "../../src/domain/escn.ts";
import { esiKey } from "../../src/domain/esi.ts";
import { parseIsoDate } from "../../src/domain/iso-date.ts";
import type { MirrorJobKind } from "../../src/domain/mirror-job.ts";
import { parsePic } from "../../src/domain/pic.ts";
import { fixedClock } from "../support/test-hub.ts";

const PIC = "999888777";
const NOW = "2026-10-15T10:00:00.000Z";
const BASE_MS = 1000;
const MAX_MS = 60_000;

interface Call {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
}
type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

describe("the mirror sender", () => {
  let router: http.Server;
  let origin: string;
  let script: (call: Call) => Answer;
  let calls: Call[];
  let dir: string;
  let storage: SqliteStorage;
  const clock = fixedClock(NOW);
  const client = new GuardedOutboundHttp({ allowPrivateAddresses: true });

  before(async () => {
    router = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const call = {
          method: req.method ?? "",
          path: req.url ?? "",
          authorization: req.headers.authorization,
          body: text === "" ? null : JSON.parse(text),
        };
        calls.push(call);
        const answer = script(call);
        res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
        res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => router.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(router.address() as AddressInfo).port}`;
  });
  after(async () => {
    await client.close();
    await new Promise((resolve) => router.close(resolve));
  });

  beforeEach(async () => {
    calls = [];
    script = () => ({ status: 200, body: {} });
    clock.set(NOW);
    dir = mkdtempSync(join(tmpdir(), "openesc-mirror-sender-"));
    storage = new SqliteStorage({ file: join(dir, "openesc.db") });
    await storage.init();
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function sender(): MirrorSender {
    return new MirrorSender(
      storage,
      clock,
      new EscRouterClient(client, { timeoutMs: 2000, userAgent: "test" }),
      [new MirrorTarget(PIC, `${origin}/esc-rest`, "secret-token")],
      new RetryPolicy({ baseDelayMs: BASE_MS, maxDelayMs: MAX_MS, horizonMs: Number.MAX_SAFE_INTEGER }),
      { holder: "test", timeoutMs: 2000 },
    );
  }

  /** A student of the university with a card, held by the hub. */
  async function student(code: string): Promise<{ esi: string; escn: Escn }> {
    const esi = `urn:schac:personalUniqueCode:int:esi:fr:${code}`;
    const escn = generateEscn({ prefix: "001", pic: parsePic(PIC) });
    await storage.transaction(async (tx) => {
      if (!(await tx.organisations.findById(PIC))) {
        await tx.organisations.insert({
          id: PIC,
          kind: "institution",
          name: "Université",
          country: null,
          schacHomeOrganisation: null,
          erasmusCode: null,
          website: null,
          colours: { main: null, secondary: null, contrast: null, qr: null },
          showDisplayName: false,
          serves: [],
          processors: [],
          createdAt: NOW,
          updatedAt: NOW,
        });
      }
      const person = await tx.persons.insert({ esi, esiKey: esiKey(esi), createdAt: NOW, updatedAt: NOW });
      await tx.persons.upsertLink({
        personId: person.id,
        organisationId: PIC,
        fullName: `Student ${code}`,
        academicLevel: "MASTER",
        email: null,
        phone: null,
        fax: null,
        createdAt: NOW,
        updatedAt: NOW,
      });
      await tx.cards.insert({
        escn,
        personId: person.id,
        esi,
        issuerId: PIC,
        processorId: null,
        cardType: "SMART_PASSIVE",
        status: "ACTIVE",
        inactiveReason: null,
        issuedAt: parseIsoDate("2026-09-01"),
        expiresAt: parseIsoDate("2030-08-31"),
        displayName: null,
        chipUid: null,
        createdAt: NOW,
        updatedAt: NOW,
      });
    });
    return { esi, escn };
  }

  async function queue(kind: MirrorJobKind, subject: string, position = 1): Promise<void> {
    const subjectKey = kind === "person" ? personSubjectKey(subject) : subject;
    await storage.transaction((tx) =>
      tx.mirrorJobs.enqueue([{ organisationId: PIC, kind, subject, subjectKey, position, queuedAt: NOW }]),
    );
  }

  const jobOf = (kind: MirrorJobKind, subject: string) =>
    storage.read.mirrorJobs.find(PIC, kind, kind === "person" ? personSubjectKey(subject) : subject);

  it("sends the holder before the card, in ESC-R's write views, with the token; a 404 to PUT becomes a POST", async () => {
    const { esi, escn } = await student("a");
    await queue("card", escn);
    await queue("person", esi);
    script = (call) => ({ status: call.method === "PUT" ? 404 : 201, body: {} });
    await sender().runOnce();
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.path}`),
      [
        `PUT /esc-rest/api/v2/persons/${encodeURIComponent(esi)}`,
        "POST /esc-rest/api/v2/persons",
        `PUT /esc-rest/api/v2/cards/${escn}`,
        "POST /esc-rest/api/v2/cards",
      ],
    );
    assert.ok(calls.every((c) => c.authorization === "Bearer secret-token"));
    assert.deepEqual(calls[1]?.body, {
      identifier: esi,
      identifierCode: "ESI",
      fullName: "Student a",
      personOrganisationUpdateViews: [{ organisationIdentifier: PIC, academicLevel: "MASTER" }],
    });
    assert.deepEqual(calls[3]?.body, {
      cardNumber: escn,
      cardStatusType: "ACTIVE",
      cardType: "SMART_PASSIVE",
      issuedAt: "2026-09-01",
      expiresAt: "2030-08-31",
      issuerIdentifier: PIC,
      personIdentifier: esi,
    });
    assert.equal((await jobOf("card", escn))?.operation, "POST");
    assert.equal((await jobOf("person", esi))?.state, "done");
  });

  it("tries again after the backoff on a 5xx, honouring Retry-After, and at the longest delay on a 401", async () => {
    const { esi } = await student("b");
    const { esi: other } = await student("c");
    await queue("person", esi);
    await queue("person", other);
    script = (call) =>
      decodeURIComponent(call.path).endsWith(":b")
        ? { status: 503, headers: { "retry-after": "30" }, body: { code: "DOWN", message: "maintenance" } }
        : { status: 401, body: { code: "TOKEN_EXPIRED", message: "the token has expired" } };
    await sender().runOnce();
    const busy = await jobOf("person", esi);
    assert.equal(busy?.state, "pending");
    assert.equal(busy?.attempts, 1);
    assert.equal(busy?.lastStatus, 503);
    assert.equal(busy?.lastMessage, "maintenance");
    assert.equal(Date.parse(busy?.nextAttemptAt ?? ""), Date.parse(NOW) + 30_000);
    const locked = await jobOf("person", other);
    assert.equal(locked?.state, "pending");
    assert.equal(locked?.lastCode, "TOKEN_EXPIRED");
    assert.equal(Date.parse(locked?.nextAttemptAt ?? ""), Date.parse(NOW) + MAX_MS);
    // Nothing is due before then.
    calls = [];
    assert.equal(await sender().runOnce(), false);
    assert.equal(calls.length, 0);
  });

  it("refuses on another 4xx, with the router's words, and takes a 404 to a DELETE as done", async () => {
    const { esi, escn } = await student("d");
    // The student and the card are on the router already.
    await queue("person", esi);
    await queue("card", escn);
    await sender().runOnce();
    const gone = generateEscn({ prefix: "001", pic: parsePic(PIC) });
    await queue("card", gone);
    script = (call) =>
      call.method === "DELETE"
        ? { status: 404, body: { code: "CARD_NOT_FOUND", message: "no card" } }
        : { status: 422, body: { code: "BAD", message: "cardType is not allowed here" } };
    await storage.transaction((tx) =>
      tx.mirrorJobs.enqueue([
        { organisationId: PIC, kind: "card", subject: escn, subjectKey: escn, position: 2, queuedAt: NOW },
      ]),
    );
    await sender().runOnce();
    const refused = await jobOf("card", escn);
    assert.equal(refused?.state, "refused");
    assert.equal(refused?.lastStatus, 422);
    assert.equal(refused?.lastCode, "BAD");
    assert.equal(refused?.lastMessage, "cardType is not allowed here");
    const removed = await jobOf("card", gone);
    assert.equal(removed?.state, "done");
    assert.equal(removed?.operation, "DELETE");
  });

  it("retries a person's removal the router refuses while their cards are there, and retries a redirect", async () => {
    const esi = "urn:schac:personalUniqueCode:int:esi:fr:never-held";
    await queue("person", esi);
    script = () => ({ status: 409, body: { code: "PERSON_HAS_CARDS", message: "delete the cards first" } });
    await sender().runOnce();
    const waiting = await jobOf("person", esi);
    assert.equal(waiting?.state, "pending");
    assert.equal(waiting?.lastStatus, 409);
    const moved = generateEscn({ prefix: "001", pic: parsePic(PIC) });
    await queue("card", moved);
    script = () => ({ status: 301, headers: { location: "https://elsewhere.example/" } });
    await sender().runOnce();
    const redirected = await jobOf("card", moved);
    assert.equal(redirected?.state, "pending");
    assert.match(
      redirected?.lastMessage ?? "",
      /redirects are not followed \(to https:\/\/elsewhere\.example\/\)/,
    );
  });

  it("postpones a card whose holder was never pushed, queuing the holder first", async () => {
    const { esi, escn } = await student("e");
    await queue("card", escn);
    await sender().runOnce();
    assert.equal(calls.length, 0, "nothing sent for the card yet");
    const card = await jobOf("card", escn);
    assert.equal(card?.state, "pending");
    assert.equal(card?.attempts, 0);
    assert.equal(Date.parse(card?.nextAttemptAt ?? ""), Date.parse(NOW) + BASE_MS);
    assert.equal((await jobOf("person", esi))?.state, "pending");
    await sender().runOnce();
    assert.deepEqual(
      calls.map((c) => c.method),
      ["PUT"],
    );
    clock.set(new Date(Date.parse(NOW) + BASE_MS).toISOString());
    await sender().runOnce();
    assert.equal((await jobOf("card", escn))?.state, "done");
  });
});
