import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { InjectOptions } from "fastify";
import { ERROR_CODES } from "../../src/domain/errors.ts";
import {
  CANTEEN,
  CARD_BUREAU,
  cardPayload,
  ESI,
  ESI_2,
  OTHER_UNIVERSITY,
  personPayload,
  UNIVERSITY,
} from "../support/fixtures.ts";
import { fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";

/**
 * Conformance with the published ESC Router V2 OpenAPI document: same operations under the same paths,
 * every answer valid against the schema the document declares for it, the same write views. The document
 * is not ours to copy: it is read from beside the repository, and CI must have it.
 */
const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const ESC_R_DOCUMENT = path.resolve(REPO_ROOT, "../shared/reference/esc-router-v2.openapi.json");
const DOCUMENT_PRESENT = existsSync(ESC_R_DOCUMENT);
const MISSING =
  "the ESC-R OpenAPI document is not at ../shared/reference/esc-router-v2.openapi.json beside the repository";
const SUITE = "ESC Router V2 conformance with the published OpenAPI document";

// ---------------------------------------------------------------------------------------------------------
// Accepted differences from the ESC-R document. Each is deliberate (most are in the table "Where we differ
// from the ESC Router" of docs/api.md); anything else that does not validate is a bug in OpenESC.
// ---------------------------------------------------------------------------------------------------------

/** Answers ("operationId status") that the ESC-R document does not declare and OpenESC gives on purpose. */
const UNDECLARED_ANSWERS: Readonly<Record<string, string>> = {
  // ESC-R declares only 404 and 500 on the public status: a malformed ESCN cannot name any card, so OpenESC
  // says so with a 400 naming the field, rather than a 404 that hides the client's mistake (docs/api.md).
  "status 400": "a malformed ESCN is a 400, an unknown well-formed one a 404",
  // ESC-R declares no 400 on DELETE; a malformed identifier in the path is a 400 as on GET and PUT.
  "delete 400": "a malformed ESI in the path is a 400, as for GET and PUT",
  "delete_1 400": "a malformed ESCN in the path is a 400, as for GET and PUT",
  // Deleting a person who still holds cards would leave cards without a holder (docs/api.md).
  "delete 409": "PERSON_HAS_CARDS: a person who holds cards of the caller's organisation is not deleted",
  // ESC-R declares only 400 and 500 on the QR code; an unknown card is a 404 as on /status.
  "getQRCode 404": "an unknown ESCN is a 404, as on /status",
  // Content negotiation: an Accept header that allows neither declared media type is a 406.
  "getQRCode 406": "an Accept header allowing neither image/svg+xml nor text/plain is a 406",
};

/**
 * Operations whose error answers are `application/json` although ESC-R declares them under other media
 * types: ESC-R declares the QR code's ApiErrorMessage as image/svg+xml and text/plain, which cannot carry
 * a JSON object; OpenESC answers `{code, message}` as JSON, like every other error.
 */
const JSON_ERRORS_DESPITE_DECLARED_MEDIA: ReadonlySet<string> = new Set(["getQRCode"]);

/**
 * Fields OpenESC adds to a read view of the ESC-R document. The document's schemas do not forbid
 * additional properties; the "closed" check below does, so that a misspelt or stray field is caught,
 * and these are the only extras allowed.
 */
const EXTRA_READ_FIELDS: Readonly<Record<string, Readonly<Record<string, object>>>> = {
  // The newer ESC-R versions move fullName into each organisation link: each organisation keeps the name
  // it knows the student by. PersonView.fullName stays, for older clients (docs/api.md).
  PersonOrganisationView: { fullName: { type: "string" } },
};

// ---------------------------------------------------------------------------------------------------------
// The ESC-R document, its schemas compiled with the JSON Schema 2020-12 validator.
// ---------------------------------------------------------------------------------------------------------

type JsonSchema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  $ref?: string;
};
interface MediaTypeObject {
  schema?: JsonSchema;
}
interface ResponseObject {
  description?: string;
  content?: Record<string, MediaTypeObject>;
}
interface ParameterObject {
  name: string;
  in: string;
  required?: boolean;
}
interface OperationObject {
  operationId?: string;
  parameters?: ParameterObject[];
  requestBody?: { content?: Record<string, MediaTypeObject> };
  responses?: Record<string, ResponseObject>;
}
interface OpenApiDocument {
  servers?: { url: string }[];
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, JsonSchema> };
}
interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operation: OperationObject;
}

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, operation]) => ({ method, path: p, operation })),
  );
}

const DECLARED_ID = "urn:openesc:test:esc-router-v2";
const CLOSED_ID = "urn:openesc:test:esc-router-v2-closed";

