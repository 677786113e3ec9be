import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { UnavailableError } from "../../../domain/errors.ts";
import type { Repositories, Storage, StorageCapabilities } from "../../../ports/storage.ts";
import { SqliteAuditRepository } from "./sqlite-audit-repository.ts";
import { SqliteCardRepository } from "./sqlite-card-repository.ts";
import { SqliteConnection } from "./sqlite-connection.ts";
import { SqliteConnectorPresenceRepository } from "./sqlite-connector-presence-repository.ts";
import { SqliteConnectorRunRepository } from "./sqlite-connector-run-repository.ts";
import { SqliteConnectorSyncRepository } from "./sqlite-connector-sync-repository.ts";
import { SqliteConsentRepository } from "./sqlite-consent-repository.ts";
import { SqliteCredentialOfferRepository } from "./sqlite-credential-offer-repository.ts";
import { SqliteCredentialRepository } from "./sqlite-credential-repository.ts";
import { SqliteCursorRepository } from "./sqlite-cursor-repository.ts";
import { SqliteDeliveryRepository } from "./sqlite-delivery-repository.ts";
import { SqliteIssuerKeyRepository } from "./sqlite-issuer-key-repository.ts";
import { SqliteLeaseRepository } from "./sqlite-lease-repository.ts";
import { SQLITE_MIGRATIONS } from "./sqlite-migrations.ts";
import { SqliteMirrorJobRepository } from "./sqlite-mirror-job-repository.ts";
import { SqliteNonceRepository } from "./sqlite-nonce-repository.ts";
import { SqliteOrganisationRepository } from "./sqlite-organisation-repository.ts";
import { SqliteOutboxRepository } from "./sqlite-outbox-repository.ts";
import { SqlitePersonRepository } from "./sqlite-person-repository.ts";
import { SqliteStatusListRepository } from "./sqlite-status-list-repository.ts";
import { SqliteStudentStatusRepository } from "./sqlite-student-status-repository.ts";
import { SqliteSubscriptionRepository } from "./sqlite-subscription-repository.ts";
import { SqliteTokenRepository } from "./sqlite-token-repository.ts";

export interface SqliteStorageOptions {
  /** Database file, or `:memory:` (then reads share the writer's connection). */
  readonly file: string;
  /** Page cache per connection, in MiB. */
  readonly cacheMiB?: number;
}

class SqliteRepositories implements Repositories {
  readonly organisations: SqliteOrganisationRepository;
  readonly tokens: SqliteTokenRepository;
  readonly persons: SqlitePersonRepository;
  readonly statuses: SqliteStudentStatusRepository;
  readonly cards: SqliteCardRepository;
  readonly outbox: SqliteOutboxRepository;
  readonly consents: SqliteConsentRepository;
  readonly audit: SqliteAuditRepository;
  readonly leases: SqliteLeaseRepository;
  readonly subscriptions: SqliteSubscriptionRepository;
  readonly deliveries: SqliteDeliveryRepository;
  readonly cursors: SqliteCursorRepository;
  readonly issuerKeys: SqliteIssuerKeyRepository;
  readonly credentials: SqliteCredentialRepository;
  readonly statusLists: SqliteStatusListRepository;
  readonly credentialOffers: SqliteCredentialOfferRepository;
  readonly nonces: SqliteNonceRepository;
  readonly syncState: SqliteConnectorSyncRepository;
  readonly connectorRuns: SqliteConnectorRunRepository;
  readonly connectorPresence: SqliteConnectorPresenceRepository;
  readonly mirrorJobs: SqliteMirrorJobRepository;

  constructor(db: SqliteConnection) {
    this.organisations = new SqliteOrganisationRepository(db);
    this.tokens = new SqliteTokenRepository(db);
    this.persons = new SqlitePersonRepository(db);
    this.statuses = new SqliteStudentStatusRepository(db);
    this.cards = new SqliteCardRepository(db);
    this.outbox = new SqliteOutboxRepository(db);
    this.consents = new SqliteConsentRepository(db);
    this.audit = new SqliteAuditRepository(db);
    this.leases = new SqliteLeaseRepository(db);
    this.subscriptions = new SqliteSubscriptionRepository(db);
    this.deliveries = new SqliteDeliveryRepository(db);
    this.cursors = new SqliteCursorRepository(db);
    this.issuerKeys = new SqliteIssuerKeyRepository(db);
    this.credentials = new SqliteCredentialRepository(db);
    this.statusLists = new SqliteStatusListRepository(db);
    this.credentialOffers = new SqliteCredentialOfferRepository(db);
    this.nonces = new SqliteNonceRepository(db);
    this.syncState = new SqliteConnectorSyncRepository(db);
    this.connectorRuns = new SqliteConnectorRunRepository(db);
    this.connectorPresence = new SqliteConnectorPresenceRepository(db);
    this.mirrorJobs = new SqliteMirrorJobRepository(db);
  }
}

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so the async port is
 * kept honest by two rules: transactions run one at a time (a promise queue) on the writer connection,
 * opened with `BEGIN IMMEDIATE`; reads outside a transaction use a second connection, so they never see
 * another request's uncommitted writes. A kill -9 loses no committed transaction (WAL); see
 * docs/operations.md for what synchronous=NORMAL means on power loss.
 *
 * ```ts
 * const storage = new SqliteStorage({ file: "./data/openesc.db" });
 * await storage.init();
 * ```
 */
