import pg from "pg";
import { ConflictError, type ErrorCode, isOpenEscError, UnavailableError } from "../../../domain/errors.ts";
import type { Repositories, Storage, StorageCapabilities } from "../../../ports/storage.ts";
import { PostgresAuditRepository } from "./postgres-audit-repository.ts";
import { PostgresCardRepository } from "./postgres-card-repository.ts";
import type { PostgresQueryable } from "./postgres-connection.ts";
import { PostgresConnectorPresenceRepository } from "./postgres-connector-presence-repository.ts";
import { PostgresConnectorRunRepository } from "./postgres-connector-run-repository.ts";
import { PostgresConnectorSyncRepository } from "./postgres-connector-sync-repository.ts";
import { PostgresConsentRepository } from "./postgres-consent-repository.ts";
import { PostgresCredentialOfferRepository } from "./postgres-credential-offer-repository.ts";
import { PostgresCredentialRepository } from "./postgres-credential-repository.ts";
import { PostgresCursorRepository } from "./postgres-cursor-repository.ts";
import { PostgresDeliveryRepository } from "./postgres-delivery-repository.ts";
import { PostgresIssuerKeyRepository } from "./postgres-issuer-key-repository.ts";
import { PostgresLeaseRepository } from "./postgres-lease-repository.ts";
import { MIGRATIONS_LOCK_KEY } from "./postgres-lock-keys.ts";
import { POSTGRES_MIGRATIONS } from "./postgres-migrations.ts";
import { PostgresMirrorJobRepository } from "./postgres-mirror-job-repository.ts";
import { PostgresNonceRepository } from "./postgres-nonce-repository.ts";
import { PostgresOrganisationRepository } from "./postgres-organisation-repository.ts";
import { EVENTS_CHANNEL, PostgresOutboxRepository } from "./postgres-outbox-repository.ts";
import { PostgresPersonRepository } from "./postgres-person-repository.ts";
import { PostgresStatusListRepository } from "./postgres-status-list-repository.ts";
import { PostgresStudentStatusRepository } from "./postgres-student-status-repository.ts";
import { PostgresSubscriptionRepository } from "./postgres-subscription-repository.ts";
import { PostgresTokenRepository } from "./postgres-token-repository.ts";

export interface PostgresStorageOptions {
  /** `postgres://user@host:port/database`; credentials may come from the usual `PG*` variables instead. */
  readonly connectionString: string;
  /** Connections in the pool (default 10). */
  readonly poolSize?: number;
  /** Longest a statement, or a wait for a free connection, may take before the store counts as unavailable (default 5000). */
  readonly statementTimeoutMs?: number;
  /** Schema to work in (`search_path`), created if missing; for tests that each need a store of their own. */
  readonly schema?: string;
}

/** The part of a checked-out `pg` client the store calls. */
interface PoolClient extends PostgresQueryable {
  release(destroy?: Error | boolean): void;
  on(event: "error", listener: (error: Error) => void): unknown;
  off(event: "error", listener: (error: Error) => void): unknown;
}

/** The part of a `pg.Pool` the store calls. */
interface Pool extends PostgresQueryable {
  connect(): Promise<PoolClient>;
  end(): Promise<void>;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "connect", listener: (client: PoolClient) => void): unknown;
}

/** Retries of a whole transaction after a serialisation failure or a deadlock, before giving up (503). */
const MAX_RETRIES = 3;

/**
 * Tables that hold personal data, vacuumed by {@link PostgresStorage.scrub}: pseudonymous data included
 * (card numbers in card sets, hashed event subjects in the delivery queue).
 */
const PERSONAL_DATA_TABLES = [
  "persons",
  "person_links",
  "cards",
  "consents",
  "student_statuses",
  "outbox",
  "audit_log",
  "subscription_cards",
  "deliveries",
  "issued_credentials",
  "credential_offers",
  "connector_presence",
];

