/**
 * Property-based tests: whatever a client sends to whatever route, the hub answers below 500, with a JSON
 * body in the shape of its part (or the documented SVG/text of the QR code), and never with a stack trace.
 *
 * The routes are read from the hub's own OpenAPI document, so a new route is fuzzed without editing this
 * file; the few undocumented ones (metrics, the document itself, the reference pages) are listed here.
 *
 * Reproducible: the seed is fixed, `FUZZ_SEED=<n>` replays another one (fast-check prints the seed and the
 * shrunk counterexample on failure), and `FUZZ_RUNS=<n>` multiplies the number of runs for a longer hunt.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it, type TestContext } from "node:test";
import fc from "fast-check";
import type { LightMyRequestResponse } from "fastify";
import {
  CANTEEN,
  CARD_BUREAU,
  cardPayload,
  ESI,
  OTHER_UNIVERSITY,
  personPayload,
  UNIVERSITY,
} from "../support/fixtures.ts";
import { ADMIN_TOKEN, startTestHub, type TestHub } from "../support/test-hub.ts";

const SEED = seedFromEnv();
const RUNS = runsFromEnv();
const runs = (n: number) => ({ seed: SEED, numRuns: n * RUNS, includeErrorInReport: true });

function seedFromEnv(): number {
  const raw = process.env["FUZZ_SEED"];
  if (raw === undefined || raw === "") return 20_260_901;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got "${raw}"`);
  return seed;
}

function runsFromEnv(): number {
  const raw = process.env["FUZZ_RUNS"];
  if (raw === undefined || raw === "") return 1;
  const factor = Number(raw);
  if (!Number.isSafeInteger(factor) || factor < 1)
    throw new Error(`FUZZ_RUNS must be 1 or more, got "${raw}"`);
  return factor;
}

const CARD_ESCN = "3e506370-826a-103d-bf76-001999888777";
const FUZZ_ESI = "urn:schac:personalUniqueCode:int:esi:be:FUZZ-1";

type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";

interface Route {
  readonly method: Method;
  /** The path with `{name}` placeholders, as in the OpenAPI document. */
  readonly template: string;
  readonly params: readonly string[];
  /** The names of the query parameters the operation declares. */
  readonly query: readonly string[];
  /** The properties the request body schema declares, or undefined when the operation takes no body. */
  readonly bodyProperties: readonly string[] | undefined;
  /** Whether the body schema refuses unknown properties (the native API). */
  readonly strictBody: boolean;
}

/** Routes the document does not list; `{rest}` stands for any remainder of the path. */
const UNDOCUMENTED: readonly Route[] = [
  {
    method: "GET",
    template: "/openapi.json",
    params: [],
    query: [],
    bodyProperties: undefined,
    strictBody: false,
  },
  {
    method: "GET",
    template: "/metrics",
    params: [],
    query: [],
    bodyProperties: undefined,
    strictBody: false,
  },
  { method: "GET", template: "/docs", params: [], query: [], bodyProperties: undefined, strictBody: false },
  {
    method: "GET",
    template: "/docs/{rest}",
    params: ["rest"],
    query: [],
    bodyProperties: undefined,
    strictBody: false,
  },
  {
    method: "GET",
    template: "/docs/static/{rest}",
    params: ["rest"],
    query: [],
    bodyProperties: undefined,
    strictBody: false,
  },
];

/**
 * Operations that read a body the document does not describe: the token endpoint's OAuth form and the
 * credential endpoint's OpenID4VCI request. They are fuzzed with bodies like the documented writes.
 */
const UNDESCRIBED_BODIES = new Set([
  "POST /issuers/{organisationId}/token",
  "POST /issuers/{organisationId}/credential",
]);

/** The OpenID4VCI endpoints whose errors are OAuth's (`{error, error_description}`) rather than problems. */
const OAUTH_ENDPOINT = /^\/issuers\/[^/]+\/(?:token|credential)$/;

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { in: string; name: string }[];
        requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
      }
    >
  >;
  components: {
    schemas: Record<string, { properties?: Record<string, unknown>; additionalProperties?: boolean }>;
  };
}

function routesOf(doc: OpenApiDocument): Route[] {
  const routes: Route[] = [];
  for (const [template, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const ref = operation.requestBody?.content["application/json"]?.schema.$ref;
      const schema = ref === undefined ? undefined : doc.components.schemas[ref.split("/").at(-1) ?? ""];
      routes.push({
        method: method.toUpperCase() as Method,
        template,
        params: [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? ""),
        query: (operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name),
        bodyProperties: operation.requestBody ? Object.keys(schema?.properties ?? {}) : undefined,
        strictBody: schema?.additionalProperties === false,
      });
    }
  }
  return routes;
}

