import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { ConfigError, loadConfig } from "../../src/config.ts";

const TOKEN = "an-operator-token-of-at-least-32-characters";

/** Expects loadConfig to refuse `env`, with a message that names `variable`. */
function assertRejected(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
      assert.ok(error.message.includes(variable), `"${error.message}" should name ${variable}`);
      return true;
    },
  );
}

describe("loadConfig defaults", () => {
  const config = loadConfig({});

  it("listens on 8080 on every interface", () => {
    assert.equal(config.port, 8080);
    assert.equal(config.host, "0.0.0.0");
  });

  it("derives the public URL from the port", () => {
    assert.equal(config.publicUrl, "http://localhost:8080");
    assert.equal(loadConfig({ PORT: "9090" }).publicUrl, "http://localhost:9090");
  });

  it("keeps data under ./data, resolved to an absolute path", () => {
    assert.equal(config.dataDir, resolve("./data"));
  });

  it("generates the operator token unless one is given", () => {
    assert.equal(config.adminToken, null);
  });

  it("has the documented limits and choices", () => {
    assert.equal(config.logLevel, "info");
    assert.equal(config.escnPrefix, "001");
    assert.equal(config.maxPageSize, 100);
    assert.equal(config.maxGeneratedEscns, 100);
    assert.equal(config.bodyLimit, 1_048_576);
    assert.equal(config.statusCacheSize, 50_000);
    assert.equal(config.auditFlushMs, 250);
    assert.equal(config.timeZone, "UTC");
    assert.equal(config.retentionDays, 730);
    assert.equal(config.consentProofDays, 1095);
    assert.equal(config.auditRetentionDays, 1095);
    assert.equal(config.retentionIntervalMinutes, 60);
  });

  it("uses the embedded store unless DATABASE_URL is set, with the documented pool settings", () => {
    assert.equal(config.databaseUrl, null);
    assert.equal(config.dbPoolSize, 10);
    assert.equal(config.dbStatementTimeoutMs, 5000);
    for (const url of ["postgres://hub@db.example.org:5432/openesc", "postgresql://db.example.org/openesc"]) {
      assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url);
    }
    const tuned = loadConfig({ OPENESC_DB_POOL_SIZE: "25", OPENESC_DB_STATEMENT_TIMEOUT_MS: "15000" });
    assert.equal(tuned.dbPoolSize, 25);
    assert.equal(tuned.dbStatementTimeoutMs, 15000);
  });

  it("treats an empty variable like an absent one where a default exists", () => {
    const empty = loadConfig({
      PORT: "",
      HOST: "",
      OPENESC_DATA_DIR: "",
      OPENESC_PUBLIC_URL: "",
      OPENESC_LOG_LEVEL: "",
      OPENESC_ESCN_PREFIX: "",
      OPENESC_TIME_ZONE: "",
      OPENESC_ADMIN_TOKEN: "",
    });
    assert.equal(empty.logLevel, "info");
    assert.equal(empty.escnPrefix, "001");
    assert.equal(empty.timeZone, "UTC");
    assert.equal(empty.adminToken, null);
    assert.equal(empty.port, 8080);
    assert.equal(empty.host, "0.0.0.0");
    assert.equal(empty.dataDir, resolve("./data"));
    assert.equal(empty.publicUrl, "http://localhost:8080");
    assert.equal(loadConfig({ OPENESC_ADMIN_TOKEN: "" }).adminToken, null);
  });
});