/** A copy of the document's schemas where no object may have a property its schema does not declare. */
function closedSchemas(schemas: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const close = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(close);
    if (node === null || typeof node !== "object") return node;
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) copy[key] = key === "example" ? value : close(value);
    if (typeof copy["properties"] === "object" && copy["additionalProperties"] === undefined) {
      copy["additionalProperties"] = false;
    }
    return copy;
  };
  const closed = close(schemas) as Record<string, JsonSchema>;
  for (const [name, extras] of Object.entries(EXTRA_READ_FIELDS)) {
    const schema = closed[name];
    assert.ok(schema?.properties, `the ESC-R document has no schema ${name} to add fields to`);
    Object.assign(schema.properties, extras);
  }
  return closed;
}

class EscRouterContract {
  readonly doc: OpenApiDocument;
  readonly serverUrl: string;
  readonly #ajv: Ajv2020;
  readonly #cache = new Map<string, ValidateFunction>();
  readonly #byId = new Map<string, Operation>();

  constructor(doc: OpenApiDocument) {
    this.doc = doc;
    this.serverUrl = doc.servers?.[0]?.url ?? "";
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    (addFormats as unknown as (ajv: Ajv2020) => void)(this.#ajv);
    this.#ajv.addFormat("int32", {
      type: "number",
      validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
    });
    this.#ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
    this.#ajv.addSchema({ $id: DECLARED_ID, components: { schemas: doc.components.schemas } });
    this.#ajv.addSchema({ $id: CLOSED_ID, components: { schemas: closedSchemas(doc.components.schemas) } });
    for (const op of operationsOf(doc)) {
      if (op.operation.operationId) this.#byId.set(op.operation.operationId, op);
    }
  }

  operation(operationId: string): Operation {
    const op = this.#byId.get(operationId);
    assert.ok(op, `the ESC-R document has no operation ${operationId}`);
    return op;
  }

  operationIds(): string[] {
    return [...this.#byId.keys()];
  }

  /** Errors of `value` against `schema` (from the document), as declared and with no undeclared field. */
  check(schema: JsonSchema, value: unknown): string[] {
    const problems: string[] = [];
    for (const [label, base] of [
      ["as declared", DECLARED_ID],
      ["undeclared field", CLOSED_ID],
    ] as const) {
      const validate = this.#compile(schema, base);
      if (!validate(value)) problems.push(`${label}: ${this.#ajv.errorsText(validate.errors)}`);
    }
    return problems;
  }

  schemaNamed(name: string): JsonSchema {
    return { $ref: `#/components/schemas/${name}` };
  }

  #compile(schema: JsonSchema, base: string): ValidateFunction {
    const text = JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${base}#/components/schemas/`);
    const key = `${base} ${text}`;
    let validate = this.#cache.get(key);
    if (!validate) {
      validate = this.#ajv.compile(JSON.parse(text) as object);
      this.#cache.set(key, validate);
    }
    return validate;
  }
}

// ---------------------------------------------------------------------------------------------------------

const ESI_3 = "urn:schac:personalUniqueCode:int:esi:fr:9876543210B";
const ESI_UNKNOWN = "urn:schac:personalUniqueCode:int:esi:fr:0000000000Z";
const ESCN_OF_UNIVERSITY = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-\d{3}999888777$/;
const UNKNOWN_ESCN = "3e506370-826a-103d-bf76-001999888777";
const BOGUS_TOKEN = "oesc_this-token-was-never-issued-0123456789abcdef";

interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string | number>;
  token?: string;
  payload?: unknown;
  headers?: Record<string, string>;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly mediaType: string;
  json<T = Record<string, unknown>>(): T;
}

const mediaTypeOf = (contentType: unknown) =>
  String(contentType ?? "")
    .split(";")[0]
    ?.trim()
    .toLowerCase() ?? "";