/** A valid body for each write, to mutate; an operation missing here is fuzzed from `{}`. */
const VALID_BODIES: Record<string, () => Record<string, unknown>> = {
  "POST /esc-rest/api/v2/persons": () => personPayload(FUZZ_ESI, UNIVERSITY.id),
  "PUT /esc-rest/api/v2/persons/{esi}": () => personPayload(ESI, UNIVERSITY.id),
  "POST /esc-rest/api/v2/cards": () => cardPayload(ESI, UNIVERSITY.id),
  "PUT /esc-rest/api/v2/cards/{escn}": () => cardPayload(ESI, UNIVERSITY.id),
  "POST /v1/organisations": () => ({
    id: "222333444",
    kind: "student-service",
    name: "Fuzz Student Services",
    country: "BE",
    website: "https://www.example.org",
    colours: { main: "#003399", qr: "#000" },
    serves: [UNIVERSITY.id],
    processors: [CARD_BUREAU.id],
  }),
  "PATCH /v1/organisations/{id}": () => ({
    website: "https://www.example.edu",
    colours: { main: "#003399", secondary: null },
    showDisplayName: true,
    processors: [CARD_BUREAU.id],
  }),
  "POST /v1/organisations/{id}/tokens": () => ({
    name: "fuzz",
    scopes: ["cards:read", "persons:read"],
    expiresAt: "2099-01-01T00:00:00Z",
  }),
  "PUT /v1/student-statuses/{organisationId}/{esi}": () => ({
    state: "enrolled",
    validFrom: "2026-09-01",
    validUntil: "2027-08-31",
  }),
  "PUT /v1/persons/{esi}/consents/{purpose}": () => ({ wordingVersion: "2026-11" }),
  "PATCH /v1/cards/{escn}": () => ({
    status: "INACTIVE",
    inactiveReason: "lost",
    expiresAt: "2031-01-01",
    displayName: "J. E.",
  }),
  "POST /v1/credential-offers": () => ({ escn: CARD_ESCN, txCode: true }),
  "POST /v1/organisations/{id}/issuer-keys": () => ({ alg: "EdDSA" }),
  "POST /v1/credential-verifications": () => ({
    presentation: "eyJhbGciOiJFUzI1NiJ9.e30.c2ln~WyJzYWx0IiwibmFtZSIsInYiXQ~",
    audience: "https://canteen.example.org",
    nonce: "n-1",
  }),
  "POST /issuers/{organisationId}/credential": () => ({
    credential_configuration_id: "eu.europa.ec.eudi.esc.1",
    proofs: { jwt: ["eyJhbGciOiJFUzI1NiJ9.e30.c2ln"] },
  }),
};

const keyOf = (route: Route) => `${route.method} ${route.template}`;

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

/** Pieces of a raw URL segment, `%` escapes broken and whole, dot segments and separators included. */
const rawPiece = fc.constantFrom(
  "a",
  "Z",
  "0",
  "9",
  "-",
  ".",
  "_",
  "~",
  ":",
  "@",
  "!",
  "$",
  "&",
  "'",
  "(",
  "*",
  "+",
  ",",
  ";",
  "=",
  "%",
  "%zz",
  "%2",
  "%25",
  "%2F",
  "%2f",
  "%5C",
  "%00",
  "%0A",
  "%20",
  "%2e%2e",
  "..",
  "%C3%A9",
  "%E0%A4%A",
  "%ED%A0%80",
  "%F0%9F%98%80",
  "%FF",
  "urn",
  "esi",
);

/** Lone surrogates, NUL and friends: what a careless client or an attacker puts in a string. */
const nastyString = fc.constantFrom(
  "",
  " ",
  "\u0000",
  "\ud800",
  "a\udfffb",
  "\u202e",
  "\ufeff",
  "Ω≈ç√",
  "😀",
  "../../etc/passwd",
  "%s%n",
  "' OR 1=1 --",
  "<script>alert(1)</script>",
  "null",
  "undefined",
  "NaN",
  "1e400",
  "-0",
  "__proto__",
  "constructor",
);

const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.string({ minLength: 200, maxLength: 3000 }) },
);

/** Strings shaped like the identifiers the hub reads, right and almost right. */
const identifierLike = fc.oneof(
  fc.uuid({ version: [1, 4] }),
  fc.uuid({ version: 1 }).map((u) => `${u.slice(0, 24)}001999888777`),
  fc.uuid({ version: 1 }).map((u) => u.toUpperCase()),
  fc.stringMatching(/^[0-9]{8,10}$/),
  fc.stringMatching(/^[A-Z]{2}[0-9A-Z+*.\- ]{0,14}$/),
  fc.stringMatching(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/),
  fc.constantFrom("2025-02-30", "0000-00-00", "9999-12-31", "1899-12-31", "2026-9-1", "2026-09-01T00:00:00Z"),
  fc
    .tuple(fc.constantFrom("fr", "BE-BRU", "uw.edu.pl", "xx", "", "é.fr"), text)
    .map(([scope, code]) => `urn:schac:personalUniqueCode:int:esi:${scope}:${code}`),
  fc
    .tuple(fc.constantFrom("FR", "ZZ", "fr"), fc.stringMatching(/^[0-9]{7,10}$/), text)
    .map(([c, p, s]) => `${c}-${p}-${s}`),
  fc.constantFrom(
    CARD_ESCN,
    ESI,
    UNIVERSITY.id,
    OTHER_UNIVERSITY.id,
    CARD_BUREAU.id,
    CANTEEN.id,
    "operator",
    "ACTIVE",
    "INACTIVE",
    "enrolled",
    "MASTER",
    "SMART_PASSIVE",
    "organisations:manage",
  ),
);