describe("loadConfig from the environment", () => {
  it("reads every option", () => {
    const config = loadConfig({
      PORT: "3000",
      HOST: "127.0.0.1",
      OPENESC_DATA_DIR: "var/openesc",
      OPENESC_PUBLIC_URL: "https://esc.example.edu/hub",
      OPENESC_ADMIN_TOKEN: TOKEN,
      OPENESC_LOG_LEVEL: "warn",
      OPENESC_ESCN_PREFIX: "042",
      OPENESC_MAX_PAGE_SIZE: "500",
      OPENESC_MAX_GENERATED_ESCNS: "250",
      OPENESC_BODY_LIMIT: "2048",
      OPENESC_STATUS_CACHE_SIZE: "0",
      OPENESC_AUDIT_FLUSH_MS: "40",
      OPENESC_TIME_ZONE: "Europe/Brussels",
      OPENESC_RETENTION_DAYS: "365",
      OPENESC_CONSENT_PROOF_DAYS: "1826",
      OPENESC_AUDIT_RETENTION_DAYS: "400",
      OPENESC_RETENTION_INTERVAL_MINUTES: "15",
      DATABASE_URL: "postgres://hub@db.example.org:5432/openesc",
      OPENESC_DB_POOL_SIZE: "20",
      OPENESC_DB_STATEMENT_TIMEOUT_MS: "2500",
      NATS_URL: "nats://nats.example.org:4222",
      OPENESC_NATS_STREAM: "ESC_EVENTS",
      OPENESC_NATS_SUBJECT_PREFIX: "esc.events",
      OPENESC_NATS_TIMEOUT_MS: "2000",
      OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true",
      OPENESC_WEBHOOK_TIMEOUT_MS: "3000",
      OPENESC_WEBHOOK_RETRY_BASE_MS: "1000",
      OPENESC_WEBHOOK_RETRY_MAX_MS: "60000",
      OPENESC_WEBHOOK_RETRY_HORIZON_MS: "3600000",
      OPENESC_WEBHOOK_CONCURRENCY: "16",
      OPENESC_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION: "2",
      OPENESC_DELIVERY_RETENTION_DAYS: "3",
      OPENESC_EVENT_POLL_MS: "500",
      OPENESC_EXPIRY_INTERVAL_MINUTES: "5",
      OPENESC_STATUS_LIST_SIZE: "200000",
      OPENESC_STATUS_LIST_TTL_SECONDS: "60",
      OPENESC_STATUS_LIST_VALIDITY_HOURS: "6",
      OPENESC_CREDENTIAL_OFFER_MINUTES: "30",
      OPENESC_TX_CODE_ATTEMPTS: "3",
      OPENESC_ALLOW_PRIVATE_MIRRORS: "true",
      OPENESC_IMPORT_MAX_BYTES: "1048576",
    });
    const { masterKey, ...rest } = config;
    assert.equal(masterKey, null, "no master key given: none is made here");
    assert.deepEqual(
      { ...rest },
      {
        port: 3000,
        host: "127.0.0.1",
        dataDir: resolve("var/openesc"),
        databaseUrl: "postgres://hub@db.example.org:5432/openesc",
        dbPoolSize: 20,
        dbStatementTimeoutMs: 2500,
        publicUrl: "https://esc.example.edu/hub",
        adminToken: TOKEN,
        logLevel: "warn",
        escnPrefix: "042",
        maxPageSize: 500,
        maxGeneratedEscns: 250,
        bodyLimit: 2048,
        statusCacheSize: 0,
        auditFlushMs: 40,
        timeZone: "Europe/Brussels",
        retentionDays: 365,
        consentProofDays: 1826,
        auditRetentionDays: 400,
        retentionIntervalMinutes: 15,
        natsUrl: "nats://nats.example.org:4222",
        natsStream: "ESC_EVENTS",
        natsSubjectPrefix: "esc.events",
        natsTimeoutMs: 2000,
        allowPrivateWebhooks: true,
        webhookTimeoutMs: 3000,
        webhookRetryBaseMs: 1000,
        webhookRetryMaxMs: 60000,
        webhookRetryHorizonMs: 3600000,
        webhookConcurrency: 16,
        webhookConcurrencyPerSubscription: 2,
        deliveryRetentionDays: 3,
        eventPollMs: 500,
        expiryIntervalMinutes: 5,
        statusListSize: 200_000,
        statusListTtlSeconds: 60,
        statusListValidityHours: 6,
        credentialOfferMinutes: 30,
        txCodeAttempts: 3,
        mirrors: [],
        allowPrivateMirrors: true,
        importMaxBytes: 1_048_576,
        // A file to read: its own test is in test/connectors/scheduled-syncs.test.ts.
        syncConfig: null,
      },
    );
  });

  it("reads the master key from the environment or an owner-only file, and never shows it", () => {
    const hex = "8f3c2a1b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";
    const config = loadConfig({ OPENESC_MASTER_KEY: hex });
    assert.ok(config.masterKey !== null);
    assert.doesNotMatch(JSON.stringify(config), new RegExp(hex.slice(0, 16)));
    assert.match(JSON.stringify(config), /"masterKey":"\[master key\]"/);
    assert.throws(
      () => loadConfig({ OPENESC_MASTER_KEY: hex, OPENESC_MASTER_KEY_FILE: "/nonexistent" }),
      /set only one of them/,
    );
  });

  it("refuses a status list smaller than 100,000 entries, a size not a multiple of 4, and a ttl beyond the validity", () => {
    assert.throws(
      () => loadConfig({ OPENESC_STATUS_LIST_SIZE: "99996" }),
      /OPENESC_STATUS_LIST_SIZE must be between 100000/,
    );
    assert.throws(() => loadConfig({ OPENESC_STATUS_LIST_SIZE: "100001" }), /multiple of 4/);
    assert.throws(
      () => loadConfig({ OPENESC_STATUS_LIST_TTL_SECONDS: "7200", OPENESC_STATUS_LIST_VALIDITY_HOURS: "1" }),
      /OPENESC_STATUS_LIST_TTL_SECONDS must be shorter/,
    );
  });

  it("accepts the bounds of each number", () => {
    assert.equal(loadConfig({ PORT: "0" }).port, 0);
    assert.equal(loadConfig({ PORT: "65535" }).port, 65535);
    assert.equal(loadConfig({ OPENESC_MAX_PAGE_SIZE: "1" }).maxPageSize, 1);
    assert.equal(loadConfig({ OPENESC_MAX_PAGE_SIZE: "1000" }).maxPageSize, 1000);
  });

  it("removes the trailing slash of the public URL", () => {
    assert.equal(
      loadConfig({ OPENESC_PUBLIC_URL: "https://hub.example.org/" }).publicUrl,
      "https://hub.example.org",
    );
    assert.equal(
      loadConfig({ OPENESC_PUBLIC_URL: "https://hub.example.org/esc/" }).publicUrl,
      "https://hub.example.org/esc",
    );
    assert.equal(
      loadConfig({ OPENESC_PUBLIC_URL: "http://hub.example.org" }).publicUrl,
      "http://hub.example.org",
    );
  });

  it("keeps an explicit public URL when the port changes", () => {
    const config = loadConfig({ PORT: "3000", OPENESC_PUBLIC_URL: "https://hub.example.org" });
    assert.equal(config.publicUrl, "https://hub.example.org");
  });
});

