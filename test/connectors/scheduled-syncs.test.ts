/**
 * Scheduled syncs: the connectors of `OPENESC_SYNC_CONFIG` run inside the hub on their schedules, one
 * process at a time per connector (lease `sync:<name>`), their runs and outcomes readable through the API,
 * and a source that fails never takes the hub down.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PostgresStorage } from "../../src/adapters/storage/postgres/postgres-storage.ts";
import { SqliteStorage } from "../../src/adapters/storage/sqlite/sqlite-storage.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { type ScheduledSyncLog, ScheduledSyncs } from "../../src/connectors/scheduled-syncs.ts";
import type { ConnectorConfig } from "../../src/connectors/sync-config.ts";
import { SyncEngine } from "../../src/connectors/sync-engine.ts";
import type { Storage } from "../../src/ports/storage.ts";
import { StartupError, startHub } from "../../src/start-hub.ts";
import { eventually } from "../support/eventually.ts";
import { OTHER_UNIVERSITY, UNIVERSITY } from "../support/fixtures.ts";
import {
  adminQuery,
  postgresAvailability,
  TEST_DATABASE_URL,
  throwawayName,
} from "../support/postgres-server.ts";
import { startTestHub, type TestHub } from "../support/test-hub.ts";
import { addOrganisation, esiOf, newPic, TestClock } from "./sync-stores.ts";

const SECRET = "s3cret-bind-pw";

/** A JSON Lines file of `count` enrolled students. */
function students(count: number): string {
  return `${Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      esi: esiOf(i + 1),
      fullName: `Student ${i + 1}`,
      statusState: "enrolled",
      validFrom: "2026-09-01",
    }),
  ).join("\n")}\n`;
}

/** A folder with a sync configuration and its files; returns the configuration's path. */
function configFolder(connectors: readonly object[], files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "openesc-syncs-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = join(dir, "connectors.json");
  writeFileSync(file, JSON.stringify({ connectors }));
  return file;
}

/** A log that keeps what it is told. */
function keptLog(): ScheduledSyncLog & { lines: { level: string; details: object; message: string }[] } {
  const lines: { level: string; details: object; message: string }[] = [];
  const keep = (level: string) => (details: object, message: string) => {
    lines.push({ level, details, message });
  };
  return { lines, info: keep("info"), warn: keep("warn"), error: keep("error") };
}

interface ConnectorView {
  name: string;
  source: string;
  everyMinutes: number | null;
  graceDays: number;
  lastRun: { state: string; created: number; error: string | null; source: string } | null;
}

