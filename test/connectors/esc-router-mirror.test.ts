/**
 * The mirror to an ESC Router, end to end: hub 1 pushes its university's persons and cards to hub 2's ESC-R
 * compatible API over a real loopback socket, as it would to the production router, and reports what the
 * router refused.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { personSubjectKey } from "../../src/delivery/mirror-queue.ts";
import { eventually } from "../support/eventually.ts";
import {
  CARD_BUREAU,
  cardPayload,
  OTHER_UNIVERSITY,
  personPayload,
  UNIVERSITY,
} from "../support/fixtures.ts";
import { startTestHub, type TestHub } from "../support/test-hub.ts";

const ESCR = "/esc-rest/api/v2";
const run = promisify(execFile);
const A = UNIVERSITY.id;
const e = encodeURIComponent;

/** Retries and polls in tens of milliseconds, so that a test waits for the mirror, not for its timers. */
const FAST = {
  OPENESC_ALLOW_PRIVATE_MIRRORS: "true",
  OPENESC_EVENT_POLL_MS: "20",
  OPENESC_WEBHOOK_RETRY_BASE_MS: "20",
  OPENESC_WEBHOOK_RETRY_MAX_MS: "200",
  OPENESC_WEBHOOK_TIMEOUT_MS: "2000",
};

let counter = 0;
const newEsi = (label: string) => `urn:schac:personalUniqueCode:int:esi:fr:mirror-${label}-${++counter}`;

async function must(status: number, pending: ReturnType<TestHub["request"]>) {
  const res = await pending;
  assert.equal(res.statusCode, status, `${res.statusCode} ${res.body}`);
  return res;
}