/** Any JSON value a body field could be given instead of the right one. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, 1e21, -1e308, Number.MAX_SAFE_INTEGER + 2) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 3, arbitrary: text },
  { weight: 4, arbitrary: identifierLike },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(identifierLike, { maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  },
);

const unknownKey = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "id",
    "version",
    "seq",
    "createdAt",
    "a/b",
    "~",
  ),
);

type Path = readonly (string | number)[];

interface Mutation {
  readonly op: "drop" | "set" | "retext" | "add" | "duplicate" | "wrap";
  readonly at: number;
  readonly key: string;
  readonly value: unknown;
  /** For `retext`: another string for a string field, so that the schema passes and the services judge. */
  readonly text: string;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom("drop", "set", "set", "retext", "retext", "retext", "add", "duplicate", "wrap"),
  at: fc.nat(),
  key: unknownKey,
  value: wrongValue,
  text: fc.oneof(identifierLike, text),
});

/** Every path into a JSON value, the root first. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

function containerAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const step of path) node = (node as Record<string | number, unknown>)[step];
  return node;
}

/** Own property, even for `__proto__`, so that it reaches the JSON text. */
function define(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function mutate(body: unknown, mutations: readonly Mutation[]): unknown {
  let root: unknown = structuredClone(body);
  for (const m of mutations) {
    const paths = pathsOf(root);
    const path = paths[m.at % paths.length] ?? [];
    const parent = path.length === 0 ? undefined : containerAt(root, path.slice(0, -1));
    const last = path.at(-1);
    const target = containerAt(root, path);
    switch (m.op) {
      case "drop":
        if (parent === undefined || last === undefined) root = undefined;
        else if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete (parent as Record<string, unknown>)[last];
        break;
      case "set":
        if (parent === undefined || last === undefined) root = m.value;
        else define(parent as object, last, m.value);
        break;
      case "retext":
        if (typeof target === "string" && parent !== undefined && last !== undefined)
          define(parent as object, last, m.text);
        break;
      case "add":
        if (target !== null && typeof target === "object" && !Array.isArray(target))
          define(target, m.key, m.value);
        else if (parent !== undefined && !Array.isArray(parent)) define(parent as object, m.key, m.value);
        break;
      case "duplicate":
        if (Array.isArray(target)) target.push(...structuredClone(target));
        else if (Array.isArray(parent)) parent.push(structuredClone(target));
        break;
      case "wrap":
        if (parent === undefined || last === undefined) root = [root];
        else define(parent as object, last, [target]);
        break;
    }
  }
  return root;
}

type Caller = "admin" | "uni" | "bureau" | "canteen" | "none" | "unknown" | "malformed";
const caller = fc.constantFrom<Caller>(
  "admin",
  "uni",
  "uni",
  "bureau",
  "canteen",
  "none",
  "unknown",
  "malformed",
);

const contentType = fc.constantFrom(
  "application/json",
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "application/JSON",
  "application/problem+json",
  "application/merge-patch+json",
  "text/plain",
  "text/html",
  "application/xml",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "*/*",
  "json",
  "",
);

const accept = fc.constantFrom(
  undefined,
  "*/*",
  "application/json",
  "image/svg+xml",
  "text/plain",
  "text/html",
  "image/*",
  "text/plain, image/svg+xml;q=0.5",
  "application/xml",
  "garbage;;q=x",
);

/** Conditional and range headers, which the static files of the reference pages act on. */
const conditional = fc.record(
  {
    range: fc.constantFrom(
      "bytes=0-10",
      "bytes=999999999-",
      "bytes=garbage",
      "bytes=-0",
      "items=1-2",
      "bytes=5-1",
    ),
    "if-none-match": fc.constantFrom("*", '"x"', 'W/"1"', ""),
    "if-match": fc.constantFrom("*", '"x"', '"1"', "garbage"),
    "if-modified-since": fc.constantFrom(
      "Thu, 01 Jan 1970 00:00:00 GMT",
      "Fri, 31 Dec 9999 23:59:59 GMT",
      "yesterday",
    ),
    "if-unmodified-since": fc.constantFrom("Thu, 01 Jan 1970 00:00:00 GMT", "not a date"),
  },
  { requiredKeys: [] },
);

const ifMatch = fc.oneof(
  fc.constantFrom(
    undefined,
    undefined,
    '"1"',
    '"2"',
    'W/"1"',
    "1",
    "*",
    '""',
    '"1", "2"',
    '"999999999999"',
    '"1e3"',
  ),
  fc.string({ maxLength: 20 }),
);

/** A raw request body: none, any JSON text, text that is almost JSON, or JSON of any value. */
const rawBody: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc.object({ maxDepth: 2, values: [wrongValue] }).map((v) => JSON.stringify(v)),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      " ",
      "{",
      "[",
      '{"a":}',
      "{'a':1}",
      '{"a":1,}',
      "\ufeff{}",
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":{"x":1}}}',
      `${"[".repeat(5000)}${"]".repeat(5000)}`,
      `{"a":${"1".repeat(400)}}`,
      '{"a":"\\ud800"}',
      "\u0000",
    ),
  },
);

/** Percent-encodes like a client would; a lone surrogate becomes the bytes a careless encoder sends. */
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "")) + "%ED%A0%80";
  }
}

