import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { startTestHub, type TestHub } from "../support/test-hub.ts";

interface ServedDocument {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string }>>;
  components: { schemas: Record<string, unknown> };
}

/** Routes left out of the API document on purpose: operations endpoints and the document itself. */
const HIDDEN = [/^\/metrics$/, /^\/openapi\.json$/, /^\/docs(\/.*)?$/];
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

/**
 * Every (method, path) Fastify has registered, read from `printRoutes({ commonPrefix: false })`, whose tree
 * gives each node's path relative to its parent. HEAD routes Fastify adds for each GET are left out.
 */
function registeredRoutes(tree: string): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split("\n")) {
    if (line.trim() === "") continue;
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    assert.ok(match, `printRoutes gave a line this test does not understand: ${JSON.stringify(line)}`);
    const depth = (match[1] ?? "").length / 4;
    const full = (stack[depth - 1] ?? "") + (match[2] ?? "");
    stack.length = depth;
    stack.push(full);
    for (const method of (match[3] ?? "").split(", ").filter((m) => m !== "" && m !== "HEAD")) {
      routes.push({ method: method.toLowerCase(), path: full.replace(/:(\w+)/g, "{$1}") });
    }
  }
  return routes;
}

describe("the API document at /openapi.json", () => {
  let hub: TestHub;
  let doc: ServedDocument;
  before(async () => {
    hub = await startTestHub();
    const served = await hub.request({ method: "GET", url: "/openapi.json" });
    assert.equal(served.statusCode, 200, served.body);
    assert.match(String(served.headers["content-type"]), /^application\/json/);
    doc = served.json<ServedDocument>();
  });
  after(() => hub?.close());

  it("is a valid OpenAPI 3.1 document for an independent validator", async () => {
    assert.match(doc.openapi, /^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    assert.deepEqual(result.errors, undefined, JSON.stringify(result.errors, null, 2));
    assert.equal(result.valid, true);
    assert.equal(validator.version, "3.1");
  });

  it("keeps the schemas' names as component names", () => {
    const names = Object.keys(doc.components.schemas);
    assert.deepEqual(
      names.filter((n) => /^def-\d+$/.test(n)),
      [],
      "components named def-N: a schema lost its $id",
    );
    for (const name of ["CardView", "PersonView", "Problem", "Organisation"]) {
      assert.ok(names.includes(name), `component ${name} is missing`);
    }
    // Every reference points at a component that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]*)"/g)].map((m) => m[1] ?? "");
    assert.ok(refs.length > 0);
    for (const ref of new Set(refs)) {
      const name = /^#\/components\/schemas\/([^/]+)$/.exec(ref)?.[1];
      assert.ok(name && names.includes(name), `dangling or foreign $ref ${ref}`);
    }
  });

  it("gives each operationId to one operation only", () => {
    const ids = Object.values(doc.paths).flatMap((item) =>
      Object.entries(item)
        .filter(([method]) => HTTP_METHODS.has(method))
        .flatMap(([, op]) => (op.operationId ? [op.operationId] : [])),
    );
    assert.deepEqual(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      [],
    );
  });

  it("documents every route Fastify serves, except the hidden ones, and nothing else", () => {
    const routes = registeredRoutes(hub.app.printRoutes({ commonPrefix: false }));
    // The parser found the routes it should (guards against a printRoutes format change).
    const key = (r: { method: string; path: string }) => `${r.method.toUpperCase()} ${r.path}`;
    const found = new Set(routes.map(key));
    for (const known of [
      "GET /esc-rest/api/v2/cards/{escn}/status",
      "DELETE /esc-rest/api/v2/persons/{esi}",
      "GET /metrics",
      "GET /docs",
    ]) {
      assert.ok(found.has(known), `${known} was not found in printRoutes`);
    }
    const undocumented = routes
      .filter((r) => !HIDDEN.some((hidden) => hidden.test(r.path)))
      .filter((r) => !doc.paths[r.path]?.[r.method])
      .map(key);
    assert.deepEqual(undocumented, [], "routes served but missing from /openapi.json");

    const documented = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.keys(item)
        .filter((m) => HTTP_METHODS.has(m))
        .map((method) => `${method.toUpperCase()} ${p}`),
    );
    assert.deepEqual(
      documented.filter((d) => !found.has(d)),
      [],
      "operations documented but not served",
    );
    for (const hidden of ["/metrics", "/openapi.json", "/docs"]) {
      assert.equal(doc.paths[hidden], undefined, `${hidden} is meant to stay out of the document`);
    }
  });

  it("serves a readable reference at /docs", async () => {
    const page = await hub.request({ method: "GET", url: "/docs" });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    assert.match(page.body, /<html[\s>]/i);
  });
});