describe("loadConfig rejects wrong values, naming the variable", () => {
  const cases: readonly [string, Record<string, string>, string][] = [
    ["a port that is not a number", { PORT: "abc" }, "PORT"],
    ["a negative port", { PORT: "-1" }, "PORT"],
    ["a port above 65535", { PORT: "65536" }, "PORT"],
    ["a fractional port", { PORT: "80.5" }, "PORT"],
    ["a public URL that is not http(s)", { OPENESC_PUBLIC_URL: "ftp://x" }, "OPENESC_PUBLIC_URL"],
    ["a relative public URL", { OPENESC_PUBLIC_URL: "hub.example.org" }, "OPENESC_PUBLIC_URL"],
    [
      "a public URL with a query",
      { OPENESC_PUBLIC_URL: "https://hub.example.org/?a=1" },
      "OPENESC_PUBLIC_URL",
    ],
    [
      "a public URL with a fragment",
      { OPENESC_PUBLIC_URL: "https://hub.example.org/#top" },
      "OPENESC_PUBLIC_URL",
    ],
    [
      "a public URL with an empty query",
      { OPENESC_PUBLIC_URL: "https://hub.example.org/?" },
      "OPENESC_PUBLIC_URL",
    ],
    [
      "a public URL with an empty fragment",
      { OPENESC_PUBLIC_URL: "https://hub.example.org/#" },
      "OPENESC_PUBLIC_URL",
    ],
    ["a 2-digit ESCN prefix", { OPENESC_ESCN_PREFIX: "12" }, "OPENESC_ESCN_PREFIX"],
    [
      "a public URL with credentials",
      { OPENESC_PUBLIC_URL: "https://user:secret@hub.example.org" },
      "OPENESC_PUBLIC_URL",
    ],
    ["a 4-digit ESCN prefix", { OPENESC_ESCN_PREFIX: "1234" }, "OPENESC_ESCN_PREFIX"],
    ["a non-numeric ESCN prefix", { OPENESC_ESCN_PREFIX: "abc" }, "OPENESC_ESCN_PREFIX"],
    ["a short operator token", { OPENESC_ADMIN_TOKEN: "too-short" }, "OPENESC_ADMIN_TOKEN"],
    ["an operator token one character short", { OPENESC_ADMIN_TOKEN: "x".repeat(31) }, "OPENESC_ADMIN_TOKEN"],
    ["an unknown time zone", { OPENESC_TIME_ZONE: "Mars/Olympus_Mons" }, "OPENESC_TIME_ZONE"],
    ["an unknown log level", { OPENESC_LOG_LEVEL: "verbose" }, "OPENESC_LOG_LEVEL"],
    ["a page size of 0", { OPENESC_MAX_PAGE_SIZE: "0" }, "OPENESC_MAX_PAGE_SIZE"],
    ["a page size above 1000", { OPENESC_MAX_PAGE_SIZE: "1001" }, "OPENESC_MAX_PAGE_SIZE"],
    ["0 generated ESCNs", { OPENESC_MAX_GENERATED_ESCNS: "0" }, "OPENESC_MAX_GENERATED_ESCNS"],
    ["a body limit below 1 KiB", { OPENESC_BODY_LIMIT: "1023" }, "OPENESC_BODY_LIMIT"],
    ["a negative cache size", { OPENESC_STATUS_CACHE_SIZE: "-5" }, "OPENESC_STATUS_CACHE_SIZE"],
    ["a retention period of 0 days", { OPENESC_RETENTION_DAYS: "0" }, "OPENESC_RETENTION_DAYS"],
    ["a retention period in weeks", { OPENESC_RETENTION_DAYS: "104w" }, "OPENESC_RETENTION_DAYS"],
    ["a consent proof period of 0 days", { OPENESC_CONSENT_PROOF_DAYS: "0" }, "OPENESC_CONSENT_PROOF_DAYS"],
    [
      "an audit retention above 100 years",
      { OPENESC_AUDIT_RETENTION_DAYS: "36501" },
      "OPENESC_AUDIT_RETENTION_DAYS",
    ],
    [
      "a retention interval of 0 minutes",
      { OPENESC_RETENTION_INTERVAL_MINUTES: "0" },
      "OPENESC_RETENTION_INTERVAL_MINUTES",
    ],
    [
      "a retention interval above a week",
      { OPENESC_RETENTION_INTERVAL_MINUTES: "10081" },
      "OPENESC_RETENTION_INTERVAL_MINUTES",
    ],
    ["a database URL that is not PostgreSQL", { DATABASE_URL: "mysql://db.example.org/x" }, "DATABASE_URL"],
    ["a database URL that is no URL", { DATABASE_URL: "db.example.org" }, "DATABASE_URL"],
    ["a pool of 0 connections", { OPENESC_DB_POOL_SIZE: "0" }, "OPENESC_DB_POOL_SIZE"],
    [
      "a statement timeout in seconds",
      { OPENESC_DB_STATEMENT_TIMEOUT_MS: "5s" },
      "OPENESC_DB_STATEMENT_TIMEOUT_MS",
    ],
  ];
  for (const [what, env, variable] of cases) {
    it(`${what} (${variable}=${Object.values(env)[0]})`, () => assertRejected(env, variable));
  }

  it("accepts a token of exactly 32 characters", () => {
    assert.equal(loadConfig({ OPENESC_ADMIN_TOKEN: "x".repeat(32) }).adminToken, "x".repeat(32));
  });
});