/** A path segment: valid, random and encoded, or raw with `%` escapes and dot segments. */
function segment(valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(valid) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(valid.toUpperCase(), `${valid}%20`, `${valid}.json`, `%20${valid}`),
    },
    { weight: 3, arbitrary: identifierLike.map(encode) },
    { weight: 3, arbitrary: text.map(encode) },
    { weight: 3, arbitrary: fc.string({ unit: rawPiece, minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: rawPiece, minLength: 100, maxLength: 160 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("..", ".", "%2e%2e", "..%2F..%2F..%2Fpackage.json", "a".repeat(301)),
    },
  );
}

/** A query string from declared and random names, numbers of every size, text and broken escapes. */
function queryString(declared: readonly string[]): fc.Arbitrary<string> {
  const names = [
    ...declared,
    "size",
    "page",
    "sort",
    "direction",
    "search",
    "after",
    "limit",
    "status",
    "state",
    "organisation",
    "prefix",
    "pic",
    "numberOfESCN",
  ];
  const name = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map(encode) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("__proto__", "constructor", "hasOwnProperty", "%zz", "size[]", "a[b]"),
    },
  );
  const value = fc.oneof(
    fc.integer().map(String),
    fc.constantFrom(
      "0",
      "-1",
      "1.5",
      "1e3",
      "0x10",
      "Infinity",
      "NaN",
      "",
      "99999999999999999999",
      "2147483648",
    ),
    fc.constantFrom(
      "ASC",
      "desc",
      "createdAt",
      "fullName",
      "cardNumber",
      "ACTIVE",
      "enrolled",
      "XS",
      "M",
      "inverted",
    ),
    fc.constantFrom("vertical", UNIVERSITY.id, "cDox", Buffer.from("p:0").toString("base64url")),
    text.map(encode),
    fc.string({ unit: rawPiece, maxLength: 12 }),
  );
  return fc
    .array(fc.tuple(name, fc.option(value, { nil: undefined })), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join("&"));
}

// ---------------------------------------------------------------------------------------------------------
// What every answer must satisfy

// biome-ignore lint/suspicious/noControlCharactersInRegex: no raw control character may reach a message
const RAW_CONTROL = /[\u0000-\u0008\u000a-\u001f]/;

/** A stack frame (`at fn (file:line:col)`), raw or JSON-escaped. */
const STACK_FRAME = /(?:^|\n|\\n)\s*at (?:async )?(?:[\w$.<>[\]]+ \(|file:|node:|\/)/;

interface SentRequest {
  readonly method: Method;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string;
}

function describeRequest(req: SentRequest, res: LightMyRequestResponse): string {
  const body = req.payload === undefined ? "" : ` body=${JSON.stringify(req.payload.slice(0, 300))}`;
  return `${req.method} ${req.url.slice(0, 400)} headers=${JSON.stringify(req.headers)}${body}\n→ ${res.statusCode} ${String(res.headers["content-type"])} ${res.body.slice(0, 500)}`;
}

/** The path the hub receives: the in-process client resolves dot segments (`/a/../b`), as browsers do. */
function pathAsSent(url: string): string {
  try {
    return new URL(url, "https://hub.example.org").pathname;
  } catch {
    return url.split("?")[0] ?? "";
  }
}

function checkAnswer(req: SentRequest, res: LightMyRequestResponse): void {
  const about = describeRequest(req, res);
  assert.ok(res.statusCode < 500, `a 5xx: ${about}`);
  assert.ok(res.statusCode >= 200, `not a final status: ${about}`);
  assert.doesNotMatch(res.body, STACK_FRAME, `a stack frame leaked: ${about}`);
  assert.ok(!res.body.includes(process.cwd()), `a file path leaked: ${about}`);
  assert.ok(!res.body.includes('"name": "openesc"'), `a project file was served: ${about}`);
  const type = String(res.headers["content-type"] ?? "");
  const path = pathAsSent(req.url);
  if (req.method === "HEAD" || res.statusCode === 204) {
    assert.equal(res.body, "", `a body on a ${req.method} ${res.statusCode}: ${about}`);
    return;
  }
  if (res.statusCode >= 400) {
    if (OAUTH_ENDPOINT.test(path) && !type.startsWith("application/problem+json")) {
      // OAuth's error answer (RFC 6749 §5.2), never cached; a 401 says which token problem in its header.
      assert.match(type, /^application\/json/, `an OAuth error is not JSON: ${about}`);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(body).sort(),
        ["error", "error_description"],
        `not an OAuth error: ${about}`,
      );
      assert.equal(res.headers["cache-control"], "no-store", about);
      if (res.statusCode === 401)
        assert.match(String(res.headers["www-authenticate"]), /^Bearer error="/, about);
    } else if (path.startsWith("/esc-rest/")) {
      assert.match(type, /^application\/json/, `an ESC-R error is not JSON: ${about}`);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ["code", "message"], `not an ESC-R error: ${about}`);
      assert.ok(typeof body["code"] === "string" && typeof body["message"] === "string", about);
    } else {
      assert.match(type, /^application\/problem\+json/, `not a problem document: ${about}`);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      assert.equal(body["status"], res.statusCode, `the problem's status differs: ${about}`);
      assert.ok(typeof body["code"] === "string" && typeof body["detail"] === "string", about);
    }
    return;
  }
  if (path.startsWith("/docs")) return; // the reference pages: HTML, scripts, styles
  if (path === "/issuers/ca.pem") {
    assert.match(type, /^application\/x-pem-file/, about);
    assert.match(res.body, /^-----BEGIN CERTIFICATE-----\n/, about);
    return;
  }
  if (/^\/issuers\/[^/]+\/status-lists\/[^/]+$/.test(path)) {
    assert.equal(type, "application/statuslist+jwt", about);
    assert.match(res.body, /^[\w-]+\.[\w-]+\.[\w-]+$/, about);
    return;
  }
  if (path === "/metrics") {
    assert.match(type, /^text\/plain/, about);
    return;
  }
  if (/^\/esc-rest\/api\/v2\/cards\/[^/]+\/qr$/.test(path)) {
    assert.match(type, /^(?:image\/svg\+xml|text\/plain)/, `the QR code is neither SVG nor text: ${about}`);
    if (type.startsWith("image/svg+xml")) assert.match(res.body, /^<svg /, about);
    else assert.match(res.body, /^[A-Za-z0-9+/]+=*$/, about);
    return;
  }
  assert.match(type, /^application\/json/, `a success that is not JSON: ${about}`);
  assert.doesNotThrow(() => JSON.parse(res.body), `a success that does not parse: ${about}`);
}