export class SqliteStorage implements Storage {
  readonly engine = "sqlite" as const;
  readonly capabilities: StorageCapabilities = { supportsListenNotify: false, sharedBetweenProcesses: false };
  readonly #options: SqliteStorageOptions;
  #writer: SqliteConnection | undefined;
  #reader: SqliteConnection | undefined;
  #writeRepositories: SqliteRepositories | undefined;
  #readRepositories: SqliteRepositories | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SqliteStorageOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    const { file } = this.#options;
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    const writer = new SqliteConnection(this.#open(file, false));
    migrate(writer);
    this.#writer = writer;
    this.#reader = file === ":memory:" ? writer : new SqliteConnection(this.#open(file, true));
    this.#writeRepositories = new SqliteRepositories(writer);
    this.#readRepositories = new SqliteRepositories(this.#reader);
  }

  #open(file: string, readonly: boolean): Database.Database {
    const db = new Database(file, { readonly: readonly && file !== ":memory:", fileMustExist: readonly });
    db.pragma("busy_timeout = 5000");
    if (!readonly) {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      // Erased personal data must not linger in freed pages of the file.
      db.pragma("secure_delete = ON");
    }
    db.pragma(`cache_size = -${(this.#options.cacheMiB ?? 32) * 1024}`);
    return db;
  }

  async close(): Promise<void> {
    await this.#queue.catch(() => undefined);
    if (this.#reader && this.#reader !== this.#writer) this.#reader.raw.close();
    this.#writer?.raw.close();
    this.#writer = undefined;
    this.#reader = undefined;
  }

  async ping(): Promise<void> {
    if (!this.#reader) throw new UnavailableError("the store is not open");
    this.#reader.get("SELECT 1");
  }

  /**
   * `secure_delete` zeroes deleted rows and freed pages in the database file as they go; the write-ahead
   * log may still hold earlier images of those pages, so it is checkpointed into the file and truncated to
   * zero bytes. Runs in the transaction queue, so no transaction of this process is open meanwhile. When
   * another process holds an old snapshot (a backup reading the file), SQLite waits for it up to the busy
   * timeout and otherwise leaves the log in place: the next scrub (every retention run makes one)
   * empties it.
   */
  scrub(): Promise<void> {
    const run = async (): Promise<void> => {
      const writer = this.#writer;
      if (!writer) throw new TypeError("SqliteStorage used before init()");
      if (this.#options.file === ":memory:") return;
      writer.raw.pragma("wal_checkpoint(TRUNCATE)");
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  get read(): SqliteRepositories {
    if (!this.#readRepositories) throw new TypeError("SqliteStorage used before init()");
    return this.#readRepositories;
  }

  /** The synchronous card lookup for the public status hot path. */
  get cards(): SqliteCardRepository {
    return this.read.cards;
  }

  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const writer = this.#writer;
      const repositories = this.#writeRepositories;
      if (!writer || !repositories) throw new TypeError("SqliteStorage used before init()");
      try {
        writer.exec("BEGIN IMMEDIATE");
      } catch (error) {
        throw asUnavailable(error);
      }
      try {
        const result = await work(repositories);
        writer.exec("COMMIT");
        return result;
      } catch (error) {
        if (writer.raw.inTransaction) writer.exec("ROLLBACK");
        throw asUnavailable(error);
      }
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

function asUnavailable(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") return new UnavailableError(undefined, error);
  return error;
}

/** Applies the migrations the file has not seen yet, each in its own transaction. */
export function migrate(db: SqliteConnection, migrations: readonly string[] = SQLITE_MIGRATIONS): number {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
  );
  const current = db.get<{ v: number | null }>("SELECT max(version) AS v FROM schema_migrations")?.v ?? 0;
  let applied = 0;
  migrations.forEach((sql, index) => {
    const version = index + 1;
    if (version <= current) return;
    db.raw.transaction(() => {
      db.exec(sql);
      db.run(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
        version,
        new Date().toISOString(),
      );
    })();
    applied++;
  });
  return applied;
}