describe("the configuration object", () => {
  it("does not echo a database password in its message", () => {
    assert.throws(
      () => loadConfig({ DATABASE_URL: "mysql://hub:s3cret@db.example.org/x" }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes("s3cret"),
    );
  });

  it("is frozen", () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.equal(config.port, 8080);
  });

  it("does not read process.env when given an environment", () => {
    const before = process.env["PORT"];
    process.env["PORT"] = "1234";
    try {
      assert.equal(loadConfig({}).port, 8080);
    } finally {
      if (before === undefined) delete process.env["PORT"];
      else process.env["PORT"] = before;
    }
  });

  it("documents every variable it reads in docs/configuration.md", () => {
    const source = readFileSync(new URL("../../src/config.ts", import.meta.url), "utf8");
    const read = new Set(
      [...source.matchAll(/"((?:OPENESC_|NATS_|DATABASE_)[A-Z_]+|PORT|HOST)"/g)].map((m) => m[1]),
    );
    const documented = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
    assert.ok(read.size >= 20, `found only ${read.size} variables`);
    for (const name of read) assert.match(documented, new RegExp(`\\| \`${name}\``), name);
  });

  it("reads the event delivery settings, and refuses nonsense with the variable's name", () => {
    const config = loadConfig({
      NATS_URL: "nats://127.0.0.1:4222,nats://10.0.0.2:4222",
      OPENESC_ALLOW_PRIVATE_WEBHOOKS: "true",
      OPENESC_WEBHOOK_RETRY_BASE_MS: "100",
    });
    assert.equal(config.natsUrl, "nats://127.0.0.1:4222,nats://10.0.0.2:4222");
    assert.equal(config.allowPrivateWebhooks, true);
    assert.equal(config.webhookRetryBaseMs, 100);
    assert.equal(loadConfig({}).allowPrivateWebhooks, false);
    assertRejected({ NATS_URL: "http://127.0.0.1:4222" }, "NATS_URL");
    assertRejected({ OPENESC_ALLOW_PRIVATE_WEBHOOKS: "yes" }, "OPENESC_ALLOW_PRIVATE_WEBHOOKS");
    assertRejected({ OPENESC_NATS_SUBJECT_PREFIX: "openesc.>" }, "OPENESC_NATS_SUBJECT_PREFIX");
    assertRejected({ OPENESC_NATS_STREAM: "a.b" }, "OPENESC_NATS_STREAM");
    assertRejected(
      { OPENESC_WEBHOOK_RETRY_BASE_MS: "5000", OPENESC_WEBHOOK_RETRY_MAX_MS: "10" },
      "OPENESC_WEBHOOK_RETRY_MAX_MS",
    );
  });
});