export class PostgresRepositories implements Repositories {
  readonly organisations: PostgresOrganisationRepository;
  readonly tokens: PostgresTokenRepository;
  readonly persons: PostgresPersonRepository;
  readonly statuses: PostgresStudentStatusRepository;
  readonly cards: PostgresCardRepository;
  readonly outbox: PostgresOutboxRepository;
  readonly consents: PostgresConsentRepository;
  readonly audit: PostgresAuditRepository;
  readonly leases: PostgresLeaseRepository;
  readonly subscriptions: PostgresSubscriptionRepository;
  readonly deliveries: PostgresDeliveryRepository;
  readonly cursors: PostgresCursorRepository;
  readonly issuerKeys: PostgresIssuerKeyRepository;
  readonly credentials: PostgresCredentialRepository;
  readonly statusLists: PostgresStatusListRepository;
  readonly credentialOffers: PostgresCredentialOfferRepository;
  readonly nonces: PostgresNonceRepository;
  readonly syncState: PostgresConnectorSyncRepository;
  readonly connectorRuns: PostgresConnectorRunRepository;
  readonly connectorPresence: PostgresConnectorPresenceRepository;
  readonly mirrorJobs: PostgresMirrorJobRepository;

  constructor(db: PostgresQueryable) {
    this.organisations = new PostgresOrganisationRepository(db);
    this.tokens = new PostgresTokenRepository(db);
    this.persons = new PostgresPersonRepository(db);
    this.statuses = new PostgresStudentStatusRepository(db);
    this.cards = new PostgresCardRepository(db);
    this.outbox = new PostgresOutboxRepository(db);
    this.consents = new PostgresConsentRepository(db);
    this.audit = new PostgresAuditRepository(db);
    this.leases = new PostgresLeaseRepository(db);
    this.subscriptions = new PostgresSubscriptionRepository(db);
    this.deliveries = new PostgresDeliveryRepository(db);
    this.cursors = new PostgresCursorRepository(db);
    this.issuerKeys = new PostgresIssuerKeyRepository(db);
    this.credentials = new PostgresCredentialRepository(db);
    this.statusLists = new PostgresStatusListRepository(db);
    this.credentialOffers = new PostgresCredentialOfferRepository(db);
    this.nonces = new PostgresNonceRepository(db);
    this.syncState = new PostgresConnectorSyncRepository(db);
    this.connectorRuns = new PostgresConnectorRunRepository(db);
    this.connectorPresence = new PostgresConnectorPresenceRepository(db);
    this.mirrorJobs = new PostgresMirrorJobRepository(db);
  }
}

/**
 * The shared store: PostgreSQL through a `pg` pool, for several hub processes at once. Transactions run
 * on a client of their own at READ COMMITTED, each repository statement checking versions or using
 * `ON CONFLICT` as on SQLite; a transaction that fails on a serialisation failure or a deadlock is run
 * again from the start, a few times. A database that cannot be reached, or does not answer in time,
 * surfaces as {@link UnavailableError} (503 with Retry-After at the edge).
 *
 * ```ts
 * const storage = new PostgresStorage({ connectionString: databaseUrl });
 * await storage.init();
 * ```
 */
export class PostgresStorage implements Storage {
  readonly engine = "postgres" as const;
  readonly capabilities: StorageCapabilities = { supportsListenNotify: true, sharedBetweenProcesses: true };
  readonly #options: PostgresStorageOptions;
  #pool: Pool | undefined;
  #readRepositories: PostgresRepositories | undefined;

