import type { FastifyInstance, RouteOptions } from "fastify";
import { type DataKey, isDataKey, mayDisclose } from "../../domain/data-map.ts";
import { isPurpose, PURPOSES, type Purpose } from "../../domain/purpose.ts";
import { DATA_KEYWORD } from "../schemas/data-annotation.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * Purposes whose lawful basis is consent under which the route also answers fields, each only when the
     * student has consented (the route checks it): the public status's displayName under
     * `display-name-publication`.
     */
    consentPurposes?: readonly Purpose[];
  }
}

type JsonSchema = { readonly [keyword: string]: unknown };

/** What a route may answer: per success status, each key path of its JSON and the data map entry it carries. */
export interface RouteDisclosure {
  readonly method: string;
  readonly url: string;
  readonly purpose: Purpose;
  readonly consentPurposes: readonly Purpose[];
  /**
   * Status → key path (`content[].person.fullName`) → data map key, or null for a path of an envelope
   * (list pages, links, `{key, label}` enumerations) that frames data without being any.
   */
  readonly answers: Readonly<Record<string, ReadonlyMap<string, DataKey | null>>>;
}

/**
 * Shapes that frame data and hold none of their own: a list's page and links, an enumeration's
 * `{key, label}` (the property holding it names the data), errors. What they contain is checked all the same.
 */
const ENVELOPE_SCHEMAS = new Set(["PageMetadata", "Link", "CodeView", "ApiErrorMessage", "Problem"]);