describe("the mirrors to ESC Routers", () => {
  const TOKEN_AT_ROUTER = "router-token-8c1f3b7e2a94d06f";
  const entry = (extra: Record<string, unknown> = {}) => ({
    organisation: "999888777",
    url: "https://esc-router.example/esc-rest/",
    token: TOKEN_AT_ROUTER,
    ...extra,
  });
  const mirrorsOf = (entries: unknown) => loadConfig({ OPENESC_MIRRORS: JSON.stringify(entries) }).mirrors;

  it("reads them from OPENESC_MIRRORS, none by default, and never shows a token", () => {
    assert.deepEqual(loadConfig({}).mirrors, []);
    assert.equal(loadConfig({}).allowPrivateMirrors, false);
    const [mirror, ...rest] = mirrorsOf([
      entry(),
      entry({ organisation: "111222333", url: "http://10.0.0.5:8080/esc-rest" }),
    ]);
    assert.equal(rest.length, 1);
    assert.equal(mirror?.organisationId, "999888777");
    assert.equal(mirror?.url, "https://esc-router.example/esc-rest");
    assert.equal(mirror?.authorization(), `Bearer ${TOKEN_AT_ROUTER}`);
    const config = loadConfig({ OPENESC_MIRRORS: JSON.stringify([entry()]) });
    assert.doesNotMatch(JSON.stringify(config), new RegExp(TOKEN_AT_ROUTER));
    assert.match(
      JSON.stringify(config),
      /"mirrors":\[\{"organisation":"999888777","url":"https:\/\/esc-router\.example\/esc-rest","token":"\(set\)"\}\]/,
    );
    assert.doesNotMatch(inspect(config, { depth: 5 }), new RegExp(TOKEN_AT_ROUTER));
    assert.ok(Object.isFrozen(config.mirrors) && Object.isFrozen(mirror));
  });

  it("reads them from an owner-only file, and refuses a file others may read", () => {
    const dir = mkdtempSync(join(tmpdir(), "openesc-mirrors-"));
    try {
      const file = join(dir, "mirrors.json");
      writeFileSync(file, JSON.stringify([entry()]), { mode: 0o600 });
      assert.equal(loadConfig({ OPENESC_MIRRORS_FILE: file }).mirrors[0]?.organisationId, "999888777");
      chmodSync(file, 0o644);
      assert.throws(() => loadConfig({ OPENESC_MIRRORS_FILE: file }), /OPENESC_MIRRORS_FILE .*chmod 600/);
      assertRejected({ OPENESC_MIRRORS_FILE: join(dir, "missing.json") }, "OPENESC_MIRRORS_FILE");
      assertRejected({ OPENESC_MIRRORS: "[]", OPENESC_MIRRORS_FILE: file }, "OPENESC_MIRRORS");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a malformed list, naming the variable and the entry, never the token", () => {
    const cases: [string, string][] = [
      ["not JSON", `[{"token": "${TOKEN_AT_ROUTER}"`],
      ["not an array", JSON.stringify(entry())],
      ["no organisation", JSON.stringify([entry({ organisation: undefined })])],
      ["a relative url", JSON.stringify([entry({ url: "esc-router.example/esc-rest" })])],
      ["an ftp url", JSON.stringify([entry({ url: "ftp://esc-router.example/esc-rest" })])],
      ["a url with a password", JSON.stringify([entry({ url: "https://u:p@esc-router.example/esc-rest" })])],
      ["a url with a query", JSON.stringify([entry({ url: "https://esc-router.example/esc-rest?x=1" })])],
      ["an empty token", JSON.stringify([entry({ token: "" })])],
      ["a token with a line break", JSON.stringify([entry({ token: `${TOKEN_AT_ROUTER}\r\nX-Evil: 1` })])],
      ["an unknown field", JSON.stringify([entry({ secret: TOKEN_AT_ROUTER })])],
      ["one organisation twice", JSON.stringify([entry(), entry()])],
    ];
    for (const [what, value] of cases) {
      assert.throws(
        () => loadConfig({ OPENESC_MIRRORS: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, `${what}: ${String(error)}`);
          assert.match(error.message, /OPENESC_MIRRORS/, what);
          assert.ok(!error.message.includes(TOKEN_AT_ROUTER), `${what}: ${error.message}`);
          return true;
        },
        what,
      );
    }
    assert.throws(() => mirrorsOf([entry(), entry({ url: "nope" })]), /OPENESC_MIRRORS entry 2/);
    assertRejected({ OPENESC_ALLOW_PRIVATE_MIRRORS: "yes" }, "OPENESC_ALLOW_PRIVATE_MIRRORS");
  });
});