  constructor(options: PostgresStorageOptions) {
    if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
      throw new TypeError("schema must be a lower-case SQL identifier");
    }
    this.#options = options;
  }

  async init(): Promise<void> {
    const { connectionString, poolSize = 10, statementTimeoutMs = 5000, schema } = this.#options;
    const pool: Pool = new pg.Pool({
      connectionString,
      max: poolSize,
      statement_timeout: statementTimeoutMs,
      connectionTimeoutMillis: statementTimeoutMs,
      application_name: "openesc",
      ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
      types: LOCAL_TYPES,
    });
    // An idle client that loses its connection is dropped by the pool and emits this; without a listener
    // the process would crash. The next query opens a new connection, or fails and is reported then.
    pool.on("error", () => undefined);
    // pg-pool removes its own error listener from a client while it is checked out: a backend terminated
    // then (pg_terminate_backend, a restart) would emit an unhandled 'error' and crash the process. The
    // query in flight fails on its own and is mapped to a 503.
    pool.on("connect", (client) => {
      client.on("error", () => undefined);
    });
    try {
      await migrate(pool, POSTGRES_MIGRATIONS, schema);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw toStoreError(error);
    }
    this.#pool = pool;
    this.#readRepositories = new PostgresRepositories(mappingErrors(pool));
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#readRepositories = undefined;
    await pool?.end();
  }

  /**
   * One connection of its own, outside the pool, LISTENs on the events channel (a listening session
   * cannot go back to a pool). When it breaks it is opened again after a pause; commits made meanwhile are
   * found by the listeners' own polls.
   */
  async watchCommits(listener: () => void): Promise<{ stop(): Promise<void> }> {
    const { connectionString, schema } = this.#options;
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const open = async (): Promise<void> => {
      const next = new pg.Client({
        connectionString,
        application_name: "openesc-listen",
        ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
      });
      next.on("notification", () => listener());
      next.on("error", () => {
        next.end().catch(() => undefined);
        if (client === next) reopen();
      });
      await next.connect();
      await next.query(`LISTEN ${EVENTS_CHANNEL}`);
      if (stopped) {
        await next.end().catch(() => undefined);
        return;
      }
      client = next;
      // Whatever was committed while no one listened is there to read now.
      listener();
    };
    const reopen = () => {
      client = undefined;
      if (stopped || retry !== undefined) return;
      retry = setTimeout(() => {
        retry = undefined;
        open().catch(() => reopen());
      }, 1000);
      retry.unref();
    };
    await open().catch((error) => {
      throw toStoreError(error);
    });
    return {
      async stop() {
        stopped = true;
        clearTimeout(retry);
        await client?.end().catch(() => undefined);
      },
    };
  }

  async ping(): Promise<void> {
    if (!this.#pool) throw new UnavailableError("the store is not open");
    try {
      await this.#pool.query("SELECT 1");
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /**
   * PostgreSQL never overwrites a deleted or updated row in place: the old version stays in the table's
   * pages (and its index entries in the indexes) until VACUUM removes it and frees the space for reuse.
   * So after an erasure the tables that hold personal data are vacuumed at once rather than whenever
   * autovacuum comes round. VACUUM cannot run in a transaction, so it runs on a pooled connection of its
   * own, without the statement timeout (it may take a moment on large tables; it does not block reads or
   * writes). Beyond this the database offers no secure delete: freed space is reused, not zeroed, and the
   * write-ahead log and backups keep earlier copies until they are recycled or expire, which is for the
   * operator to bound (volume encryption, WAL archive and backup retention).
   */
  async scrub(): Promise<void> {
    const client = await this.#connect();
    let broken: Error | undefined;
    try {
      await client.query("SET statement_timeout = 0");
      await client.query(`VACUUM ${PERSONAL_DATA_TABLES.join(", ")}`);
      await client.query("RESET statement_timeout");
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      throw toStoreError(error);
    } finally {
      // A client whose session settings are in doubt is not returned to the pool.
      client.release(broken);
    }
  }

  get read(): PostgresRepositories {
    if (!this.#readRepositories) throw new TypeError("PostgresStorage used before init()");
    return this.#readRepositories;
  }

  async transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await this.#attempt(work);
      } catch (error) {
        if (isRetryable(error) && retry < MAX_RETRIES) {
          await pause(retry);
          continue;
        }
        throw toStoreError(error);
      }
    }
  }

  async #attempt<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    // A checked-out client whose connection fails emits "error" besides failing its query; unheard, that
    // event would crash the process.
    const ignore = (): void => undefined;
    client.on("error", ignore);
    let broken: Error | undefined;
    try {
      await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
      const result = await work(new PostgresRepositories(client));
      await client.query("COMMIT");
      return result;
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch (rollbackError) {
        // The connection is gone or confused: the pool must not hand it out again.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      client.off("error", ignore);
      client.release(broken);
    }
  }

  async #connect(): Promise<PoolClient> {
    if (!this.#pool) throw new TypeError("PostgresStorage used before init()");
    try {
      return await this.#pool.connect();
    } catch (error) {
      throw toStoreError(error);
    }
  }
}