const refName = (schema: unknown): string | undefined => {
  const ref = (schema as JsonSchema | undefined)?.["$ref"];
  return typeof ref === "string" ? ref.replace(/#$/, "") : undefined;
};
const isArray = (schema: JsonSchema) => schema["type"] === "array";
const typesOf = (schema: JsonSchema): unknown[] => [
  ...[schema["type"] ?? []].flat(),
  ...((schema["anyOf"] as JsonSchema[] | undefined) ?? []).flatMap(typesOf),
];

/** Properties of list answers that frame the items, and the shape each must have to count as one. */
const ENVELOPE_PROPERTIES: Readonly<Record<string, (schema: JsonSchema) => boolean>> = {
  // ESC-R pages: {content, empty, links, page}; native pages: {items, next}.
  content: isArray,
  items: isArray,
  empty: (s) => s["type"] === "boolean",
  links: (s) => isArray(s) && refName(s["items"]) === "Link",
  page: (s) => refName(s) === "PageMetadata",
  next: (s) => typesOf(s).every((t) => t === "string" || t === "null"),
};

const JSON_MEDIA = /^application\/(?:[\w.+-]+\+)?json$/;

/**
 * The data map, enforced in one place. Every route declares why it processes data (`config.purpose`;
 * `operations` when a route without a token declares none). At registration, each of its success answers'
 * JSON schemas is walked, through the shared schemas it refers to: every property must name its data map
 * entry (`"x-data"`) unless it belongs to an envelope, and every entry named must be one the route's
 * purpose, or one of its `consentPurposes`, may see. A route that breaks this stops the hub at start-up,
 * with a message naming the route and the field. Since answers are serialised from these same schemas,
 * a field that is not declared never leaves; a route that sends a body it serialised itself (the public
 * status, from its cache) bypasses that, and `test/http/data-map-enforcement.test.ts` checks its keys.
 *
 * Install before the routes: `installDataMapEnforcement(app, [...ESC_ROUTER_V2_SCHEMAS, ...NATIVE_SCHEMAS])`.
 */
export function installDataMapEnforcement(app: FastifyInstance, schemas: readonly object[]): void {
  const shared = new Map<string, JsonSchema>();
  for (const schema of schemas as JsonSchema[]) {
    if (typeof schema["$id"] === "string") shared.set(schema["$id"], schema);
  }
  const disclosures: RouteDisclosure[] = [];
  DISCLOSURES.set(app, disclosures);
  app.addHook("onRoute", (route) => {
    const disclosure = checkRoute(route, shared);
    if (disclosure.method !== "HEAD") disclosures.push(disclosure);
  });
}

const DISCLOSURES = new WeakMap<FastifyInstance, readonly RouteDisclosure[]>();

/** What each route registered after {@link installDataMapEnforcement} may answer, as checked. */
export function disclosuresOf(app: FastifyInstance): readonly RouteDisclosure[] {
  const found = DISCLOSURES.get(app);
  if (!found) throw new TypeError("the data map enforcement is not installed on this instance");
  return found;
}

function checkRoute(route: RouteOptions, shared: ReadonlyMap<string, JsonSchema>): RouteDisclosure {
  const method = [route.method].flat().join(",");
  const where = `${method} ${route.url}`;
  const config = (route.config ?? {}) as { purpose?: unknown; consentPurposes?: unknown };
  const problems: string[] = [];
  const purpose = config.purpose ?? "operations";
  if (!isPurpose(purpose)) throw new TypeError(`data map: ${where} declares an unknown purpose ${purpose}`);
  const consentPurposes = (config.consentPurposes ?? []) as readonly unknown[];
  for (const p of consentPurposes) {
    if (!isPurpose(p) || PURPOSES[p].basis !== "consent") {
      problems.push(
        `consentPurposes names ${String(p)}, which is not a purpose whose lawful basis is consent`,
      );
    }
  }
  const walk = new AnswerWalk(shared, purpose, consentPurposes as Purpose[], problems);
  const answers: Record<string, Map<string, DataKey | null>> = {};
  const responses = (route.schema?.response ?? {}) as Record<string, JsonSchema>;
  for (const [status, response] of Object.entries(responses)) {
    if (!status.startsWith("2")) continue;
    const paths = new Map<string, DataKey | null>();
    for (const schema of jsonSchemasOf(response)) walk.value(schema, "", paths, false, false);
    answers[status] = paths;
  }
  if (purpose !== "operations" && Object.keys(answers).length === 0) {
    problems.push("declares no success answer: what it sends would leave unchecked");
  }
  if (problems.length > 0) {
    throw new TypeError(`data map: ${where} (purpose ${purpose}): ${problems.join("; ")}`);
  }
  return { method, url: route.url, purpose, consentPurposes: consentPurposes as Purpose[], answers };
}

/** The JSON schemas of one declared answer: an OpenAPI-style `content` map, or a bare schema. */
function jsonSchemasOf(response: JsonSchema): JsonSchema[] {
  const content = response["content"] as Record<string, { schema?: JsonSchema }> | undefined;
  // `{description}` alone (an OpenAPI response without content) has no body.
  if (content === undefined) return Object.keys(response).every((k) => k === "description") ? [] : [response];
  return Object.entries(content)
    .filter(([media, entry]) => JSON_MEDIA.test(media) && entry.schema !== undefined)
    .map(([, entry]) => entry.schema as JsonSchema);
}

class AnswerWalk {
  readonly #shared: ReadonlyMap<string, JsonSchema>;
  readonly #purpose: Purpose;
  readonly #consentPurposes: readonly Purpose[];
  readonly #problems: string[];

  constructor(
    shared: ReadonlyMap<string, JsonSchema>,
    purpose: Purpose,
    consentPurposes: readonly Purpose[],
    problems: string[],
  ) {
    this.#shared = shared;
    this.#purpose = purpose;
    this.#consentPurposes = consentPurposes;
    this.#problems = problems;
  }

  /**
   * Walks the value `node` describes, at `path`. `covered`: an enclosing property named the data this value
   * is part of; `envelope`: the value is inside an envelope schema.
   */
  value(
    node: JsonSchema,
    path: string,
    paths: Map<string, DataKey | null>,
    covered: boolean,
    envelope: boolean,
    depth = 0,
  ): void {
    if (depth > 32) throw new TypeError(`data map: the schema at ${path || "the root"} nests too deep`);
    const own = node[DATA_KEYWORD];
    if (own !== undefined) {
      this.#check(own, path);
      if (isDataKey(own)) paths.set(path, own);
      covered = true;
    }
    const { schema, name } = this.#resolve(node, path);
    if (name !== undefined && ENVELOPE_SCHEMAS.has(name)) envelope = true;
    const next = depth + 1;
    for (const keyword of ["anyOf", "oneOf", "allOf"]) {
      for (const alternative of (schema[keyword] as JsonSchema[] | undefined) ?? []) {
        this.value(alternative, path, paths, covered, envelope, next);
      }
    }
    const items = schema["items"] as JsonSchema | undefined;
    if (items !== undefined) this.value(items, `${path}[]`, paths, covered, envelope, next);
    const properties = schema["properties"] as Record<string, JsonSchema> | undefined;
    for (const [property, child] of Object.entries(properties ?? {})) {
      const at = path === "" ? property : `${path}.${property}`;
      let framing = false;
      if (child[DATA_KEYWORD] === undefined) {
        framing = envelope || ENVELOPE_PROPERTIES[property]?.(child) === true;
        if (framing) paths.set(at, null);
        else this.#problems.push(`field ${at} names no data map entry ("x-data")`);
      }
      // A list's items are data and checked as such; the other framing values (page, links, cursor) are not.
      const framesItems = property === "content" || property === "items";
      this.value(child, at, paths, covered || (framing && !framesItems), envelope, next);
    }
    const additional = schema["additionalProperties"];
    if ((additional !== undefined && additional !== false) || schema["patternProperties"] !== undefined) {
      this.#problems.push(`${path || "the answer"} is an open object: any field could leave through it`);
    }
    const isLeaf =
      properties === undefined &&
      items === undefined &&
      !["anyOf", "oneOf", "allOf"].some((k) => k in schema);
    const isNull = typesOf(schema).every((t) => t === "null") && typesOf(schema).length > 0;
    if (isLeaf && !covered && !envelope && !isNull) {
      this.#problems.push(`the value at ${path || "the root"} names no data map entry ("x-data")`);
    }
  }

  #check(key: unknown, path: string): void {
    if (!isDataKey(key)) {
      this.#problems.push(`field ${path} names ${String(key)}, which is not in the data map`);
    } else if (!mayDisclose(key, this.#purpose, this.#consentPurposes)) {
      this.#problems.push(`field ${path} is ${key}, which purpose ${this.#purpose} may not see`);
    }
  }

  #resolve(node: JsonSchema, path: string): { schema: JsonSchema; name: string | undefined } {
    let schema = node;
    let name: string | undefined;
    for (let hops = 0; typeof schema["$ref"] === "string"; hops++) {
      const id = refName(schema);
      const target = id === undefined ? undefined : this.#shared.get(id);
      if (!target || hops > 16) {
        throw new TypeError(
          `data map: ${path || "the answer"} refers to ${String(schema["$ref"])}, which is not a shared schema`,
        );
      }
      name = id;
      schema = target;
    }
    return { schema, name };
  }
}