describe("scheduled syncs in a served hub", () => {
  let hub: TestHub;
  let configFile: string;
  let uni: string;
  let other: string;
  const log = keptLog();

  before(async () => {
    configFile = configFolder(
      [
        {
          name: "sis",
          organisation: UNIVERSITY.id,
          everyMinutes: 1,
          source: { kind: "jsonl", path: "students.jsonl" },
        },
        {
          name: "broken",
          organisation: UNIVERSITY.id,
          everyMinutes: 1,
          source: { kind: "csv", path: "missing.csv" },
        },
        {
          name: "directory",
          organisation: UNIVERSITY.id,
          everyMinutes: 5,
          graceDays: 10,
          source: {
            kind: "ldap",
            url: "ldap://127.0.0.1:1",
            baseDn: "ou=people,dc=example,dc=org",
            bindDn: "cn=hub,dc=example,dc=org",
            password: SECRET,
            timeoutMs: 2000,
          },
        },
        {
          name: "by-hand",
          organisation: UNIVERSITY.id,
          source: { kind: "jsonl", path: "students.jsonl" },
        },
        {
          name: "theirs",
          organisation: OTHER_UNIVERSITY.id,
          everyMinutes: 1,
          source: { kind: "jsonl", path: "students.jsonl" },
        },
      ],
      { "students.jsonl": students(3) },
    );
    hub = await startTestHub({ env: { OPENESC_SYNC_CONFIG: configFile } });
    uni = await hub.onboard(UNIVERSITY);
    other = await hub.onboard(OTHER_UNIVERSITY);
    // As `startHub` does once the hub listens; the organisations exist by now.
    await hub.services.syncs.check();
    hub.services.syncs.start(log);
  });
  after(async () => {
    await hub.close();
    rmSync(join(configFile, ".."), { recursive: true, force: true });
  });

  const connectors = async (token = uni) => {
    const res = await hub.request({ method: "GET", url: "/v1/connectors", token });
    assert.equal(res.statusCode, 200, res.body);
    return res;
  };
  const settled = async () =>
    eventually(async () => {
      const items = (await connectors()).json<{ items: ConnectorView[] }>().items;
      for (const name of ["sis", "broken", "directory"]) {
        const run = items.find((c) => c.name === name)?.lastRun;
        assert.ok(run && run.state !== "running", `${name} has not run yet`);
      }
      return items;
    });

  it("runs each scheduled connector at start, and shows its schedule and last run through the API", async () => {
    const items = await settled();
    assert.deepEqual(
      items.map((c) => [c.name, c.source, c.everyMinutes, c.graceDays]),
      [
        ["sis", "jsonl", 1, 30],
        ["broken", "csv", 1, 30],
        ["directory", "ldap", 5, 10],
        ["by-hand", "jsonl", null, 30],
      ],
    );
    const sis = items[0]?.lastRun;
    assert.equal(sis?.state, "completed");
    assert.equal(sis?.created, 3);
    assert.equal(sis?.source, "jsonl:students.jsonl");
    assert.equal(items[3]?.lastRun, null, "a connector without a schedule is never run by the hub");
    const person = await hub.request({
      method: "GET",
      url: `/v1/persons/${encodeURIComponent(esiOf(2))}`,
      token: uni,
    });
    assert.equal(person.statusCode, 200, person.body);
    const runs = await hub.request({ method: "GET", url: "/v1/connectors/runs?connector=sis", token: uni });
    assert.equal(runs.json().items.length, 1);
    assert.ok(
      log.lines.some(
        (l) =>
          l.level === "info" &&
          l.message === "scheduled sync" &&
          (l.details as { created?: number }).created === 3,
      ),
    );
  });

  it("records a source that fails as a failed run, with its reason and without its secrets, and keeps serving", async () => {
    const items = await settled();
    const broken = items.find((c) => c.name === "broken")?.lastRun;
    assert.equal(broken?.state, "failed");
    assert.equal(broken?.error, "csv:missing.csv: the file cannot be opened (ENOENT)");
    const directory = items.find((c) => c.name === "directory")?.lastRun;
    assert.equal(directory?.state, "failed");
    assert.ok(directory?.error);
    const body = (await connectors()).body;
    assert.ok(!body.includes(SECRET), body);
    assert.ok(!body.includes(join(configFile, "..")), "a path of the server");
    assert.ok(!JSON.stringify(log.lines).includes(SECRET), "a secret in the log");
    assert.ok(log.lines.some((l) => l.level === "warn" && l.message === "scheduled sync failed"));
    assert.equal((await hub.request({ method: "GET", url: "/healthz" })).statusCode, 200);
    assert.equal((await hub.request({ method: "GET", url: "/readyz" })).statusCode, 200);
  });

  it("shows each organisation its own connectors and runs only", async () => {
    const theirs = await eventually(async () => {
      const items = (await connectors(other)).json<{ items: ConnectorView[] }>().items;
      assert.equal(items[0]?.lastRun?.state, "completed");
      return items;
    });
    assert.deepEqual(
      theirs.map((c) => c.name),
      ["theirs"],
    );
    const mine = await hub.request({ method: "GET", url: "/v1/connectors/runs?limit=100", token: uni });
    assert.ok(
      mine
        .json()
        .items.every((r: { connector: string }) => ["sis", "broken", "directory"].includes(r.connector)),
    );
  });
});