// ---------------------------------------------------------------------------------------------------------

describe("fuzz: every route, any input", () => {
  let hub: TestHub;
  let routes: Route[];
  let writes: Route[];
  const tokens: Record<Caller, string | undefined> = {
    admin: ADMIN_TOKEN,
    uni: undefined,
    bureau: undefined,
    canteen: undefined,
    none: undefined,
    unknown: "oesc_unknown-token-0123456789",
    malformed: undefined,
  };
  /** A token made to be revoked, so that DELETE …/tokens/{tokenId} can hit a real one. */
  let victimTokenId = "";

  const validParam = (name: string): string =>
    ({
      escn: CARD_ESCN,
      esi: ESI,
      id: UNIVERSITY.id,
      organisationId: UNIVERSITY.id,
      tokenId: victimTokenId,
      purpose: "status-sharing",
      rest: "index.html",
    })[name] ?? "x";

  async function send(
    route: Route,
    path: string,
    query: string,
    who: Caller,
    headers: Record<string, string | undefined>,
    payload: string | undefined,
  ): Promise<void> {
    const sentHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) sentHeaders[k] = v;
    if (who === "malformed") sentHeaders["authorization"] = "Token abc";
    const token = tokens[who];
    if (token !== undefined) sentHeaders["authorization"] = `Bearer ${token}`;
    const req: SentRequest = {
      // A stream that opens never ends; its HEAD runs the same checks (token, query, subscription) and returns.
      method: route.template === "/v1/events/stream" && route.method === "GET" ? "HEAD" : route.method,
      url: query === "" ? path : `${path}?${query}`,
      headers: sentHeaders,
      ...(payload === undefined ? {} : { payload }),
    };
    const res = await hub.request({
      method: req.method,
      url: req.url,
      headers: req.headers,
      ...(payload === undefined ? {} : { payload }),
    });
    checkAnswer(req, res);
  }

  const fill = (route: Route, values: Record<string, string> = {}) =>
    route.template.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? validParam(name));

  const callerFor = (route: Route): Caller =>
    route.template.startsWith("/v1/organisations") ? "admin" : "uni";

  before(async () => {
    hub = await startTestHub();
    tokens.uni = await hub.onboard(UNIVERSITY);
    await hub.onboard(OTHER_UNIVERSITY);
    tokens.bureau = await hub.onboard(CARD_BUREAU);
    tokens.canteen = await hub.onboard(CANTEEN);
    for (const id of [UNIVERSITY.id, OTHER_UNIVERSITY.id]) {
      const res = await hub.request({
        method: "PATCH",
        url: `/v1/organisations/${id}`,
        token: ADMIN_TOKEN,
        payload: { processors: [CARD_BUREAU.id] },
      });
      assert.equal(res.statusCode, 200, res.body);
    }
    const seeds = [
      { method: "POST", url: "/esc-rest/api/v2/persons", payload: personPayload(ESI, UNIVERSITY.id) },
      {
        method: "PUT",
        url: `/v1/student-statuses/${UNIVERSITY.id}/${ESI}`,
        payload: { state: "enrolled", validFrom: "2026-09-01" },
      },
      {
        method: "POST",
        url: "/esc-rest/api/v2/cards",
        payload: cardPayload(ESI, UNIVERSITY.id, { cardNumber: CARD_ESCN }),
      },
    ] as const;
    for (const seed of seeds) {
      const res = await hub.request({ ...seed, token: tokens.uni, payload: { ...seed.payload } });
      assert.ok(res.statusCode === 201, `${seed.url}: ${res.body}`);
    }
    const victim = await hub.request({
      method: "POST",
      url: `/v1/organisations/${UNIVERSITY.id}/tokens`,
      token: ADMIN_TOKEN,
      payload: { name: "to be revoked" },
    });
    victimTokenId = victim.json<{ id: string }>().id;

    const doc = (await hub.request({ method: "GET", url: "/openapi.json" })).json<OpenApiDocument>();
    routes = [...routesOf(doc), ...UNDOCUMENTED].map((r) =>
      UNDESCRIBED_BODIES.has(keyOf(r)) ? { ...r, bodyProperties: [] } : r,
    );
    writes = routes.filter((r) => r.bodyProperties !== undefined);
    assert.ok(
      routes.length >= 25 && writes.length >= 9,
      `the document lists too few routes: ${routes.length}`,
    );
  });
  after(() => hub.close());

  it("random bodies, content types and headers to every write answer below 500, in the part's shape", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        caller,
        rawBody,
        contentType,
        accept,
        ifMatch,
        async (pick, who, payload, type, acceptHeader, version) => {
          const route = writes[pick % writes.length] as Route;
          await send(
            route,
            fill(route),
            "",
            who,
            {
              "content-type": payload === undefined ? undefined : type,
              accept: acceptHeader,
              "if-match": version,
            },
            payload,
          );
        },
      ),
      runs(250),
    );
  });

  it("mutated valid payloads (fields dropped, retyped, added, duplicated) answer below 500", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (pick, mutations) => {
          const route = writes[pick % writes.length] as Route;
          const body = mutate(VALID_BODIES[keyOf(route)]?.() ?? {}, mutations);
          await send(
            route,
            fill(route),
            "",
            callerFor(route),
            { "content-type": "application/json" },
            JSON.stringify(body),
          );
        },
      ),
      runs(300),
    );
  });

  it("an unknown field is a 400 naming it on the native API, whatever else the body holds", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    const strict = writes.filter((r) => r.strictBody);
    assert.ok(strict.length >= 5, "the native writes should refuse unknown fields");
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        unknownKey,
        wrongValue,
        fc.array(mutation, { maxLength: 2 }),
        async (pick, key, value, mutations) => {
          const route = strict[pick % strict.length] as Route;
          fc.pre(!(route.bodyProperties ?? []).includes(key));
          const body = mutate(VALID_BODIES[keyOf(route)]?.() ?? {}, mutations);
          fc.pre(body !== null && typeof body === "object" && !Array.isArray(body));
          define(body as object, key, value);
          const res = await hub.request({
            method: route.method,
            url: fill(route),
            token: tokens[callerFor(route)],
            headers: { "content-type": "application/json" },
            payload: JSON.stringify(body),
          });
          const about = `${route.method} ${fill(route)} ${JSON.stringify(body).slice(0, 300)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          assert.equal(res.statusCode, 400, about);
          if (/"(?:__proto__|constructor)":/.test(JSON.stringify(body))) return; // may be refused as JSON first
          const problem = res.json<{ code: string; errors?: { field: string }[] }>();
          assert.equal(problem.code, "VALIDATION_FAILED", about);
          assert.ok(
            problem.errors?.some((e) => e.field === `/${key}`),
            `the unknown field is not named: ${about}`,
          );
        },
      ),
      runs(200),
    );
  });

  it("random identifiers in paths (escapes, dot segments, long, unicode) answer below 500, with or without a token", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    const withParams = routes.filter((r) => r.params.length > 0);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(fc.nat(), { minLength: 2, maxLength: 2 }),
        fc.tuple(segment(CARD_ESCN), segment(ESI), segment(UNIVERSITY.id)),
        caller,
        fc.constantFrom<Method | undefined>(
          undefined,
          undefined,
          undefined,
          "GET",
          "DELETE",
          "OPTIONS",
          "PATCH",
        ),
        async (pick, which, [escnLike, esiLike, idLike], who, otherMethod) => {
          const documented = withParams[pick % withParams.length] as Route;
          const route = otherMethod === undefined ? documented : { ...documented, method: otherMethod };
          const candidates = [escnLike, esiLike, idLike];
          const values: Record<string, string> = {};
          route.params.forEach((name, i) => {
            values[name] = candidates[((which[i] ?? 0) + i) % candidates.length] ?? "";
          });
          const body =
            route.bodyProperties === undefined
              ? undefined
              : JSON.stringify(VALID_BODIES[keyOf(route)]?.() ?? {});
          await send(
            route,
            fill(route, values),
            "",
            who,
            { "content-type": body === undefined ? undefined : "application/json" },
            body,
          );
        },
      ),
      runs(300),
    );
  });

  it("random query strings and conditional headers to every route answer below 500, with or without a token", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    await fc.assert(
      fc.asyncProperty(
        fc.nat().chain((pick) => {
          const route = routes[pick % routes.length] as Route;
          return fc.tuple(fc.constant(route), queryString(route.query));
        }),
        caller,
        accept,
        conditional,
        async ([route, query], who, acceptHeader, conditions) => {
          const body =
            route.bodyProperties === undefined
              ? undefined
              : JSON.stringify(VALID_BODIES[keyOf(route)]?.() ?? {});
          await send(
            route,
            fill(route),
            query,
            who,
            {
              ...conditions,
              "content-type": body === undefined ? undefined : "application/json",
              accept: acceptHeader,
            },
            body,
          );
        },
      ),
      runs(300),
    );
  });

  it("random CSV files, well formed or not, in any encoding, to the card CSV dry run answer below 500", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    const header = "cardNumber,personIdentifier,issuerIdentifier,cardType,cardStatusType,issuedAt,expiresAt";
    const field = fc.oneof(identifierLike, text, fc.constantFrom('"', '""', '"a,b"', '"a\nb"', "=1+1", ""));
    const row = fc.array(field, { maxLength: 10 });
    const file = fc
      .tuple(
        fc.boolean(),
        fc.array(row, { maxLength: 6 }),
        fc.constantFrom(",", ";", "\t", "|"),
        fc.constantFrom("\n", "\r\n", "\r"),
      )
      .map(([withHeader, rows, delimiter, end]) =>
        [
          ...(withHeader ? [header.replaceAll(",", delimiter)] : []),
          ...rows.map((r) => r.join(delimiter)),
        ].join(end),
      );
    const bytes = fc.oneof(
      { weight: 4, arbitrary: file.map((f) => Buffer.from(f, "utf8")) },
      {
        weight: 1,
        arbitrary: file.map((f) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(f, "utf16le")])),
      },
      { weight: 1, arbitrary: file.map((f) => Buffer.from(f, "latin1")) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
    );
    await fc.assert(
      fc.asyncProperty(
        bytes,
        fc.constantFrom("CREATE", "UPDATE", "DELETE", "create", "", "MERGE"),
        fc.constantFrom("text/csv", "text/csv; charset=utf-8", "TEXT/CSV", "text/plain", "application/json"),
        fc.constantFrom<Caller>("uni", "uni", "bureau", "canteen", "none"),
        async (body, operation, type, who) => {
          const token = tokens[who];
          const headers: Record<string, string> = {
            "content-type": type,
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          };
          const url = `/esc-rest/api/v2/cards/validate-csv?operation=${operation}`;
          const res = await hub.request({ method: "POST", url, headers, payload: body });
          const req: SentRequest = { method: "POST", url, headers, payload: body.toString("latin1") };
          checkAnswer(req, res);
          if (res.statusCode !== 200) return;
          const answer = res.json<{ valid: boolean; rows: number; errors: Record<string, unknown>[] }>();
          assert.equal(answer.valid, answer.errors.length === 0, describeRequest(req, res));
          for (const error of answer.errors) {
            assert.deepEqual(
              Object.keys(error),
              ["rowNumber", "fieldName", "errorMessage"],
              describeRequest(req, res),
            );
            assert.doesNotMatch(String(error["errorMessage"]), RAW_CONTROL, describeRequest(req, res));
          }
        },
      ),
      runs(200),
    );
  });

  it("random uploads, forms well made or broken, to the import answer below 500, problems without raw controls", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    const header = "esi,fullName,email,statusState,validFrom,cardType,issuedAt,expiresAt";
    const field = fc.oneof(identifierLike, text, fc.constantFrom('"', '"a,b"', "=1+1", "", "enrolled"));
    const csvFile = fc
      .tuple(fc.boolean(), fc.array(fc.array(field, { maxLength: 9 }), { maxLength: 6 }))
      .map(([withHeader, rows]) =>
        [...(withHeader ? [header] : []), ...rows.map((r) => r.join(","))].join("\n"),
      );
    const jsonlFile = fc
      .array(fc.oneof(fc.json({ maxDepth: 2 }), fc.record({ esi: identifierLike, fullName: text })), {
        maxLength: 5,
      })
      .map((lines) => lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n"));
    const content = fc.oneof(
      csvFile.map((f) => Buffer.from(f, "utf8")),
      jsonlFile.map((f) => Buffer.from(f, "utf8")),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    );
    const part = fc.record({
      name: fc.constantFrom("file", "file", "file", "format", "students", "__proto__", ""),
      filename: fc.option(
        fc.constantFrom("s.csv", "s.jsonl", "s.ndjson", "s.txt", "", "../../x.csv", "é\u0000.csv"),
      ),
      type: fc.option(
        fc.constantFrom(
          "text/csv",
          "application/jsonl",
          "application/octet-stream",
          "text/plain",
          "x/y; a=b",
        ),
      ),
      content: fc.oneof(
        content,
        fc.constantFrom("csv", "jsonl", "xml").map((f) => Buffer.from(f)),
      ),
    });
    /** What a client means to send: the file alone, in the part `file`, its format said by its type and name. */
    const intended = fc
      .tuple(content, fc.constantFrom(["s.csv", "text/csv"], ["s.jsonl", "application/jsonl"]))
      .map(([bytes, [filename, type]]) => [{ name: "file", filename, type, content: bytes }]);
    const boundary = "fuzz-boundary";
    const encode = (
      parts: readonly { name: string; filename: string | null; type: string | null; content: Buffer }[],
    ) =>
      Buffer.concat([
        ...parts.flatMap((p) => [
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"` +
              `${p.filename === null ? "" : `; filename="${p.filename}"`}\r\n` +
              `${p.type === null ? "" : `Content-Type: ${p.type}\r\n`}\r\n`,
          ),
          p.content,
          Buffer.from("\r\n"),
        ]),
        Buffer.from(`--${boundary}--\r\n`),
      ]);
    const form = fc.oneof(fc.array(part, { minLength: 0, maxLength: 3 }).map(encode), intended.map(encode));
    const body = fc.oneof(
      { weight: 4, arbitrary: form },
      {
        weight: 1,
        arbitrary: fc.tuple(form, fc.nat()).map(([f, cut]) => f.subarray(0, cut % (f.length + 1))),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
    );
    const anyRequest = fc.tuple(
      body,
      fc.constantFrom(
        `multipart/form-data; boundary=${boundary}`,
        "multipart/form-data",
        "multipart/form-data; boundary=other",
        "multipart/mixed; boundary=x",
        "text/csv",
      ),
      fc.constantFrom("", "dryRun=true", "dryRun=true&format=csv", "format=x", "dryRun=yes"),
      fc.constantFrom<Caller>("uni", "bureau", "none"),
    );
    /** An import as a client means it, whose file only is random: it reaches the engine. */
    const meant = fc.tuple(
      intended.map(encode),
      fc.constant(`multipart/form-data; boundary=${boundary}`),
      fc.constantFrom("", "dryRun=true"),
      fc.constant<Caller>("uni"),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyRequest, meant), async ([payload, type, query, who]) => {
        const token = tokens[who];
        const headers: Record<string, string> = {
          "content-type": type,
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        };
        const url = `/v1/imports${query === "" ? "" : `?${query}`}`;
        const res = await hub.request({ method: "POST", url, headers, payload });
        const req: SentRequest = { method: "POST", url, headers, payload: payload.toString("latin1") };
        checkAnswer(req, res);
        if (res.statusCode !== 200) return;
        const answer = res.json<{ problems: Record<string, unknown>[]; rejected: number }>();
        assert.ok(answer.problems.length <= answer.rejected, describeRequest(req, res));
        for (const problem of answer.problems) {
          assert.deepEqual(
            Object.keys(problem),
            ["row", "field", "reason", "locator"],
            describeRequest(req, res),
          );
          for (const value of Object.values(problem)) {
            assert.doesNotMatch(String(value), RAW_CONTROL, describeRequest(req, res));
          }
        }
      }),
      runs(200),
    );
  });

  it("random methods and paths off the route table are a 4xx in the shape of their part", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    const prefixes = [
      "/",
      "/v1/",
      "/esc-rest/api/v2/",
      "/esc-rest/",
      "/docs/",
      "/v1/cards/",
      "//",
      "/esc-rest/api/v2/cards/",
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Method>("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
        fc.constantFrom(...prefixes),
        fc.array(fc.string({ unit: rawPiece, minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 4 }),
        caller,
        async (method, prefix, segments, who) => {
          const route: Route = {
            method,
            template: "",
            params: [],
            query: [],
            bodyProperties: undefined,
            strictBody: false,
          };
          await send(route, prefix + segments.join("/"), "", who, {}, undefined);
        },
      ),
      runs(150),
    );
  });
});

