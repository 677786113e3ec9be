import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import specs from "@asyncapi/specs";
import { Ajv } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import Fastify from "fastify";
import { Webhook } from "standardwebhooks";
import {
  type AsyncApiDocument,
  asyncApiDocument,
  EXAMPLE_WEBHOOK_SECRET,
} from "../../src/delivery/asyncapi-document.ts";
import { cloudEventSchema } from "../../src/delivery/event-catalogue.ts";
import { CLOUD_EVENT_CONTENT_TYPE } from "../../src/domain/cloud-event.ts";
import { EVENT_TYPES, eventFamily } from "../../src/domain/events.ts";
import type { HubServices } from "../../src/http/hub-services.ts";
import { installDataMapEnforcement } from "../../src/http/plugins/data-map-enforcement.ts";
import { asyncApiRoutes } from "../../src/http/routes/asyncapi-routes.ts";

const PUBLIC_URL = "https://hub.example.org/openesc";
const doc = asyncApiDocument({ publicUrl: PUBLIC_URL });
/** What a client gets: the document through JSON. */
const served = JSON.parse(JSON.stringify(doc)) as AsyncApiDocument & Record<string, unknown>;

type Node = Record<string, unknown>;
type Message = { contentType?: string; payload?: { $ref?: string }; examples?: Node[]; traits?: unknown[] };

/** Where a local `$ref` (`#/a/b`) points, or undefined. */
function resolve(pointer: string): unknown {
  assert.ok(pointer.startsWith("#/"), `not a local reference: ${pointer}`);
  return pointer
    .slice(2)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>((node, part) => (node as Node | undefined)?.[part], served);
}

function* walk(node: unknown, at = "#"): Generator<[string, Node]> {
  if (node === null || typeof node !== "object") return;
  yield [at, node as Node];
  for (const [key, child] of Object.entries(node)) yield* walk(child, `${at}/${key}`);
}

/** Every property name a schema (and the schemas inside it) declares. */
function propertyNames(schema: unknown): string[] {
  return [...walk(schema)].flatMap(([, node]) =>
    node["properties"] && typeof node["properties"] === "object" ? Object.keys(node["properties"]) : [],
  );
}