/**
 * Applies the migrations the database has not seen yet, all in one transaction under an advisory lock:
 * processes starting together wait for each other, and the later ones find nothing left to do. Creates
 * `schema` first when one is given. Returns how many migrations were applied.
 */
export async function migrate(
  pool: Pick<Pool, "connect">,
  migrations: readonly string[] = POSTGRES_MIGRATIONS,
  schema?: string,
): Promise<number> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    // Waiting for another process's migrations, or applying them, may take longer than a request may.
    await client.query("SET LOCAL statement_timeout = 60000");
    await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATIONS_LOCK_KEY]);
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at text NOT NULL)",
    );
    const { rows } = await client.query<{ v: number | null }>(
      "SELECT max(version) AS v FROM schema_migrations",
    );
    const current = rows[0]?.v ?? 0;
    let applied = 0;
    for (const [index, sql] of migrations.entries()) {
      const version = index + 1;
      if (version <= current) continue;
      await client.query(sql);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
        version,
        new Date().toISOString(),
      ]);
      applied++;
    }
    await client.query("COMMIT");
    return applied;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Type parsers for this pool's clients only (the global `pg.types` stays untouched, for other users of
 * `pg` in the process): `bigint` — identity ids, `count(*)` — becomes a number, since every id and
 * count the hub handles is far below 2^53; a value beyond that stays a string rather than lose digits.
 */
const LOCAL_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === pg.types.builtins.INT8 && format !== "binary") return parseBigint;
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig["getTypeParser"],
};

function parseBigint(value: string): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

/**
 * The pool as the read repositories see it: the same object (`instanceof pg.Pool` still holds, which
 * `withXactLock` relies on), except that a failing `query` rejects with the store's own errors.
 */
function mappingErrors(pool: Pool): PostgresQueryable {
  const query: PostgresQueryable["query"] = <R extends object>(text: string, values?: readonly unknown[]) =>
    pool.query<R>(text, values).catch((error: unknown) => {
      throw toStoreError(error);
    });
  return new Proxy(pool, {
    get(target, property) {
      if (property === "query") return query;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** SQLSTATE (or Node error code) of `error` or of one of its causes. */
function codeOf(error: unknown): string | undefined {
  for (
    let e = error, depth = 0;
    e instanceof Object && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/**
 * Serialisation failures and deadlocks: the transaction lost a race and may simply run again. So may one
 * that took the same audit sequence number as a concurrent one (a unique violation on the audit trail).
 */
function isRetryable(error: unknown): boolean {
  const code = codeOf(error);
  if (code === "40001" || code === "40P01") return true;
  return code === "23505" && (error as { table?: unknown }).table === "audit_log";
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, in recovery)
  "53300", // too_many_connections
  "57014", // query_canceled: the statement timeout
  "40001", // still losing races after the retries
  "40P01",
]);

/** What `pg` and `pg-pool` throw, without a code, when a connection cannot be had or was lost. */
const CONNECTION_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|not queryable|Cannot use a pool after calling end/i;

/** Unique constraints whose violation means "that already exists", by table. */
const EXISTS_CODES: Record<string, ErrorCode> = {
  organisations: "ORGANISATION_EXISTS",
  organisation_relations: "ORGANISATION_EXISTS",
  persons: "PERSON_EXISTS",
  person_links: "PERSON_EXISTS",
  cards: "CARD_EXISTS",
};

/** Maps a driver failure to the store's errors; anything else (a bug) passes through unchanged. */
export function toStoreError(error: unknown): unknown {
  if (isOpenEscError(error)) return error;
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : "";
  if (
    (code !== undefined && (CONNECTION_CODES.has(code) || code.startsWith("08"))) ||
    CONNECTION_MESSAGES.test(message)
  ) {
    return new UnavailableError(undefined, error);
  }
  if (code === "23505") {
    const existsCode = EXISTS_CODES[String((error as { table?: unknown }).table)];
    if (existsCode) {
      const detail = (error as { constraint?: unknown }).constraint;
      return new ConflictError(existsCode, `already exists (${String(detail ?? "unique constraint")})`);
    }
  }
  return error;
}

/** A short, jittered wait before running a transaction again, longer after each failure. */
function pause(retry: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, (retry + 1) * (5 + Math.random() * 15)));
}