function conformance(): void {
  let contract: EscRouterContract;
  let ours: OpenApiDocument;
  let hub: TestHub;
  let uni: string;
  let other: string;
  let canteen: string;
  /** "operationId status" of every answer checked. */
  const answered = new Set<string>();

  before(async () => {
    contract = new EscRouterContract(JSON.parse(readFileSync(ESC_R_DOCUMENT, "utf8")) as OpenApiDocument);
    hub = await startTestHub({ clock: fixedClock("2026-10-01T10:00:00Z") });
    uni = await hub.onboard(UNIVERSITY);
    other = await hub.onboard(OTHER_UNIVERSITY);
    await hub.onboard(CARD_BUREAU);
    canteen = await hub.onboard(CANTEEN);
    const served = await hub.request({ method: "GET", url: "/openapi.json" });
    assert.equal(served.statusCode, 200);
    ours = served.json<OpenApiDocument>();
  });
  after(() => hub?.close());

  /**
   * Calls an ESC-R operation by its operationId, on the document's own path under its server URL, and
   * checks the answer against what the document declares for that operation and status.
   */
  async function call(operationId: string, expected: number, options: CallOptions = {}): Promise<Answer> {
    const { method, path: template } = contract.operation(operationId);
    const pathname = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = options.params?.[name];
      assert.ok(value !== undefined, `${operationId}: no value for the path parameter ${name}`);
      return encodeURIComponent(value);
    });
    const query = new URLSearchParams(
      Object.entries(options.query ?? {}).map(([k, v]) => [k, String(v)] as [string, string]),
    ).toString();
    const response = await hub.request({
      method: method.toUpperCase() as InjectOptions["method"],
      url: `${contract.serverUrl}${pathname}${query ? `?${query}` : ""}`,
      ...(options.token ? { token: options.token } : {}),
      ...(options.payload !== undefined ? { payload: options.payload as object } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    const answer: Answer = {
      status: response.statusCode,
      body: response.body,
      mediaType: mediaTypeOf(response.headers["content-type"]),
      json: <T>() => JSON.parse(response.body) as T,
    };
    assert.equal(answer.status, expected, `${operationId}: ${answer.status} ${answer.body}`);
    checkAnswer(operationId, answer);
    answered.add(`${operationId} ${answer.status}`);
    return answer;
  }

  function checkAnswer(operationId: string, answer: Answer): void {
    const declared = contract.operation(operationId).operation.responses?.[String(answer.status)];
    const where = `${operationId} ${answer.status}`;
    if (!declared) {
      assert.ok(UNDECLARED_ANSWERS[where], `${where}: the ESC-R document declares no such answer`);
    }
    if (answer.status >= 400) {
      // Every error is an ApiErrorMessage {code, message}, in JSON, with a code from our catalogue.
      assert.equal(answer.mediaType, "application/json", `${where}: errors are JSON`);
      if (declared && !JSON_ERRORS_DESPITE_DECLARED_MEDIA.has(operationId)) {
        assert.ok(declared.content?.["application/json"], `${where}: JSON is not a declared media type`);
      }
      const body = answer.json();
      assert.deepEqual(contract.check(contract.schemaNamed("ApiErrorMessage"), body), [], `${where}`);
      assert.ok(typeof body["code"] === "string" && body["code"] in ERROR_CODES, `${where}: ${answer.body}`);
      assert.ok(typeof body["message"] === "string" && body["message"].length > 0, where);
      return;
    }
    assert.ok(declared, `${where}: undeclared success`);
    if (answer.status === 204) {
      // ESC-R declares an application/json string body on its 204s; a 204 has no content (RFC 9110 §15.3.5).
      assert.equal(answer.body, "", `${where}: a 204 has no body`);
      return;
    }
    const media = declared.content?.[answer.mediaType];
    assert.ok(media, `${where}: ${answer.mediaType} is not a media type ESC-R declares for this answer`);
    if (operationId === "getQRCode") {
      // ESC-R declares `{type: object}` for the QR code under both media types, which no SVG or text can be;
      // the test checks the content itself instead (in the QR test).
      return;
    }
    assert.ok(media.schema, `${where}: ESC-R declares no schema`);
    assert.deepEqual(contract.check(media.schema, answer.json()), [], `${where}: ${answer.body}`);
  }

  // -------------------------------------------------------------------------------------------------------
  describe("(a) operations", () => {
    it("serves every ESC-R operation on its path under /esc-rest, with the same operationId", () => {
      assert.equal(contract.serverUrl, "/esc-rest");
      const all = operationsOf(contract.doc);
      assert.equal(all.length, 13, "the ESC-R document has 13 operations");
      for (const { method, path: p, operation } of all) {
        const mine: OperationObject | undefined = ours.paths[`${contract.serverUrl}${p}`]?.[method];
        assert.ok(mine, `${method.toUpperCase()} ${contract.serverUrl}${p} is missing from /openapi.json`);
        assert.equal(mine.operationId, operation.operationId, `${method.toUpperCase()} ${p}`);
      }
    });

    it("takes the same path and query parameters, and declares the same success answers and bodies", () => {
      for (const { method, path: p, operation } of operationsOf(contract.doc)) {
        const where = `${operation.operationId}`;
        const mine: OperationObject | undefined = ours.paths[`${contract.serverUrl}${p}`]?.[method];
        assert.ok(mine, where);
        // Header parameters are left out on purpose: ESC-R declares `Authorization` as a required header
        // where we declare the bearer security scheme (what clients send is the same), and `Accept` on the
        // QR code, which is content negotiation.
        const names = (ps: ParameterObject[] | undefined) =>
          (ps ?? [])
            .filter((x) => x.in === "path" || x.in === "query")
            .map((x) => `${x.in}:${x.name}${x.required ? " (required)" : ""}`)
            .sort();
        assert.deepEqual(names(mine.parameters), names(operation.parameters), `${where}: parameters`);
        const successes = (r: Record<string, ResponseObject> | undefined) =>
          Object.keys(r ?? {}).filter((s) => s.startsWith("2"));
        assert.deepEqual(successes(mine.responses), successes(operation.responses), `${where}: successes`);
        for (const status of successes(operation.responses)) {
          const theirs = operation.responses?.[status]?.content ?? {};
          const served: Record<string, MediaTypeObject> = mine.responses?.[status]?.content ?? {};
          if (status !== "204") {
            // Our 204s declare no content, which is what a 204 has (see checkAnswer).
            assert.deepEqual(Object.keys(served).sort(), Object.keys(theirs).sort(), `${where} ${status}`);
          }
          for (const [type, { schema }] of Object.entries(theirs)) {
            if (schema?.$ref) assert.equal(served[type]?.schema?.$ref, schema.$ref, `${where} ${status}`);
          }
        }
        const body = operation.requestBody?.content?.["application/json"]?.schema?.$ref;
        assert.equal(mine.requestBody?.content?.["application/json"]?.schema?.$ref, body, `${where}: body`);
      }
    });
  });

  // -------------------------------------------------------------------------------------------------------
  describe("(c) views", () => {
    const propertyNames = (schema: JsonSchema | undefined) => Object.keys(schema?.properties ?? {}).sort();
    const typesOf = (schema: JsonSchema | undefined): string[] => [
      ...[schema?.type ?? []].flat(),
      ...(schema?.anyOf ?? []).flatMap(typesOf),
    ];

    it("serves every component of the ESC-R document under the same name", () => {
      for (const name of Object.keys(contract.doc.components.schemas)) {
        assert.ok(ours.components.schemas[name], `component ${name} is missing from /openapi.json`);
      }
    });

    for (const name of ["CardUpdateView", "PersonUpdateView", "PersonOrganisationUpdateView"]) {
      it(`accepts exactly the fields of ${name}, with the same ones required`, () => {
        const theirs = contract.doc.components.schemas[name];
        const mine = ours.components.schemas[name];
        assert.ok(theirs && mine, name);
        assert.deepEqual(propertyNames(mine), propertyNames(theirs), `${name}: field names`);
        assert.deepEqual([...(mine.required ?? [])].sort(), [...(theirs.required ?? [])].sort(), `${name}`);
        for (const [field, schema] of Object.entries(theirs.properties ?? {})) {
          const served: JsonSchema | undefined = mine.properties?.[field];
          // Every value the document allows is allowed (we also take null for the optional ones).
          for (const type of typesOf(schema)) {
            assert.ok(typesOf(served).includes(type), `${name}.${field}: ${type} is not accepted`);
          }
          if (schema.items?.$ref) assert.equal(served?.items?.$ref, schema.items.$ref, `${name}.${field}`);
        }
      });
    }

    it("declares no read-view field the ESC-R document lacks, and requires what it requires", () => {
      const writeViews = new Set(["CardUpdateView", "PersonUpdateView", "PersonOrganisationUpdateView"]);
      for (const [name, theirs] of Object.entries(contract.doc.components.schemas)) {
        if (writeViews.has(name)) continue;
        const mine = ours.components.schemas[name];
        const allowed = new Set([...propertyNames(theirs), ...Object.keys(EXTRA_READ_FIELDS[name] ?? {})]);
        for (const field of propertyNames(mine)) {
          assert.ok(allowed.has(field), `${name}.${field} is not in the ESC-R document`);
        }
        for (const field of theirs.required ?? []) {
          assert.ok(mine?.required?.includes(field), `${name}.${field} is required by ESC-R`);
        }
      }
    });
  });

  // -------------------------------------------------------------------------------------------------------
  describe("(b) a realistic scenario through the 13 operations", () => {
    let generated: string[] = [];
    let chosenCard = "";
    let generatedCard = "";

    it("creates persons (create)", async () => {
      const created = await call("create", 201, { token: uni, payload: personPayload(ESI, UNIVERSITY.id) });
      const person = created.json<{
        identifier: string;
        identifierCode: { key: string };
        organisations: { organisation: { identifier: string }; academicLevel: { key: string } }[];
      }>();
      assert.equal(person.identifier, ESI);
      assert.equal(person.identifierCode.key, "ESI");
      assert.equal(person.organisations[0]?.organisation.identifier, UNIVERSITY.id);
      assert.equal(person.organisations[0]?.academicLevel.key, "MASTER");
      await call("create", 201, { token: uni, payload: personPayload(ESI_2, UNIVERSITY.id) });
      await call("create", 201, {
        token: uni,
        payload: personPayload(ESI_3, UNIVERSITY.id, { fullName: "Piotr Przykład" }),
      });

      assert.equal(
        (await call("create", 409, { token: uni, payload: personPayload(ESI, UNIVERSITY.id) })).json().code,
        "PERSON_EXISTS",
      );
      const malformed = await call("create", 400, {
        token: uni,
        payload: personPayload("12345", UNIVERSITY.id),
      });
      assert.equal(malformed.json().code, "ESI_INVALID");
      const { fullName: _missing, ...withoutName } = personPayload(ESI, UNIVERSITY.id);
      assert.equal(
        (await call("create", 400, { token: uni, payload: withoutName })).json().code,
        "VALIDATION_FAILED",
      );
      await call("create", 401, { payload: personPayload(ESI, UNIVERSITY.id) });
      await call("create", 401, { token: BOGUS_TOKEN, payload: personPayload(ESI, UNIVERSITY.id) });
      // Another university may not link a student to this one.
      await call("create", 403, { token: other, payload: personPayload(ESI, UNIVERSITY.id) });
      // A service provider verifies cards; it holds no student data.
      await call("create", 403, { token: canteen, payload: personPayload(ESI, CANTEEN.id) });
    });

    it("lists persons page by page (findAll)", async () => {
      const first = (await call("findAll", 200, { token: uni, query: { page: 0, size: 2 } })).json<{
        content: { identifier: string }[];
        empty: boolean;
        links: { rel: string; href: string }[];
        page: { number: number; size: number; totalElements: number; totalPages: number };
      }>();
      assert.equal(first.content.length, 2);
      assert.equal(first.empty, false);
      assert.deepEqual(first.page, { number: 0, size: 2, totalElements: 3, totalPages: 2 });
      assert.ok(first.links.some((l) => l.rel === "next"));
      const second = (await call("findAll", 200, { token: uni, query: { page: 1, size: 2 } })).json<{
        content: { identifier: string }[];
        page: { number: number };
      }>();
      assert.equal(second.content.length, 1);
      assert.equal(second.page.number, 1);
      const seen = [...first.content, ...second.content].map((p) => p.identifier).sort();
      assert.deepEqual(seen, [ESI, ESI_2, ESI_3].sort());
      const searched = await call("findAll", 200, {
        token: uni,
        query: { search: "przyk", sort: "fullName", direction: "DESC" },
      });
      assert.deepEqual(
        searched.json<{ content: { identifier: string }[] }>().content.map((p) => p.identifier),
        [ESI_3],
      );
      // Another university sees none of them.
      const none = (await call("findAll", 200, { token: other })).json<{ empty: boolean; content: [] }>();
      assert.equal(none.empty, true);

      await call("findAll", 400, { token: uni, query: { size: 0 } });
      // ESC-R silently caps the page size at 10; OpenESC takes up to a documented maximum and answers a 400
      // above it, never a shorter page than asked for.
      await call("findAll", 400, { token: uni, query: { size: 10_000 } });
      await call("findAll", 400, { token: uni, query: { sort: "password" } });
      await call("findAll", 401, {});
      await call("findAll", 403, { token: canteen });
    });

    it("reads a person (findByExternalId)", async () => {
      const person = await call("findByExternalId", 200, { token: uni, params: { esi: ESI } });
      assert.equal(person.json().identifier, ESI);
      await call("findByExternalId", 400, { token: uni, params: { esi: "not an ESI" } });
      await call("findByExternalId", 401, { params: { esi: ESI } });
      await call("findByExternalId", 403, { token: canteen, params: { esi: ESI } });
      // Not linked to the caller: the same 404 as for an ESI nobody holds.
      await call("findByExternalId", 404, { token: other, params: { esi: ESI } });
      await call("findByExternalId", 404, { token: uni, params: { esi: ESI_UNKNOWN } });
    });

    it("updates a person (update)", async () => {
      const body = {
        identifier: ESI,
        identifierCode: "ESI",
        fullName: "Jeanne Exemple-Martin",
        personOrganisationUpdateViews: [
          { organisationIdentifier: UNIVERSITY.id, academicLevel: "DOCTORATE", email: "jeanne@example.org" },
        ],
      };
      const updated = (await call("update", 200, { token: uni, params: { esi: ESI }, payload: body })).json<{
        fullName: string;
        organisations: { academicLevel: { key: string }; contactPoint: { email: string } }[];
      }>();
      assert.equal(updated.fullName, "Jeanne Exemple-Martin");
      assert.equal(updated.organisations[0]?.academicLevel.key, "DOCTORATE");
      assert.equal(updated.organisations[0]?.contactPoint.email, "jeanne@example.org");
      const read = await call("findByExternalId", 200, { token: uni, params: { esi: ESI } });
      assert.equal(read.json().fullName, "Jeanne Exemple-Martin");

      const badLevel = {
        ...body,
        personOrganisationUpdateViews: [{ organisationIdentifier: UNIVERSITY.id, academicLevel: "PHD" }],
      };
      const invalid = await call("update", 400, { token: uni, params: { esi: ESI }, payload: badLevel });
      assert.equal(invalid.json().code, "ACADEMIC_LEVEL_INVALID");
      await call("update", 401, { params: { esi: ESI }, payload: body });
      await call("update", 403, { token: canteen, params: { esi: ESI }, payload: body });
      await call("update", 404, {
        token: other,
        params: { esi: ESI },
        payload: personPayload(ESI, OTHER_UNIVERSITY.id),
      });
    });

    it("generates card numbers without a token (getEscnList)", async () => {
      const answer = await call("getEscnList", 200, {
        query: { prefix: 1, pic: UNIVERSITY.id, numberOfESCN: 3 },
      });
      generated = answer.json<string[]>();
      assert.equal(generated.length, 3);
      for (const escn of generated) assert.match(escn, ESCN_OF_UNIVERSITY);
      assert.equal(new Set(generated).size, 3);
      const one = await call("getEscnList", 200, { query: { prefix: 0, pic: UNIVERSITY.id } });
      assert.equal(one.json<string[]>().length, 1);

      // ESC-R answers a 500 above its undocumented cap of 100; OpenESC a 400 naming the field.
      const tooMany = await call("getEscnList", 400, {
        query: { prefix: 1, pic: UNIVERSITY.id, numberOfESCN: 101 },
      });
      assert.equal(tooMany.json().code, "ESCN_BATCH_TOO_LARGE");
      await call("getEscnList", 400, { query: { prefix: 1, pic: "12" } });
    });

    it("issues cards with and without a cardNumber (create_1)", async () => {
      chosenCard = generated[0] ?? "";
      const withNumber = await call("create_1", 201, {
        token: uni,
        payload: cardPayload(ESI, UNIVERSITY.id, { cardNumber: chosenCard }),
      });
      const card = withNumber.json<{
        cardNumber: string;
        cardStatusType: { key: string };
        cardType: { key: string };
        hasOwnerAuthorization: boolean;
        issuer: { identifier: string };
        person: { identifier: string; fullName: string };
      }>();
      assert.equal(card.cardNumber, chosenCard);
      assert.deepEqual(
        [card.cardStatusType.key, card.cardType.key, card.issuer.identifier, card.person.identifier],
        ["ACTIVE", "SMART_PASSIVE", UNIVERSITY.id, ESI],
      );
      // The holder has not consented to sharing their card status with service providers (docs/api.md).
      assert.equal(card.hasOwnerAuthorization, false);
      assert.equal(card.person.fullName, "Jeanne Exemple-Martin");

      const withoutNumber = await call("create_1", 201, {
        token: uni,
        payload: cardPayload(ESI_2, UNIVERSITY.id),
      });
      generatedCard = withoutNumber.json<{ cardNumber: string }>().cardNumber;
      assert.match(generatedCard, ESCN_OF_UNIVERSITY);
      const emptyNumber = await call("create_1", 201, {
        token: uni,
        payload: cardPayload(ESI_3, UNIVERSITY.id, { cardNumber: "" }),
      });
      assert.match(emptyNumber.json<{ cardNumber: string }>().cardNumber, ESCN_OF_UNIVERSITY);

      const again = await call("create_1", 409, {
        token: uni,
        payload: cardPayload(ESI, UNIVERSITY.id, { cardNumber: chosenCard }),
      });
      assert.equal(again.json().code, "CARD_EXISTS");
      const badType = await call("create_1", 400, {
        token: uni,
        payload: cardPayload(ESI, UNIVERSITY.id, { cardType: "PLASTIC" }),
      });
      assert.equal(badType.json().code, "CARD_TYPE_INVALID");
      const { issuedAt: _missing, ...withoutIssuedAt } = cardPayload(ESI, UNIVERSITY.id);
      await call("create_1", 400, { token: uni, payload: withoutIssuedAt });
      await call("create_1", 401, { payload: cardPayload(ESI, UNIVERSITY.id) });
      // A university does not issue cards in another's name.
      await call("create_1", 403, { token: uni, payload: cardPayload(ESI, OTHER_UNIVERSITY.id) });
      await call("create_1", 403, { token: canteen, payload: cardPayload(ESI, UNIVERSITY.id) });
    });

    it("lists cards (findAll_1)", async () => {
      const page = (await call("findAll_1", 200, { token: uni, query: { page: 0, size: 2 } })).json<{
        content: { cardNumber: string }[];
        page: { totalElements: number; totalPages: number };
      }>();
      assert.equal(page.content.length, 2);
      assert.deepEqual(page.page, { number: 0, size: 2, totalElements: 3, totalPages: 2 });
      const sorted = await call("findAll_1", 200, {
        token: uni,
        query: { sort: "cardNumber", direction: "ASC", size: 100 },
      });
      const numbers = sorted.json<{ content: { cardNumber: string }[] }>().content.map((c) => c.cardNumber);
      assert.deepEqual(numbers, [...numbers].sort());
      assert.ok(numbers.includes(chosenCard) && numbers.includes(generatedCard));

      await call("findAll_1", 400, { token: uni, query: { size: 10_000 } });
      await call("findAll_1", 400, { token: uni, query: { direction: "SIDEWAYS" } });
      await call("findAll_1", 401, { token: BOGUS_TOKEN });
      await call("findAll_1", 403, { token: canteen });
    });

    it("reads a card (findByExternalId_1)", async () => {
      const card = await call("findByExternalId_1", 200, { token: uni, params: { escn: chosenCard } });
      assert.equal(card.json().cardNumber, chosenCard);
      await call("findByExternalId_1", 400, { token: uni, params: { escn: "not-an-escn" } });
      await call("findByExternalId_1", 401, { params: { escn: chosenCard } });
      await call("findByExternalId_1", 403, { token: canteen, params: { escn: chosenCard } });
      await call("findByExternalId_1", 404, { token: other, params: { escn: chosenCard } });
      await call("findByExternalId_1", 404, { token: uni, params: { escn: UNKNOWN_ESCN } });
    });

    it("updates a card (update_1)", async () => {
      const body = cardPayload(ESI_2, UNIVERSITY.id, { cardStatusType: "INACTIVE" });
      const updated = await call("update_1", 200, {
        token: uni,
        params: { escn: generatedCard },
        payload: body,
      });
      assert.equal(updated.json<{ cardStatusType: { key: string } }>().cardStatusType.key, "INACTIVE");

      const backwards = { ...body, issuedAt: "2027-01-01", expiresAt: "2026-01-01" };
      const invalid = await call("update_1", 400, {
        token: uni,
        params: { escn: generatedCard },
        payload: backwards,
      });
      assert.equal(invalid.json().code, "DATE_RANGE_INVALID");
      await call("update_1", 400, { token: uni, params: { escn: "not-an-escn" }, payload: body });
      await call("update_1", 401, { params: { escn: generatedCard }, payload: body });
      await call("update_1", 403, { token: canteen, params: { escn: generatedCard }, payload: body });
      await call("update_1", 404, { token: other, params: { escn: generatedCard }, payload: body });
    });

    it("tells anyone a card's status, without a token and without personal data (status)", async () => {
      const active = (await call("status", 200, { params: { escn: chosenCard } })).json();
      assert.deepEqual(active, {
        cardNumber: chosenCard,
        issuedAt: "2026-09-01",
        expiresAt: "2030-08-31",
        issuerIdentifier: UNIVERSITY.id,
        issuerName: UNIVERSITY.name,
        status: "ACTIVE",
      });
      const inactive = await call("status", 200, { params: { escn: generatedCard } });
      assert.equal(inactive.json().status, "INACTIVE");
      await call("status", 404, { params: { escn: UNKNOWN_ESCN } });
      await call("status", 400, { params: { escn: "not-an-escn" } });
    });

    it("draws the QR code as SVG and as base64 text (getQRCode)", async () => {
      const svg = await call("getQRCode", 200, {
        params: { escn: chosenCard },
        headers: { accept: "image/svg+xml" },
      });
      assert.equal(svg.mediaType, "image/svg+xml");
      assert.match(svg.body, /<svg[\s>][\s\S]*<\/svg>\s*$/);
      const text = await call("getQRCode", 200, {
        params: { escn: chosenCard },
        headers: { accept: "text/plain" },
      });
      assert.equal(text.mediaType, "text/plain");
      assert.match(text.body, /^[A-Za-z0-9+/]+={0,2}$/);
      assert.equal(Buffer.from(text.body, "base64").toString("utf8"), svg.body);
      // The document's default Accept is image/svg+xml.
      const byDefault = await call("getQRCode", 200, {
        params: { escn: chosenCard },
        query: { orientation: "vertical", colours: "inverted", size: "M" },
      });
      assert.equal(byDefault.mediaType, "image/svg+xml");

      await call("getQRCode", 400, { params: { escn: chosenCard }, query: { size: "XXL" } });
      await call("getQRCode", 400, { params: { escn: "not-an-escn" } });
      await call("getQRCode", 404, { params: { escn: UNKNOWN_ESCN } });
      await call("getQRCode", 406, { params: { escn: chosenCard }, headers: { accept: "application/xml" } });
    });

    it("deletes cards, then the person (delete_1, delete)", async () => {
      const refused = await call("delete", 409, { token: uni, params: { esi: ESI } });
      assert.equal(refused.json().code, "PERSON_HAS_CARDS");

      await call("delete_1", 400, { token: uni, params: { escn: "not-an-escn" } });
      await call("delete_1", 401, { params: { escn: chosenCard } });
      await call("delete_1", 403, { token: canteen, params: { escn: chosenCard } });
      await call("delete_1", 404, { token: other, params: { escn: chosenCard } });
      await call("delete_1", 204, { token: uni, params: { escn: chosenCard } });
      await call("findByExternalId_1", 404, { token: uni, params: { escn: chosenCard } });
      await call("status", 404, { params: { escn: chosenCard } });
      await call("delete_1", 404, { token: uni, params: { escn: chosenCard } });

      await call("delete", 400, { token: uni, params: { esi: "not an ESI" } });
      await call("delete", 401, { params: { esi: ESI } });
      await call("delete", 403, { token: canteen, params: { esi: ESI } });
      await call("delete", 404, { token: other, params: { esi: ESI } });
      await call("delete", 204, { token: uni, params: { esi: ESI } });
      await call("findByExternalId", 404, { token: uni, params: { esi: ESI } });
      await call("delete", 404, { token: uni, params: { esi: ESI } });
    });
  });

  // -------------------------------------------------------------------------------------------------------
  describe("(d) unknown fields in ESC-R write bodies are ignored, as Spring does", () => {
    const ESI_4 = "urn:schac:personalUniqueCode:int:esi:fr:5555555555C";

    it("creates a person from a body with unknown fields, at the top and in a link", async () => {
      const payload = personPayload(ESI_4, UNIVERSITY.id, {
        nickname: "Jeannot",
        personOrganisationUpdateViews: [
          { organisationIdentifier: UNIVERSITY.id, academicLevel: "BACHELOR", faculty: "Sciences" },
        ],
      });
      const created = await call("create", 201, { token: uni, payload });
      assert.ok(!created.body.includes("Jeannot") && !created.body.includes("Sciences"));
    });

    it("creates and updates a card from bodies with unknown fields", async () => {
      const payload = cardPayload(ESI_4, UNIVERSITY.id, { chipUid: "04A2B3C4D5E6F7", colour: "blue" });
      const created = await call("create_1", 201, { token: uni, payload });
      const escn = created.json<{ cardNumber: string }>().cardNumber;
      assert.ok(!created.body.includes("04A2B3C4D5E6F7"));
      await call("update_1", 200, { token: uni, params: { escn }, payload: { ...payload, legacyId: 42 } });
    });
  });

  // -------------------------------------------------------------------------------------------------------
  describe("(e) PUT with a whole CardUpdateView round-trips", () => {
    const ESI_5 = "urn:schac:personalUniqueCode:int:esi:fr:7777777777D";

    /** The write view a read view stands for. */
    const writeViewOf = (card: Record<string, unknown>) => {
      const key = (v: unknown) => (v as { key: string }).key;
      const identifier = (v: unknown) => (v as { identifier: string }).identifier;
      return {
        cardNumber: card["cardNumber"],
        cardStatusType: key(card["cardStatusType"]),
        cardType: key(card["cardType"]),
        issuedAt: card["issuedAt"],
        expiresAt: card["expiresAt"],
        issuerIdentifier: identifier(card["issuer"]),
        personIdentifier: identifier(card["person"]),
        displayName: card["displayName"],
        processorIdentifier: card["processor"] === undefined ? undefined : identifier(card["processor"]),
      };
    };

    it("GET returns every field the PUT set", async () => {
      await call("create", 201, { token: uni, payload: personPayload(ESI_5, UNIVERSITY.id) });
      const created = await call("create_1", 201, { token: uni, payload: cardPayload(ESI_5, UNIVERSITY.id) });
      const escn = created.json<{ cardNumber: string }>().cardNumber;
      const whole = {
        cardNumber: escn,
        cardStatusType: "INACTIVE",
        cardType: "SMART_PASSIVE_EMULATION",
        issuedAt: "2026-09-15",
        expiresAt: "2031-06-30",
        issuerIdentifier: UNIVERSITY.id,
        personIdentifier: ESI_5,
        displayName: "J. Exemple",
        processorIdentifier: CARD_BUREAU.id,
      };
      // The same field names, no more no less, as the document's write view.
      const declared = Object.keys(contract.doc.components.schemas["CardUpdateView"]?.properties ?? {});
      assert.deepEqual(Object.keys(whole).sort(), declared.sort());

      const put = await call("update_1", 200, { token: uni, params: { escn }, payload: whole });
      assert.deepEqual(writeViewOf(put.json()), whole);
      const got = await call("findByExternalId_1", 200, { token: uni, params: { escn } });
      assert.deepEqual(writeViewOf(got.json()), whole);
      assert.equal(got.json<{ processor: { name: string } }>().processor.name, CARD_BUREAU.name);

      // And back: ACTIVE again, without the optional fields.
      const { displayName: _d, processorIdentifier: _p, cardNumber: _c, ...required } = whole;
      const renewed = { ...required, cardStatusType: "ACTIVE" };
      await call("update_1", 200, { token: uni, params: { escn }, payload: renewed });
      const back = writeViewOf(
        (await call("findByExternalId_1", 200, { token: uni, params: { escn } })).json(),
      );
      assert.deepEqual(back, {
        ...renewed,
        cardNumber: escn,
        displayName: undefined,
        processorIdentifier: undefined,
      });
    });
  });

  // -------------------------------------------------------------------------------------------------------
  it("answered, and checked, every success and every 400/401/403/404/409 the document declares", () => {
    const missing: string[] = [];
    for (const operationId of contract.operationIds()) {
      const declared = Object.keys(contract.operation(operationId).operation.responses ?? {});
      for (const status of declared.filter((s) => /^(2\d\d|400|401|403|404|409)$/.test(s))) {
        if (!answered.has(`${operationId} ${status}`)) missing.push(`${operationId} ${status}`);
      }
    }
    assert.deepEqual(missing, []);
    assert.equal(contract.operationIds().length, 13);
  });
}

if (DOCUMENT_PRESENT) {
  describe(SUITE, conformance);
} else {
  // Skipped where the document is not available (it is not ours to copy into the repository), but CI
  // must have it: there a missing document is a failure, not a silent pass.
  it(SUITE, { skip: process.env["CI"] === "true" ? false : MISSING }, () => {
    assert.fail(`${MISSING}; under CI=true this test may not be skipped`);
  });
}
