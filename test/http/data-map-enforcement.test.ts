import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance, type InjectOptions } from "fastify";
import {
  generateHolderKey,
  presentCredential,
  receiveCredential,
  type WalletFetch,
} from "../../src/credentials/holder-wallet.ts";
import { DATA_MAP, type DataKey, isDataKey } from "../../src/domain/data-map.ts";
import { isPurpose, PURPOSES, type Purpose } from "../../src/domain/purpose.ts";
import {
  disclosuresOf,
  installDataMapEnforcement,
  type RouteDisclosure,
} from "../../src/http/plugins/data-map-enforcement.ts";
import { inProcessNetwork, VERIFIER } from "../support/credential-scenario.ts";
import {
  CANTEEN,
  CARD_BUREAU,
  cardPayload,
  ESI,
  ESI_2,
  personPayload,
  UNIVERSITY,
} from "../support/fixtures.ts";
import { ADMIN_TOKEN, fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";

/**
 * The data map is enforced in one place (src/http/plugins/data-map-enforcement.ts): a route whose answer
 * could carry a field its purpose may not see stops the hub at start-up, and every answer the real hub
 * gives carries only fields its route's purpose allows.
 */

const string = (key: string) => ({ type: "string", "x-data": key });

/** A throwaway app with the enforcement and one route; resolves when it starts, rejects when it may not. */
async function startWith(
  route: {
    config?: { purpose?: Purpose; consentPurposes?: Purpose[] };
    response?: Record<string, unknown>;
    answer?: unknown;
  },
  shared: object[] = [],
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  for (const schema of shared) app.addSchema(schema);
  installDataMapEnforcement(app, shared);
  await app.register(async (scope) => {
    scope.get(
      "/thing",
      { config: route.config ?? {}, schema: route.response ? { response: route.response } : {} },
      async () => route.answer ?? {},
    );
  });
  try {
    await app.ready();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}

const object = (properties: Record<string, unknown>) => ({ type: "object", properties });

describe("the data map enforcement, on a throwaway app", () => {
  it("refuses to start a public route whose answer includes a person's full name, naming the field", async () => {
    await assert.rejects(
      startWith({
        config: { purpose: "public-verification" },
        response: { 200: object({ fullName: string("personLink.fullName") }) },
      }),
      (error: Error) => {
        assert.match(error.message, /GET \/thing/);
        assert.match(error.message, /public-verification/);
        assert.match(error.message, /field fullName is personLink\.fullName/);
        return true;
      },
    );
  });

  it("starts the same route for card management, and answers the field", async () => {
    const app = await startWith({
      config: { purpose: "card-management" },
      response: { 200: object({ fullName: string("personLink.fullName") }) },
      answer: { fullName: "Jeanne Exemple", undeclared: "never leaves" },
    });
    const answer = await app.inject({ method: "GET", url: "/thing" });
    assert.deepEqual(answer.json(), { fullName: "Jeanne Exemple" });
    await app.close();
  });

  it("gives a route that declares no purpose the purpose operations, which sees no student data", async () => {
    await assert.rejects(
      startWith({ response: { 200: object({ escn: string("card.escn") }) } }),
      /purpose operations\): field escn is card\.escn/,
    );
  });

  it("follows references into the shared schemas, and OpenAPI-style content maps", async () => {
    const holder = { $id: "Holder", ...object({ email: string("personLink.email") }) };
    const response = {
      200: { description: "ok", content: { "application/json": { schema: { $ref: "Holder#" } } } },
    };
    await assert.rejects(
      startWith({ config: { purpose: "public-verification" }, response }, [holder]),
      /field email is personLink\.email/,
    );
    const nested = object({ holder: { $ref: "Holder#", "x-data": "card.holder" } });
    await assert.rejects(
      startWith({ config: { purpose: "status-management" }, response: { 200: nested } }, [holder]),
      /field holder is card\.holder.*field holder\.email is personLink\.email/,
    );
    const app = await startWith({ config: { purpose: "card-management" }, response: { 200: nested } }, [
      holder,
    ]);
    await app.close();
  });

  it("refuses a field that names no data map entry, or one that is not in the map", async () => {
    await assert.rejects(
      startWith({
        config: { purpose: "card-management" },
        response: { 200: object({ nickname: { type: "string" } }) },
      }),
      /field nickname names no data map entry/,
    );
    await assert.rejects(
      startWith({
        config: { purpose: "card-management" },
        response: { 200: object({ shoeSize: string("person.shoeSize") }) },
      }),
      /field shoeSize names person\.shoeSize, which is not in the data map/,
    );
  });

  it("refuses an open object, through which any field could leave", async () => {
    await assert.rejects(
      startWith({
        config: { purpose: "card-management" },
        response: { 200: { type: "object", "x-data": "card.escn", additionalProperties: true } },
      }),
      /open object/,
    );
  });

  it("refuses a route of a data purpose that declares no success answer", async () => {
    await assert.rejects(startWith({ config: { purpose: "card-management" } }), /declares no success answer/);
    // Operations endpoints (health, metrics, the API document) may answer without a declared schema.
    await (await startWith({})).close();
  });

  it("answers a consent-based field only on a route that declares that consent purpose", async () => {
    const response = {
      200: object({ cardNumber: string("card.escn"), displayName: string("card.displayName") }),
    };
    await assert.rejects(
      startWith({ config: { purpose: "public-verification" }, response }),
      /field displayName is card\.displayName/,
    );
    const app = await startWith({
      config: { purpose: "public-verification", consentPurposes: ["display-name-publication"] },
      response,
    });
    await app.close();
    await assert.rejects(
      startWith({
        config: { purpose: "public-verification", consentPurposes: ["card-management"] },
        response,
      }),
      /consentPurposes names card-management, which is not a purpose whose lawful basis is consent/,
    );
  });

  it("lets list envelopes through unannotated, and checks the items they carry", async () => {
    const list = (item: object) =>
      object({
        items: { type: "array", items: item },
        next: { anyOf: [{ type: "string" }, { type: "null" }] },
      });
    const app = await startWith({
      config: { purpose: "card-management" },
      response: { 200: list(object({ escn: string("card.escn") })) },
    });
    await app.close();
    await assert.rejects(
      startWith({ config: { purpose: "card-management" }, response: { 200: list({ type: "string" }) } }),
      /the value at items\[\] names no data map entry/,
    );
    await assert.rejects(
      startWith({
        config: { purpose: "public-verification" },
        response: { 200: list(object({ email: string("personLink.email") })) },
      }),
      /field items\[\]\.email is personLink\.email/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

/** Every key path of a JSON value, arrays written `[]`: `content[].person.fullName`. */
function keyPaths(value: unknown, path = ""): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => keyPaths(item, `${path}[]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const at = path === "" ? key : `${path}.${key}`;
    return [at, ...keyPaths(child, at)];
  });
}

/** Whether the data map lets a route of this purpose answer the field (read from DATA_MAP, not the plugin). */
function allowed(key: DataKey, purpose: Purpose, consentPurposes: readonly Purpose[]): boolean {
  const purposes: readonly Purpose[] = DATA_MAP[key].purposes;
  return (
    purposes.includes(purpose) ||
    consentPurposes.some((p) => PURPOSES[p].basis === "consent" && purposes.includes(p))
  );
}

describe("the data map enforcement, on the real hub", () => {
  let hub: TestHub;
  let uni: string;
  let escn: string;
  let routes: readonly RouteDisclosure[];
  const clock = fixedClock("2026-10-01T10:00:00Z");
  /** "METHOD /template" of every route whose answer a test below walked. */
  const walked = new Set<string>();
  /** Every data map entry some answer carried. */
  const carried = new Set<DataKey>();

  const call = async (options: InjectOptions & { token?: string }, status: number) => {
    const response = await hub.request(options);
    assert.equal(response.statusCode, status, `${options.method} ${options.url}: ${response.body}`);
    return response;
  };

  /** A folder with the hub's sync configuration: one connector of the university, and its file. */
  const syncs = mkdtempSync(join(tmpdir(), "openesc-data-map-syncs-"));
  const student = { esi: ESI, fullName: "Jeanne Exemple", statusState: "enrolled", validFrom: "2026-09-01" };
  writeFileSync(join(syncs, "students.jsonl"), `${JSON.stringify(student)}\n`);
  writeFileSync(
    join(syncs, "connectors.json"),
    JSON.stringify({
      connectors: [
        {
          name: "sis",
          organisation: UNIVERSITY.id,
          everyMinutes: 60,
          source: { kind: "jsonl", path: "students.jsonl" },
        },
      ],
    }),
  );

  before(async () => {
    hub = await startTestHub({
      clock,
      env: {
        OPENESC_SYNC_CONFIG: join(syncs, "connectors.json"),
        // The university is mirrored to an ESC Router; nothing is sent (no delivery runs here).
        OPENESC_MIRRORS: JSON.stringify([
          { organisation: UNIVERSITY.id, url: "https://esc-router.example/esc-rest", token: "router-token" },
        ]),
      },
    });
    routes = disclosuresOf(hub.app);
    uni = await hub.onboard(UNIVERSITY);
    await hub.onboard(CARD_BUREAU);
    await call(
      {
        method: "PATCH",
        url: `/v1/organisations/${UNIVERSITY.id}`,
        token: uni,
        payload: {
          website: "https://univ-saint-valentin.fr",
          colours: { main: "#003399", secondary: "#ffcc00", contrast: "#ffffff" },
          processors: [CARD_BUREAU.id],
          // The issuer opts in to showing display names; the student has not consented (yet).
          showDisplayName: true,
        },
      },
      200,
    );
    await call(
      {
        method: "POST",
        url: "/esc-rest/api/v2/persons",
        token: uni,
        payload: personPayload(ESI, UNIVERSITY.id),
      },
      201,
    );
    await call(
      {
        method: "PUT",
        url: `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`,
        token: uni,
        payload: { state: "enrolled", validFrom: "2026-09-01", validUntil: "2027-08-31" },
      },
      201,
    );
    const card = await call(
      {
        method: "POST",
        url: "/esc-rest/api/v2/cards",
        token: uni,
        payload: cardPayload(ESI, UNIVERSITY.id, { processorIdentifier: CARD_BUREAU.id }),
      },
      201,
    );
    escn = card.json<{ cardNumber: string }>().cardNumber;
  });
  after(async () => {
    await hub?.close();
    rmSync(syncs, { recursive: true, force: true });
  });

  /** Checks one answer of the route `METHOD /template` against what its purpose may see. */
  function walk(route: string, status: number, body: unknown): void {
    const [method, url] = route.split(" ");
    const disclosure = routes.find((r) => r.method === method && r.url === url);
    assert.ok(disclosure, `${route} is not a route of the hub`);
    const declared = disclosure.answers[String(status)];
    assert.ok(declared, `${route} does not declare the answer ${status}`);
    const paths = keyPaths(body);
    // A bare list of values (generate-escn) has no keys: its items are the data.
    if (Array.isArray(body) && body.length > 0 && body.every((v) => typeof v !== "object")) paths.push("[]");
    assert.ok(paths.length > 0, `${route}: an empty answer proves nothing`);
    for (const path of paths) {
      assert.ok(declared.has(path), `${route} answered ${path}, which its schema does not declare`);
      const key = declared.get(path);
      if (key === null || key === undefined) continue;
      assert.ok(
        allowed(key, disclosure.purpose, disclosure.consentPurposes),
        `${route} (purpose ${disclosure.purpose}) answered ${path}, which is ${key}`,
      );
      carried.add(key);
    }
    walked.add(route);
  }

  it("has a known purpose on every route, and checked every route the API document lists", async () => {
    const doc = (await call({ method: "GET", url: "/openapi.json" }, 200)).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const checked = new Set(routes.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, "{$1}")}`));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item).filter((m) => m !== "parameters")) {
        assert.ok(checked.has(`${method.toUpperCase()} ${path}`), `${method} ${path} escaped the check`);
      }
    }
    for (const route of routes) {
      assert.ok(isPurpose(route.purpose), `${route.method} ${route.url}`);
      for (const [status, paths] of Object.entries(route.answers)) {
        for (const [path, key] of paths) {
          if (key !== null) assert.ok(isDataKey(key), `${route.method} ${route.url} ${status} ${path}`);
        }
      }
    }
    assert.ok(routes.length >= 30, `only ${routes.length} routes were checked`);
  });

  it("shows no personal data on the public status when the issuer opts in but the student has not consented", async () => {
    const answer = await call({ method: "GET", url: `/esc-rest/api/v2/cards/${escn}/status` }, 200);
    const body = answer.json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(body).sort(), [
      "cardNumber",
      "expiresAt",
      "issuedAt",
      "issuerIdentifier",
      "issuerName",
      "status",
    ]);
    const declared = routes.find((r) => r.url === "/esc-rest/api/v2/cards/:escn/status")?.answers["200"];
    for (const key of Object.keys(body)) {
      const field = declared?.get(key);
      assert.ok(field, key);
      assert.equal(DATA_MAP[field].personal, false, `${key} is ${field}, which is personal`);
    }
    walk("GET /esc-rest/api/v2/cards/:escn/status", 200, body);
  });

  it("shows the display name on the public status once the student consents, under that consent purpose", async () => {
    const wordings = (await call({ method: "GET", url: "/v1/consent-wordings" }, 200)).json<{
      items: { purpose: string; current: string }[];
    }>();
    walk("GET /v1/consent-wordings", 200, wordings);
    const current = wordings.items.find((w) => w.purpose === "display-name-publication")?.current;
    assert.ok(current);
    const given = await call(
      {
        method: "PUT",
        url: `/v1/persons/${ESI}/consents/display-name-publication`,
        token: uni,
        payload: { wordingVersion: current },
      },
      201,
    );
    walk("PUT /v1/persons/:esi/consents/:purpose", 201, given.json());
    const body = (await call({ method: "GET", url: `/esc-rest/api/v2/cards/${escn}/status` }, 200)).json();
    assert.equal(body.displayName, "Jeanne E.");
    walk("GET /esc-rest/api/v2/cards/:escn/status", 200, body);
    assert.ok(carried.has("card.displayName"));
  });

  it("answers on every route only fields its purpose may see", async () => {
    const T = UNIVERSITY.id;
    /** One representative call per route: [route, request, expected status]. Order matters (erasure last). */
    const calls: [string, InjectOptions & { token?: string }, number][] = [
      ["GET /healthz", { method: "GET", url: "/healthz" }, 200],
      ["GET /readyz", { method: "GET", url: "/readyz" }, 200],
      [
        "GET /esc-rest/api/v2/cards/generate-escn",
        { method: "GET", url: `/esc-rest/api/v2/cards/generate-escn?prefix=1&pic=${T}&numberOfESCN=2` },
        200,
      ],
      [
        "POST /esc-rest/api/v2/persons",
        { method: "POST", url: "/esc-rest/api/v2/persons", token: uni, payload: personPayload(ESI_2, T) },
        201,
      ],
      ["GET /esc-rest/api/v2/persons", { method: "GET", url: "/esc-rest/api/v2/persons", token: uni }, 200],
      [
        "GET /esc-rest/api/v2/persons/:esi",
        { method: "GET", url: `/esc-rest/api/v2/persons/${ESI}`, token: uni },
        200,
      ],
      [
        "PUT /esc-rest/api/v2/persons/:esi",
        { method: "PUT", url: `/esc-rest/api/v2/persons/${ESI}`, token: uni, payload: personPayload(ESI, T) },
        200,
      ],
      [
        "POST /esc-rest/api/v2/cards",
        { method: "POST", url: "/esc-rest/api/v2/cards", token: uni, payload: cardPayload(ESI_2, T) },
        201,
      ],
      ["GET /esc-rest/api/v2/cards", { method: "GET", url: "/esc-rest/api/v2/cards", token: uni }, 200],
      [
        "GET /esc-rest/api/v2/cards/:escn",
        { method: "GET", url: `/esc-rest/api/v2/cards/${escn}`, token: uni },
        200,
      ],
      [
        "PUT /esc-rest/api/v2/cards/:escn",
        {
          method: "PUT",
          url: `/esc-rest/api/v2/cards/${escn}`,
          token: uni,
          payload: cardPayload(ESI, T, { processorIdentifier: CARD_BUREAU.id }),
        },
        200,
      ],
      [
        "GET /esc-rest/api/v2/cards/csv-config",
        { method: "GET", url: "/esc-rest/api/v2/cards/csv-config", token: uni },
        200,
      ],
      [
        // One good row and one bad, so that the answer carries an error to walk.
        "POST /esc-rest/api/v2/cards/validate-csv",
        {
          method: "POST",
          url: "/esc-rest/api/v2/cards/validate-csv?operation=DELETE",
          token: uni,
          headers: { "content-type": "text/csv" },
          payload: `cardNumber\n${escn}\nnot-an-escn\n`,
        },
        200,
      ],
      [
        // One good row and one refused, so that the answer carries a problem to walk.
        "POST /v1/imports",
        {
          method: "POST",
          url: "/v1/imports",
          token: uni,
          headers: { "content-type": "multipart/form-data; boundary=b0undary" },
          payload:
            '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n' +
            `Content-Type: text/csv\r\n\r\nesi,fullName\n${ESI_2},Jean Exemple\nnot-an-esi,X\r\n--b0undary--\r\n`,
        },
        200,
      ],
      ["GET /v1/me", { method: "GET", url: "/v1/me", token: uni }, 200],
      [
        "POST /v1/organisations",
        { method: "POST", url: "/v1/organisations", token: ADMIN_TOKEN, payload: CANTEEN },
        201,
      ],
      ["GET /v1/organisations", { method: "GET", url: "/v1/organisations", token: ADMIN_TOKEN }, 200],
      ["GET /v1/organisations/:id", { method: "GET", url: `/v1/organisations/${T}`, token: uni }, 200],
      [
        "PATCH /v1/organisations/:id",
        {
          method: "PATCH",
          url: `/v1/organisations/${T}`,
          token: uni,
          payload: { website: "https://usv.fr" },
        },
        200,
      ],
      [
        "POST /v1/organisations/:id/tokens",
        {
          method: "POST",
          url: `/v1/organisations/${T}/tokens`,
          token: ADMIN_TOKEN,
          payload: { name: "spare" },
        },
        201,
      ],
      [
        "GET /v1/organisations/:id/tokens",
        { method: "GET", url: `/v1/organisations/${T}/tokens`, token: ADMIN_TOKEN },
        200,
      ],
      ["GET /v1/persons", { method: "GET", url: "/v1/persons", token: uni }, 200],
      ["GET /v1/persons/:esi", { method: "GET", url: `/v1/persons/${ESI}`, token: uni }, 200],
      [
        "PUT /v1/student-statuses/:organisationId/:esi",
        {
          method: "PUT",
          url: `/v1/student-statuses/${T}/${ESI_2}`,
          token: uni,
          payload: { state: "enrolled", validFrom: "2026-09-01", validUntil: null },
        },
        201,
      ],
      ["GET /v1/student-statuses", { method: "GET", url: "/v1/student-statuses", token: uni }, 200],
      [
        "GET /v1/student-statuses/:organisationId/:esi",
        { method: "GET", url: `/v1/student-statuses/${T}/${ESI}`, token: uni },
        200,
      ],
      ["GET /v1/cards", { method: "GET", url: "/v1/cards", token: uni }, 200],
      ["GET /v1/cards/:escn", { method: "GET", url: `/v1/cards/${escn}`, token: uni }, 200],
      [
        "PATCH /v1/cards/:escn",
        { method: "PATCH", url: `/v1/cards/${escn}`, token: uni, payload: { displayName: "J. Exemple" } },
        200,
      ],
      [
        "GET /v1/persons/:esi/consents",
        { method: "GET", url: `/v1/persons/${ESI}/consents`, token: uni },
        200,
      ],
      [
        "DELETE /v1/persons/:esi/consents/:purpose",
        { method: "DELETE", url: `/v1/persons/${ESI}/consents/display-name-publication`, token: uni },
        200,
      ],
      ["GET /v1/persons/:esi/export", { method: "GET", url: `/v1/persons/${ESI}/export`, token: uni }, 200],
      ["GET /v1/audit", { method: "GET", url: "/v1/audit", token: uni }, 200],
      [
        "POST /v1/persons/:esi/erasure",
        { method: "POST", url: `/v1/persons/${ESI_2}/erasure`, token: uni },
        200,
      ],
    ];
    for (const [route, request, status] of calls) {
      const answer = await call(request, status);
      walk(route, status, answer.json());
    }
    // Revoking needs a token's id, which only the answer that made it gives.
    const spare = (
      await call(
        {
          method: "POST",
          url: `/v1/organisations/${T}/tokens`,
          token: ADMIN_TOKEN,
          payload: { name: "revoked" },
        },
        201,
      )
    ).json<{ id: string }>();
    const revoked = await call(
      { method: "DELETE", url: `/v1/organisations/${T}/tokens/${spare.id}`, token: ADMIN_TOKEN },
      200,
    );
    walk("DELETE /v1/organisations/:id/tokens/:tokenId", 200, revoked.json());

    // The connector's last run is shown with it: one run first.
    assert.equal((await hub.services.syncs.runNow("sis")).ran, true);
    const connectors = await call({ method: "GET", url: "/v1/connectors", token: uni }, 200);
    assert.equal(connectors.json().items[0].lastRun.state, "completed", connectors.body);
    walk("GET /v1/connectors", 200, connectors.json());
    const runs = await call({ method: "GET", url: "/v1/connectors/runs", token: uni }, 200);
    walk("GET /v1/connectors/runs", 200, runs.json());
    const run = await call(
      { method: "GET", url: `/v1/connectors/runs/${runs.json().items[0].id}`, token: uni },
      200,
    );
    walk("GET /v1/connectors/runs/:id", 200, run.json());

    // Subscriptions: their routes need the id the creation answers, and a delivery in the queue.
    const created = await call(
      {
        method: "POST",
        url: "/v1/subscriptions",
        token: uni,
        payload: { url: "https://hooks.example.org/openesc", cards: [escn] },
      },
      201,
    );
    walk("POST /v1/subscriptions", 201, created.json());
    const id = created.json<{ id: string }>().id;
    const storage = hub.services.storage;
    const [event] = await storage.read.outbox.findByPositions([await storage.read.outbox.latestPosition()]);
    assert.ok(event);
    const deliveryId = await storage.transaction(async (tx) => {
      const at = "2026-10-01T10:00:00.000Z";
      await tx.deliveries.enqueue([
        {
          subscriptionId: id,
          eventId: event.id,
          position: event.position,
          subjectKey: "k",
          projection: "full",
          createdAt: at,
        },
      ]);
      const [delivery] = (await tx.deliveries.list(id, null, { after: 0, limit: 1 })).items;
      assert.ok(delivery);
      await tx.deliveries.markFailed(delivery.id, {
        at,
        status: 500,
        error: "answered 500",
        nextAttemptAt: null,
      });
      return delivery.id;
    });
    const subscriptionCalls: [string, InjectOptions & { token?: string }, number][] = [
      ["GET /v1/subscriptions", { method: "GET", url: "/v1/subscriptions", token: uni }, 200],
      ["GET /v1/subscriptions/:id", { method: "GET", url: `/v1/subscriptions/${id}`, token: uni }, 200],
      [
        "PATCH /v1/subscriptions/:id",
        {
          method: "PATCH",
          url: `/v1/subscriptions/${id}`,
          token: uni,
          payload: { description: "canteen tills" },
        },
        200,
      ],
      [
        "POST /v1/subscriptions/:id/cards",
        { method: "POST", url: `/v1/subscriptions/${id}/cards`, token: uni, payload: { add: [escn] } },
        200,
      ],
      [
        "GET /v1/subscriptions/:id/cards",
        { method: "GET", url: `/v1/subscriptions/${id}/cards`, token: uni },
        200,
      ],
      [
        "GET /v1/subscriptions/:id/deliveries",
        { method: "GET", url: `/v1/subscriptions/${id}/deliveries`, token: uni },
        200,
      ],
      [
        "POST /v1/subscriptions/:id/deliveries/:deliveryId/redeliver",
        { method: "POST", url: `/v1/subscriptions/${id}/deliveries/${deliveryId}/redeliver`, token: uni },
        200,
      ],
      [
        "POST /v1/subscriptions/:id/redeliver",
        { method: "POST", url: `/v1/subscriptions/${id}/redeliver`, token: uni },
        200,
      ],
      ["GET /v1/events", { method: "GET", url: "/v1/events?after=0", token: uni }, 200],
    ];
    for (const [route, request, status] of subscriptionCalls) {
      const answer = await call(request, status);
      walk(route, status, answer.json());
    }

    // The mirror's report, with a card the router refused so that the refusals carry one to walk.
    await storage.transaction(async (tx) => {
      await tx.mirrorJobs.enqueue([
        {
          organisationId: T,
          kind: "card",
          subject: escn,
          subjectKey: escn,
          position: 1,
          queuedAt: clock.now().toISOString(),
        },
      ]);
      const [job] = await tx.mirrorJobs.claimDue({
        now: clock.now().toISOString(),
        holder: "test",
        until: clock.now().toISOString(),
        limit: 1,
        organisationIds: [T],
      });
      assert.ok(job);
      await tx.mirrorJobs.settle(job.id, job.position, {
        state: "refused",
        at: clock.now().toISOString(),
        status: 400,
        operation: "POST",
        code: "PROCESSOR_UNKNOWN",
        message: `${CARD_BUREAU.id} is not a registered card bureau`,
      });
    });
    const mirrorCalls: [string, InjectOptions & { token?: string }, number][] = [
      ["GET /v1/mirror", { method: "GET", url: "/v1/mirror", token: uni }, 200],
      ["GET /v1/mirror/refusals", { method: "GET", url: "/v1/mirror/refusals", token: uni }, 200],
    ];
    for (const [route, request, status] of mirrorCalls) {
      const answer = await call(request, status);
      walk(route, status, answer.json());
    }

    // Credentials: the holder consents, the institution offers, a wallet receives, a verifier asks.
    const wording = (await call({ method: "GET", url: "/v1/consent-wordings" }, 200))
      .json<{ items: { purpose: string; current: string }[] }>()
      .items.find((w) => w.purpose === "credential-issuance")?.current;
    await call(
      {
        method: "PUT",
        url: `/v1/persons/${ESI}/consents/credential-issuance`,
        token: uni,
        payload: { wordingVersion: wording },
      },
      201,
    );
    const offered = await call(
      { method: "POST", url: "/v1/credential-offers", token: uni, payload: { escn } },
      201,
    );
    walk("POST /v1/credential-offers", 201, offered.json());
    const offer = offered.json<{ credentialOfferUri: string; txCode: string }>();
    const network = inProcessNetwork(hub);
    let issued: unknown;
    const recording: WalletFetch = async (url, init) => {
      const answer = await network.wallet(url, init);
      const text = await answer.text();
      if (url.endsWith("/credential")) issued = JSON.parse(text);
      return { status: answer.status, text: async () => text };
    };
    const holderKey = generateHolderKey();
    const { credential } = await receiveCredential({
      offer: offer.credentialOfferUri,
      txCode: offer.txCode,
      holderKey,
      fetch: recording,
      now: () => clock.now(),
    });
    walk("POST /issuers/:organisationId/credential", 200, issued);
    const presentation = await presentCredential(credential, {
      holderKey,
      audience: VERIFIER,
      nonce: "n-1",
      now: () => clock.now(),
    });
    const credentialCalls: [string, InjectOptions & { token?: string }, number][] = [
      [
        "POST /v1/credential-verifications",
        {
          method: "POST",
          url: "/v1/credential-verifications",
          payload: { presentation, audience: VERIFIER, nonce: "n-1" },
        },
        200,
      ],
      [
        "GET /v1/organisations/:id/issuer-keys",
        { method: "GET", url: `/v1/organisations/${T}/issuer-keys`, token: uni },
        200,
      ],
      [
        "POST /v1/organisations/:id/issuer-keys",
        { method: "POST", url: `/v1/organisations/${T}/issuer-keys`, token: uni, payload: {} },
        201,
      ],
    ];
    for (const [route, request, status] of credentialCalls) {
      const answer = await call(request, status);
      // The verdict walked is a valid one: the answer that names the disclosed claims.
      if (route === "POST /v1/credential-verifications") assert.equal(answer.json().valid, true, answer.body);
      walk(route, status, answer.json());
    }

    // Every route that answers JSON was walked: a new route needs a representative call here.
    const answeringJson = routes
      .filter((r) => Object.values(r.answers).some((paths) => paths.size > 0))
      .map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(
      answeringJson.filter((r) => !walked.has(r)),
      [],
      "routes no representative call above checks",
    );
    // The answers carried the personal fields, so the walk was not vacuous.
    for (const key of ["personLink.fullName", "personLink.email", "person.esi", "card.verdict"] as const) {
      assert.ok(carried.has(key), `no answer carried ${key}`);
    }
  });
});