describe("fuzz: bodies around the size limit", () => {
  let hub: TestHub;
  let uni = "";
  before(async () => {
    hub = await startTestHub({ env: { OPENESC_BODY_LIMIT: "2048" } });
    uni = await hub.onboard(UNIVERSITY);
  });
  after(() => hub.close());

  it("a body of any size answers below 500, and 413 BODY_TOO_LARGE above the limit", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    const targets = [
      { method: "POST", url: "/esc-rest/api/v2/persons" },
      { method: "POST", url: "/esc-rest/api/v2/cards" },
      { method: "PUT", url: `/v1/student-statuses/${UNIVERSITY.id}/${ESI}` },
      { method: "PATCH", url: `/v1/cards/${CARD_ESCN}` },
      { method: "POST", url: `/v1/organisations/${UNIVERSITY.id}/tokens` },
    ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...targets),
        fc.integer({ min: 1500, max: 6000 }),
        fc.constantFrom("x", "é", "😀", "\\u0000"),
        fc.boolean(),
        async (target, length, unit, declared) => {
          const filler = unit.repeat(Math.ceil(length / Buffer.byteLength(unit)));
          const payload = JSON.stringify({ fullName: filler }).slice(0, length);
          const req: SentRequest = {
            method: target.method,
            url: target.url,
            headers: { authorization: `Bearer ${uni}`, "content-type": "application/json" },
            payload,
          };
          const res = await hub.request({
            method: req.method,
            url: req.url,
            headers: declared
              ? { ...req.headers, "content-length": String(Buffer.byteLength(payload)) }
              : req.headers,
            payload,
          });
          checkAnswer(req, res);
          if (Buffer.byteLength(payload) > 2048) {
            assert.equal(res.statusCode, 413, describeRequest(req, res));
            assert.equal(res.json().code, "BODY_TOO_LARGE", describeRequest(req, res));
          }
        },
      ),
      runs(150),
    );
  });

  it("random tokens in the Authorization header are a 401, never more", async (t: TestContext) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
          fc.string({ maxLength: 80 }),
          fc.constantFrom(
            "Bearer",
            "Bearer ",
            "bearer oesc_",
            `Bearer ${"a".repeat(5000)}`,
            `Bearer ${randomUUID()}`,
          ),
        ),
        fc.constantFrom("/v1/me", "/v1/cards", "/esc-rest/api/v2/persons", "/esc-rest/api/v2/cards"),
        async (authorization, url) => {
          const req: SentRequest = { method: "GET", url, headers: { authorization } };
          const res = await hub.request({ method: "GET", url, headers: { authorization } });
          checkAnswer(req, res);
          assert.equal(res.statusCode, 401, describeRequest(req, res));
        },
      ),
      runs(150),
    );
  });
});