describe("when a scheduled connector runs", () => {
  let dir: string;
  let storage: SqliteStorage;
  let pic: string;
  const clock = new TestClock("2026-10-15T10:00:00.000Z");

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "openesc-schedule-"));
    writeFileSync(join(dir, "students.jsonl"), students(2));
    storage = new SqliteStorage({ file: join(dir, "openesc.db") });
    await storage.init();
    pic = newPic();
    await addOrganisation(storage, pic);
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const connector = (name: string, organisation = pic): ConnectorConfig => ({
    name,
    organisation,
    source: { kind: "jsonl", path: "students.jsonl" },
    graceDays: 30,
    batchSize: 500,
    everyMinutes: 60,
  });
  /** A process of its own: its own engine, schedule and lease holder, on the shared store. */
  const hubProcess = (holder: string, connectors: readonly ConnectorConfig[], store: Storage = storage) =>
    new ScheduledSyncs(
      new SyncEngine({ storage: store, clock, timeZone: "UTC" }, { escnPrefix: "001" }),
      { storage: store, clock },
      { connectors, baseDir: dir, holder },
    );
  const runs = (name: string) => storage.read.connectorRuns.listRecent(name, pic, 100);

  it("counts its period from the start of its last run in the store, whichever process ran it", async () => {
    const first = hubProcess("process-a", [connector("hourly")]);
    first.start();
    await eventually(async () => assert.equal((await runs("hourly"))[0]?.state, "completed"));
    await first.stop();
    // A restart within the hour runs nothing…
    const restarted = hubProcess("process-b", [connector("hourly")]);
    restarted.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await runs("hourly")).length, 1);
    await restarted.stop();
    // …and one after it runs at once.
    clock.advance(61 * 60_000);
    const later = hubProcess("process-b", [connector("hourly")]);
    later.start();
    await eventually(async () => assert.equal((await runs("hourly")).length, 2));
    await later.stop();
  });

  it("joins a run of the same connector already under way in the process, rather than starting another", async () => {
    const syncs = hubProcess("process-a", [connector("joined")]);
    const [one, two] = await Promise.all([syncs.runNow("joined"), syncs.runNow("joined")]);
    assert.equal(one, two);
    assert.equal((await runs("joined")).length, 1);
    await syncs.stop();
  });

  it("cannot run a connector whose organisation is not registered: the run is refused, nothing recorded", async () => {
    const unknown = newPic();
    const syncs = hubProcess("process-a", [connector("nowhere", unknown)]);
    await assert.rejects(syncs.runNow("nowhere"), { code: "ORGANISATION_NOT_FOUND" });
    await syncs.stop();
  });

  it("refuses at start a connector whose source cannot be set up, naming it, without its secrets", async () => {
    const syncs = hubProcess("process-a", [
      {
        ...connector("bad-url"),
        source: { kind: "ldap", url: `ldap://hub:${SECRET}@ldap.example.org`, baseDn: "dc=x" },
      },
    ]);
    await assert.rejects(syncs.check(), (error: Error) => {
      assert.match(error.message, /^connector bad-url: /);
      assert.ok(!error.message.includes(SECRET), error.message);
      return true;
    });
  });
});