describe("the AsyncAPI document", () => {
  it("is valid AsyncAPI 3.0.0 for the specification's own JSON Schema", () => {
    // As @asyncapi/parser does: Ajv knows draft-07 already, and refuses the copy bundled in the schema.
    const schema = structuredClone(specs.schemas["3.0.0"]) as { definitions: Record<string, unknown> };
    delete schema.definitions["http://json-schema.org/draft-07/schema"];
    delete schema.definitions["http://json-schema.org/draft-04/schema"];
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    assert.equal(served.asyncapi, "3.0.0");
    assert.ok(validate(served), ajv.errorsText(validate.errors, { separator: "\n" }));
    // The validator does catch a broken document.
    assert.equal(validate({ ...served, channels: { webhooks: { address: 42 } } }), false);
  });

  it("holds together where the JSON Schema cannot tell", () => {
    const refs = [...walk(served)].filter(([, node]) => typeof node["$ref"] === "string");
    assert.ok(refs.length > 50);
    for (const [at, node] of refs) {
      assert.notEqual(
        resolve(node["$ref"] as string),
        undefined,
        `${at}: ${String(node["$ref"])} resolves to nothing`,
      );
    }
    // An operation sends only messages of its own channel (AsyncAPI 3.0, Operation Object).
    for (const [name, operation] of Object.entries(served.operations as Record<string, Node>)) {
      const channel = (operation["channel"] as { $ref: string }).$ref;
      for (const message of operation["messages"] as { $ref: string }[]) {
        assert.ok(message.$ref.startsWith(`${channel}/messages/`), `${name} sends ${message.$ref}`);
      }
    }
    // Every {parameter} of an address is declared, and nothing else.
    for (const [name, channel] of Object.entries(served.channels as Record<string, Node>)) {
      const inAddress = [...String(channel["address"] ?? "").matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      assert.deepEqual(inAddress.sort(), Object.keys((channel["parameters"] as Node) ?? {}).sort(), name);
    }
  });

  it("has one message per event type, whose payload is the type's CloudEvent schema, on webhooks and the stream", () => {
    const messages = served.components.messages as Record<string, Message>;
    const channels = served.channels as Record<string, { messages: Record<string, { $ref: string }> }>;
    for (const type of EVENT_TYPES) {
      const keys = eventFamily(type) === "card" ? [type, `${type}.public`] : [type];
      for (const key of keys) {
        const message = messages[key];
        assert.ok(message, `no message ${key}`);
        assert.equal(message.contentType, CLOUD_EVENT_CONTENT_TYPE);
        const schema = resolve(message.payload?.$ref ?? "");
        const projection = key.endsWith(".public") ? "public" : "full";
        assert.deepEqual(schema, JSON.parse(JSON.stringify(cloudEventSchema(type, projection))), key);
        assert.equal(channels["eventStream"]?.messages[key]?.$ref, `#/components/messages/${key}`);
        assert.equal(channels["webhooks"]?.messages[key]?.$ref, `#/components/messages/webhook.${key}`);
        assert.deepEqual(messages[`webhook.${key}`]?.traits, [
          { $ref: "#/components/messageTraits/standardWebhooks" },
        ]);
      }
    }
  });

  it("gives examples that match their schemas, with webhook signatures the reference library makes too", () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(ajv);
    const headers = ajv.compile(served.components.schemas["StandardWebhooksHeaders"] as object);
    const webhook = new Webhook(EXAMPLE_WEBHOOK_SECRET);
    let checked = 0;
    for (const [key, message] of Object.entries(served.components.messages as Record<string, Message>)) {
      if (message.contentType !== CLOUD_EVENT_CONTENT_TYPE) continue;
      const validate = ajv.compile(resolve(message.payload?.$ref ?? "") as object);
      assert.equal(message.examples?.length, 1, key);
      for (const example of message.examples ?? []) {
        assert.ok(validate(example["payload"]), `${key}: ${ajv.errorsText(validate.errors)}`);
        if (!key.startsWith("webhook.")) continue;
        const sent = example["headers"] as Record<string, string>;
        assert.ok(headers(sent), `${key}: ${ajv.errorsText(headers.errors)}`);
        const at = new Date(Number(sent["webhook-timestamp"]) * 1000);
        const body = JSON.stringify(example["payload"]);
        assert.equal(sent["webhook-signature"], webhook.sign(sent["webhook-id"]!, at, body), key);
        assert.equal(sent["webhook-id"], (example["payload"] as { id: string }).id);
        checked++;
      }
    }
    assert.equal(checked, EVENT_TYPES.length + EVENT_TYPES.filter((t) => eventFamily(t) === "card").length);
  });

  it("signs the webhook example of docs/events.md as it says, for the reference library", () => {
    const docs = readFileSync(path.resolve(import.meta.dirname, "../../docs/events.md"), "utf8");
    const request = /```http\n([\s\S]*?)\n```/.exec(docs)?.[1];
    assert.ok(request, "docs/events.md has no webhook request example");
    const [head = "", body = ""] = request.split("\n\n");
    const header = (name: string) => new RegExp(`^${name}: (.+)$`, "m").exec(head)?.[1] ?? "";
    const at = new Date(Number(header("webhook-timestamp")) * 1000);
    const signature = new Webhook(EXAMPLE_WEBHOOK_SECRET).sign(header("webhook-id"), at, body);
    assert.equal(header("webhook-signature"), signature);
    assert.equal(header("webhook-id"), JSON.parse(body).id);
    assert.ok(docs.includes(EXAMPLE_WEBHOOK_SECRET), "the docs name the secret the example is signed with");
  });

  it("names no personal data in any payload", () => {
    const personal = [
      "fullName",
      "displayName",
      "name",
      "email",
      "givenName",
      "familyName",
      "birthDate",
      "phone",
    ];
    const names = propertyNames(served.components.schemas);
    assert.ok(names.includes("esi") && names.includes("escn"), "the walk found the payloads' properties");
    assert.deepEqual(
      names.filter((n) => personal.some((p) => p.toLowerCase() === n.toLowerCase())),
      [],
    );
  });

  it("puts the hub at its public URL and the NATS subjects under family and issuer", () => {
    const servers = served.servers as Record<string, Node>;
    assert.deepEqual(
      {
        host: servers["hub"]?.["host"],
        protocol: servers["hub"]?.["protocol"],
        path: servers["hub"]?.["pathname"],
      },
      { host: "hub.example.org", protocol: "https", path: "/openesc" },
    );
    assert.equal(servers["nats"]?.["protocol"], "nats");
    const nats = (served.channels as Record<string, Node>)["natsEvents"] ?? {};
    assert.equal(nats["address"], "openesc.events.{family}.{issuer}");
    const family = (nats["parameters"] as Record<string, { enum?: string[] }>)["family"];
    assert.deepEqual([...(family?.enum ?? [])].sort(), [...new Set(EVENT_TYPES.map(eventFamily))].sort());
    const bare = asyncApiDocument({ publicUrl: "http://localhost:8080" }).servers["hub"] as Node;
    assert.deepEqual(
      [bare["host"], bare["protocol"], bare["pathname"]],
      ["localhost:8080", "http", undefined],
    );
  });
});

describe("GET /asyncapi.json", () => {
  it("serves the document without a token, and passes the data map check", async () => {
    const app = Fastify();
    installDataMapEnforcement(app, []);
    const options = { publicUrl: PUBLIC_URL, bodyLimit: 1_048_576, maxPageSize: 100, logLevel: "silent" };
    asyncApiRoutes(app, { services: {} as HubServices, options });
    try {
      const answer = await app.inject({ method: "GET", url: "/asyncapi.json" });
      assert.equal(answer.statusCode, 200);
      assert.match(String(answer.headers["content-type"]), /^application\/json/);
      assert.deepEqual(answer.json(), served);
    } finally {
      await app.close();
    }
  });
});