describe("the mirror to an ESC Router", () => {
  /** Hub 2, in the role of the production router. */
  let router: TestHub;
  let routerPort: number;
  /** The university's token at the router, as its web UI would have made it. */
  let atRouter: string;
  /** Hub 1, which mirrors the university. */
  let hub: TestHub;
  let uni: string;
  let other: string;

  const routerGet = (path: string) =>
    router.request({ method: "GET", url: `${ESCR}${path}`, token: atRouter });

  async function newPerson(esi: string, fullName = "Jeanne Exemple") {
    await must(
      201,
      hub.request({
        method: "POST",
        url: `${ESCR}/persons`,
        token: uni,
        payload: personPayload(esi, A, { fullName }),
      }),
    );
  }

  async function newCard(esi: string, extra: Record<string, unknown> = {}): Promise<string> {
    const card = await must(
      201,
      hub.request({ method: "POST", url: `${ESCR}/cards`, token: uni, payload: cardPayload(esi, A, extra) }),
    );
    return card.json<{ cardNumber: string }>().cardNumber;
  }

  /** The router's view of a card once it holds it (with the status the test waits for). */
  const routerCard = (escn: string, status = "ACTIVE") =>
    eventually(async () => {
      const res = await must(200, routerGet(`/cards/${escn}`));
      assert.equal(res.json().cardStatusType.key, status);
      return res.json();
    });

  /** A job once its outcome is recorded (the router answers a moment before the hub writes it down). */
  const settledJob = (kind: "person" | "card", subjectKey: string) =>
    eventually(async () => {
      const job = await hub.services.storage.read.mirrorJobs.find(A, kind, subjectKey);
      assert.ok(job && job.state !== "pending", JSON.stringify(job));
      return job;
    });

  const report = async (token = uni) =>
    (await must(200, hub.request({ method: "GET", url: "/v1/mirror", token }))).json();
  const refusals = async () =>
    (await must(200, hub.request({ method: "GET", url: "/v1/mirror/refusals?limit=100", token: uni }))).json<{
      items: {
        kind: string;
        subject: string;
        operation: string;
        status: number;
        code: string | null;
        message: string;
      }[];
      next: string | null;
    }>();

  before(async () => {
    router = await startTestHub();
    await router.app.listen({ port: 0, host: "127.0.0.1" });
    routerPort = (router.app.server.address() as AddressInfo).port;
    // The router knows the university, not its card bureau: cards the bureau processed are refused there.
    atRouter = await router.onboard(UNIVERSITY);
    hub = await startTestHub({
      delivery: true,
      env: {
        ...FAST,
        OPENESC_MIRRORS: JSON.stringify([
          { organisation: A, url: `http://127.0.0.1:${routerPort}/esc-rest`, token: atRouter },
        ]),
      },
    });
    uni = await hub.onboard(UNIVERSITY);
    other = await hub.onboard(OTHER_UNIVERSITY);
    await hub.onboard(CARD_BUREAU);
    await must(
      200,
      hub.request({
        method: "PATCH",
        url: `/v1/organisations/${A}`,
        token: uni,
        payload: { processors: [CARD_BUREAU.id] },
      }),
    );
  });
  after(async () => {
    await hub?.close();
    await router?.close();
  });

  it("pushes a new person and card, then each change and the card's deletion", async () => {
    const esi = newEsi("new");
    await newPerson(esi);
    const escn = await newCard(esi);
    const person = await eventually(async () => (await must(200, routerGet(`/persons/${e(esi)}`))).json());
    assert.equal(person.fullName, "Jeanne Exemple");
    assert.deepEqual(
      person.organisations.map((o: { organisation: { identifier: string } }) => o.organisation.identifier),
      [A],
    );
    const card = await routerCard(escn);
    assert.equal(card.person.identifier, esi);
    assert.equal(card.expiresAt, "2030-08-31");
    assert.equal(card.displayName, "Jeanne E.");

    // A renamed student and a lost card: the router follows.
    await must(
      200,
      hub.request({
        method: "PUT",
        url: `${ESCR}/persons/${e(esi)}`,
        token: uni,
        payload: personPayload(esi, A, { fullName: "Jeanne Renommée" }),
      }),
    );
    await must(
      200,
      hub.request({
        method: "PATCH",
        url: `/v1/cards/${escn}`,
        token: uni,
        payload: { status: "INACTIVE", inactiveReason: "lost" },
      }),
    );
    await routerCard(escn, "INACTIVE");
    await eventually(async () =>
      assert.equal((await must(200, routerGet(`/persons/${e(esi)}`))).json().fullName, "Jeanne Renommée"),
    );

    await must(204, hub.request({ method: "DELETE", url: `${ESCR}/cards/${escn}`, token: uni }));
    await eventually(async () => must(404, routerGet(`/cards/${escn}`)));
    const job = await settledJob("card", escn);
    assert.equal(job.state, "done");
    assert.equal(job.operation, "DELETE");

    const shown = await report();
    assert.equal(shown.organisation, A);
    assert.equal(shown.url, `http://127.0.0.1:${routerPort}/esc-rest`);
    assert.ok(shown.done >= 2, JSON.stringify(shown));
    assert.equal(shown.refused, 0);
    assert.equal(typeof shown.lastSuccessAt, "string");
    assert.doesNotMatch(JSON.stringify(shown), new RegExp(atRouter), "the token is never shown");
  });

  it("lists the cards the router refuses with its words, mirrors the others, and tries a refused card again once it changes", async () => {
    const esi = newEsi("refused");
    await newPerson(esi);
    const refused = await newCard(esi, { processorIdentifier: CARD_BUREAU.id });
    const accepted = await newCard(esi);
    await routerCard(accepted);
    const refusal = await eventually(async () => {
      const found = (await refusals()).items.find((r) => r.subject === refused);
      assert.ok(found);
      return found;
    });
    assert.equal(refusal.kind, "card");
    assert.equal(refusal.status, 400);
    assert.equal(refusal.code, "PROCESSOR_UNKNOWN");
    assert.match(refusal.message, /B12345678 is not a registered card bureau/);
    assert.equal(refusal.operation, "POST");
    await must(404, routerGet(`/cards/${refused}`));
    // Listing the refusals is a read of the card's number: the audit trail has it.
    await eventually(async () => {
      const trail = await hub.services.storage.read.audit.list(
        { subjects: [refused] },
        { after: 0, limit: 100 },
      );
      assert.ok(
        trail.items.some((entry) => entry.action === "read" && entry.purpose === "card-management"),
        JSON.stringify(trail.items),
      );
    });
    assert.ok((await report()).refused >= 1);

    // Not tried again while nothing changes…
    await new Promise((resolve) => setTimeout(resolve, 300));
    const job = await hub.services.storage.read.mirrorJobs.find(A, "card", refused);
    assert.equal(job?.state, "refused");
    assert.equal(job?.attempts, 1);

    // …and tried again once the card changes: the institution takes the bureau off it.
    await must(
      200,
      hub.request({
        method: "PUT",
        url: `${ESCR}/cards/${refused}`,
        token: uni,
        payload: cardPayload(esi, A),
      }),
    );
    await routerCard(refused);
    assert.equal(
      (await refusals()).items.find((r) => r.subject === refused),
      undefined,
    );
  });

  it("retries while the router is down, reports the failure, and delivers once it is back", async () => {
    await new Promise<void>((resolve) => {
      router.app.server.close(() => resolve());
      router.app.server.closeAllConnections();
    });
    try {
      const esi = newEsi("down");
      await newPerson(esi);
      const escn = await newCard(esi);
      const failing = await eventually(async () => {
        const shown = await report();
        assert.ok(shown.retrying >= 1, JSON.stringify(shown));
        assert.ok(shown.lastFailure);
        return shown;
      });
      assert.equal(failing.lastFailure.status, null);
      assert.match(failing.lastFailure.message, /refused|closed|reset/);
      assert.ok(failing.pending >= 2, JSON.stringify(failing));
      const job = await hub.services.storage.read.mirrorJobs.find(A, "person", personSubjectKey(esi));
      assert.equal(job?.state, "pending");

      await new Promise<void>((resolve) => router.app.server.listen(routerPort, "127.0.0.1", resolve));
      await routerCard(escn);
      await eventually(async () => {
        const shown = await report();
        assert.equal(shown.retrying, 0, JSON.stringify(shown));
        assert.equal(shown.lastFailure, null);
      });
    } finally {
      if (!router.app.server.listening) {
        await new Promise<void>((resolve) => router.app.server.listen(routerPort, "127.0.0.1", resolve));
      }
    }
  });

  it("removes a person from the router when the hub removes them, though their events then carry only a pseudonym", async () => {
    const esi = newEsi("gone");
    await newPerson(esi);
    await eventually(async () => must(200, routerGet(`/persons/${e(esi)}`)));
    await must(204, hub.request({ method: "DELETE", url: `${ESCR}/persons/${e(esi)}`, token: uni }));
    await eventually(async () => must(404, routerGet(`/persons/${e(esi)}`)));
    const job = await settledJob("person", personSubjectKey(esi));
    assert.equal(job.state, "done");
    assert.equal(job.operation, "DELETE");
    assert.match(job.subject, /^erased:[0-9a-f]{16}$/, "the job no longer holds the ESI");
  });

  it("passes an erasure on: the student's cards, then the student, leave the router", async () => {
    const esi = newEsi("erased");
    await newPerson(esi);
    const first = await newCard(esi);
    const second = await newCard(esi);
    await routerCard(first);
    await routerCard(second);
    await must(200, hub.request({ method: "POST", url: `/v1/persons/${e(esi)}/erasure`, token: uni }));
    await eventually(async () => {
      await must(404, routerGet(`/cards/${first}`));
      await must(404, routerGet(`/cards/${second}`));
      await must(404, routerGet(`/persons/${e(esi)}`));
    });
    const job = await settledJob("person", personSubjectKey(esi));
    assert.match(job.subject, /^erased:/);
  });

  it("mirrors only the organisations it is configured for, and shows each only its own", async () => {
    const theirs = newEsi("other");
    await must(
      201,
      hub.request({
        method: "POST",
        url: `${ESCR}/persons`,
        token: other,
        payload: personPayload(theirs, OTHER_UNIVERSITY.id),
      }),
    );
    // A later change of the university's: once it is mirrored, the other's earlier event was handled too.
    const ours = newEsi("ours");
    await newPerson(ours);
    await eventually(async () => must(200, routerGet(`/persons/${e(ours)}`)));
    assert.equal(
      await hub.services.storage.read.mirrorJobs.find(
        OTHER_UNIVERSITY.id,
        "person",
        personSubjectKey(theirs),
      ),
      undefined,
    );
    const answer = await hub.request({ method: "GET", url: "/v1/mirror", token: other });
    assert.equal(answer.statusCode, 404, answer.body);
    assert.equal(answer.json().code, "MIRROR_NOT_FOUND");
    const listed = await hub.request({ method: "GET", url: "/v1/mirror/refusals", token: other });
    assert.equal(listed.statusCode, 404, listed.body);
  });

  it("prints the same report on the command line, and shows no token in the printed configuration", {
    skip:
      process.env["OPENESC_TEST_STORE"] === "postgres" ? "the command reads the hub's data folder" : false,
  }, async () => {
    const esi = newEsi("cli");
    await newPerson(esi);
    const refused = await newCard(esi, { processorIdentifier: CARD_BUREAU.id });
    await eventually(async () => assert.ok((await refusals()).items.some((r) => r.subject === refused)));
    const env = {
      ...process.env,
      OPENESC_MIRRORS: JSON.stringify([
        { organisation: A, url: `http://127.0.0.1:${routerPort}/esc-rest`, token: atRouter },
      ]),
      OPENESC_LOG_LEVEL: "silent",
    };
    const { stdout } = await run(
      process.execPath,
      ["bin/openesc.js", "mirror", "report", "--organisation", A, "--data-dir", hub.dataDir],
      { encoding: "utf8", env },
    );
    const printed = JSON.parse(stdout);
    const api = await report();
    assert.equal(printed.organisationId, A);
    assert.equal(printed.url, api.url);
    assert.equal(printed.refused, api.refused);
    assert.ok(
      printed.refusals.some(
        (r: { subject: string; code: string }) => r.subject === refused && r.code === "PROCESSOR_UNKNOWN",
      ),
    );
    const config = await run(process.execPath, ["bin/openesc.js", "config"], { encoding: "utf8", env });
    assert.match(config.stdout, /"token": "\(set\)"/);
    assert.ok(!config.stdout.includes(atRouter) && !stdout.includes(atRouter), "the token is never printed");
    await assert.rejects(
      run(
        process.execPath,
        [
          "bin/openesc.js",
          "mirror",
          "report",
          "--organisation",
          OTHER_UNIVERSITY.id,
          "--data-dir",
          hub.dataDir,
        ],
        { encoding: "utf8", env },
      ),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr, /no ESC Router mirror is configured/);
        return true;
      },
    );
  });

  it("keeps trying, slowly, with a token the router does not take, and says so", async () => {
    const wrong = await startTestHub({
      delivery: true,
      env: {
        ...FAST,
        OPENESC_MIRRORS: JSON.stringify([
          {
            organisation: A,
            url: `http://127.0.0.1:${routerPort}/esc-rest`,
            token: "oesc_not-a-token-of-the-router",
          },
        ]),
      },
    });
    try {
      const token = await wrong.onboard(UNIVERSITY);
      const esi = newEsi("token");
      await must(
        201,
        wrong.request({ method: "POST", url: `${ESCR}/persons`, token, payload: personPayload(esi, A) }),
      );
      const shown = await eventually(async () => {
        const answer = (await must(200, wrong.request({ method: "GET", url: "/v1/mirror", token }))).json();
        assert.equal(answer.lastFailure?.status, 401, JSON.stringify(answer));
        return answer;
      });
      assert.equal(shown.retrying, 1);
      assert.equal(shown.refused, 0, "a bad token is the mirror's problem, not the student's");
      assert.equal(shown.lastFailure.code, "TOKEN_INVALID");
      const job = await wrong.services.storage.read.mirrorJobs.find(A, "person", personSubjectKey(esi));
      assert.ok(job?.lastAttemptAt);
      assert.ok(
        Date.parse(job.nextAttemptAt) - Date.parse(job.lastAttemptAt) >= 200,
        "the next attempt waits for the longest delay",
      );
    } finally {
      await wrong.close();
    }
  });
});