describe("two hub processes on one PostgreSQL store", async () => {
  const availability = await postgresAvailability();
  if (availability.skip !== false && availability.fail) throw new Error(availability.skip);
  const skip = availability.skip === false ? false : availability.skip;
  let dir: string;
  let schema: string;
  let stores: PostgresStorage[] = [];
  let pic: string;
  const clock = new TestClock("2026-10-15T10:00:00.000Z");

  before(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), "openesc-lease-"));
    writeFileSync(join(dir, "students.jsonl"), students(50));
    schema = throwawayName();
    await adminQuery(`CREATE SCHEMA ${schema}`);
    stores = [0, 1].map(() => new PostgresStorage({ connectionString: TEST_DATABASE_URL, schema }));
    for (const store of stores) await store.init();
    pic = newPic();
    await addOrganisation(stores[0] as Storage, pic);
  });
  after(async () => {
    if (skip) return;
    for (const store of stores) await store.close();
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    rmSync(dir, { recursive: true, force: true });
  });

  const connector = (name: string): ConnectorConfig => ({
    name,
    organisation: pic,
    source: { kind: "jsonl", path: "students.jsonl" },
    graceDays: 30,
    batchSize: 10,
    everyMinutes: 1,
  });
  const processes = (name: string) =>
    stores.map(
      (store, i) =>
        new ScheduledSyncs(
          new SyncEngine({ storage: store, clock, timeZone: "UTC" }, { escnPrefix: "001" }),
          { storage: store, clock },
          { connectors: [connector(name)], baseDir: dir, holder: `process-${i}` },
        ),
    ) as [ScheduledSyncs, ScheduledSyncs];
  const runs = (name: string) => (stores[0] as Storage).read.connectorRuns.listRecent(name, pic, 100);

  it("run a connector in one of them only, both asked at once", { skip }, async () => {
    const [a, b] = processes("sis");
    const outcomes = await Promise.all([a.runNow("sis"), b.runNow("sis")]);
    assert.deepEqual(outcomes.map((o) => o.ran).sort(), [false, true]);
    const refused = outcomes.find((o) => !o.ran);
    assert.deepEqual(refused, { ran: false, reason: "held-elsewhere" });
    assert.equal((await runs("sis")).length, 1);
    // The holder keeps the lease between runs; once it stops, the other takes over.
    const [holder, waiting] = outcomes[0]?.ran ? [a, b] : [b, a];
    assert.deepEqual(await waiting.runNow("sis"), { ran: false, reason: "held-elsewhere" });
    await holder.stop();
    assert.equal((await waiting.runNow("sis")).ran, true);
    assert.equal((await runs("sis")).length, 2);
    await waiting.stop();
  });

  it("run a connector once per period when both run the schedule", { skip }, async () => {
    const [a, b] = processes("scheduled");
    a.start();
    b.start();
    await eventually(async () => assert.equal((await runs("scheduled"))[0]?.state, "completed"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await runs("scheduled")).length, 1);
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe("OPENESC_SYNC_CONFIG", () => {
  const base = { OPENESC_DATA_DIR: tmpdir() };
  const refused = (file: string, pattern: RegExp) =>
    assert.throws(
      () => loadConfig({ ...base, OPENESC_SYNC_CONFIG: file }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, /OPENESC_SYNC_CONFIG/);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes(SECRET), error.message);
        return true;
      },
    );
  const source = { kind: "csv", path: "students.csv" };

  it("is read and checked at start: the connectors, their schedule, the folder of relative paths", () => {
    const file = configFolder([
      { name: "sis", organisation: "999888777", everyMinutes: 15, source },
      {
        name: "by-hand",
        organisation: "999888777",
        source: { kind: "ldap", url: "ldaps://ldap.example.org", bindDn: "cn=hub", password: SECRET },
      },
    ]);
    try {
      const config = loadConfig({ ...base, OPENESC_SYNC_CONFIG: file });
      assert.equal(config.syncConfig?.file, file);
      assert.deepEqual(
        config.syncConfig?.connectors.map((c) => [c.name, c.everyMinutes]),
        [
          ["sis", 15],
          ["by-hand", null],
        ],
      );
      // Printed (`openesc config`), it shows no option of a source, where a password may be.
      assert.deepEqual(JSON.parse(JSON.stringify(config)).syncConfig.connectors[0], {
        name: "sis",
        organisation: "999888777",
        source: "csv",
        graceDays: 30,
        batchSize: 500,
        everyMinutes: 15,
      });
      assert.ok(!JSON.stringify(config).includes(SECRET));
      assert.equal(loadConfig(base).syncConfig, null);
      assert.equal(loadConfig(base).importMaxBytes, 268_435_456);
    } finally {
      rmSync(join(file, ".."), { recursive: true, force: true });
    }
  });

  it("refuses a file that is missing, not JSON (without quoting it), or wrong, naming the variable", () => {
    refused(join(tmpdir(), "no-such-openesc-config.json"), /cannot be read.*ENOENT/);
    const files = [
      configFolder([]),
      configFolder([{ name: "sis", organisation: "999888777", everyMinutes: 0, source }]),
      configFolder([{ name: "sis", organisation: "999888777", everyMinutes: 10_081, source }]),
      configFolder([{ name: "upload", organisation: "999888777", source }]),
    ];
    const notJson = join(files[0] as string, "..", "broken.json");
    writeFileSync(notJson, `{ "connectors": [ { "password": "${SECRET}" ] }`);
    try {
      refused(files[0] as string, /"connectors", a non-empty list/);
      refused(files[1] as string, /connectors\[0\]\.everyMinutes/);
      refused(files[2] as string, /connectors\[0\]\.everyMinutes/);
      refused(files[3] as string, /connectors\[0\]\.name: "upload" is the name of the imports/);
      refused(notJson, /is not JSON/);
    } finally {
      for (const file of files) rmSync(join(file, ".."), { recursive: true, force: true });
    }
  });

  it("stops the hub at start, in one line, when a connector's source cannot be set up", async () => {
    const file = configFolder([
      { name: "sis", organisation: "999888777", everyMinutes: 5, source: { ...source, delimiter: "x" } },
    ]);
    const dataDir = mkdtempSync(join(tmpdir(), "openesc-startup-"));
    try {
      const config = loadConfig({ OPENESC_DATA_DIR: dataDir, OPENESC_SYNC_CONFIG: file, PORT: "0" });
      await assert.rejects(startHub(config), (error: Error) => {
        assert.ok(error instanceof StartupError, String(error));
        assert.match(error.message, /^OPENESC_SYNC_CONFIG: connector sis: .*delimiter/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    } finally {
      rmSync(join(file, ".."), { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
