import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "./config-error.ts";
import { type ConnectorConfig, parseSyncConfig, SyncConfigError } from "./connectors/sync-config.ts";
import {
  MASTER_KEY_FILE_VARIABLE,
  MASTER_KEY_VARIABLE,
  type MasterKey,
  readMasterKey,
} from "./credentials/master-key.ts";
import { type MirrorTarget, mirrorTargetsOf } from "./delivery/mirror-targets.ts";

/**
 * The hub's configuration, read once at start-up from the environment (prefix `OPENESC_`, plus the
 * conventional `PORT`, `HOST`, `DATABASE_URL` and `NATS_URL`), validated, defaulted and frozen.
 * Every option is listed in docs/configuration.md.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** PostgreSQL connection URL; when set, the hub keeps its state there instead of the embedded SQLite file. */
  readonly databaseUrl: string | null;
  /** Connections each hub process keeps open to PostgreSQL at most. */
  readonly dbPoolSize: number;
  /** Longest a single PostgreSQL statement may run before the server cancels it, in milliseconds. */
  readonly dbStatementTimeoutMs: number;
  /** Base of every URL that leaves the hub in links, QR codes and signed artefacts; no trailing slash. */
  readonly publicUrl: string;
  /** The operator's bootstrap token, when given; otherwise one is generated at first start. */
  readonly adminToken: string | null;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** The 3-digit issuing-server prefix put into ESCNs this hub generates. */
  readonly escnPrefix: string;
  /** Largest `size` an ESC-R list accepts; above it the answer is a 400, never a silent cap. */
  readonly maxPageSize: number;
  /** Most ESCNs one generate-escn call returns. */
  readonly maxGeneratedEscns: number;
  /** Largest request body, in bytes. */
  readonly bodyLimit: number;
  /** Number of public status answers kept in memory (0 turns the cache off). */
  readonly statusCacheSize: number;
  /**
   * Longest time an audit entry of a read waits in memory before its group commit, in milliseconds. Longer
   * means fewer write transactions (each makes SQLite readers drop their page cache); a crash can lose the
   * reads of that last moment, never a write's entry.
   */
  readonly auditFlushMs: number;
  /** The time zone whose calendar decides when a card expires and a status ends. */
  readonly timeZone: string;
  /**
   * Days a card is kept after its expiry, and a link with its student status after the status ended (when
   * the organisation holds no card of that person any more); then the retention job purges them.
   */
  readonly retentionDays: number;
  /** Days a withdrawn consent is kept as proof, then purged. */
  readonly consentProofDays: number;
  /** Days an audit entry is kept, then purged (the chain's anchor moves with it). */
  readonly auditRetentionDays: number;
  /** Minutes between two runs of the retention job. */
  readonly retentionIntervalMinutes: number;
  /** NATS server(s) with JetStream; when set, events travel on NATS instead of the in-process bus. */
  readonly natsUrl: string | null;
  /** JetStream stream that carries the events (subjects `<natsSubjectPrefix>.>`). */
  readonly natsStream: string;
  readonly natsSubjectPrefix: string;
  /** Longest any single NATS call may take, in milliseconds. */
  readonly natsTimeoutMs: number;
  /** Whether webhook URLs may point at private, loopback and link-local addresses (off: SSRF protection). */
  readonly allowPrivateWebhooks: boolean;
  /** Longest one webhook attempt may take, connection to last byte, in milliseconds. */
  readonly webhookTimeoutMs: number;
  /** First retry delay; each further retry doubles it, up to `webhookRetryMaxMs`, with jitter. */
  readonly webhookRetryBaseMs: number;
  readonly webhookRetryMaxMs: number;
  /** How long after an event a delivery keeps being retried; then it goes to the dead-letter list. */
  readonly webhookRetryHorizonMs: number;
  /** Webhook attempts one process runs at once, in all, and for one subscription. */
  readonly webhookConcurrency: number;
  readonly webhookConcurrencyPerSubscription: number;
  /** Days a delivered webhook delivery is kept for the subscriber to see, then purged. */
  readonly deliveryRetentionDays: number;
  /**
   * How often (milliseconds) a process checks the store for work it may not have been told of: events
   * committed by another process, deliveries whose retry is due. Wake-ups make the usual case immediate.
   */
  readonly eventPollMs: number;
  /** Minutes between two runs of the expiry job (cards and statuses whose validity ended). */
  readonly expiryIntervalMinutes: number;
  /**
   * The key that seals issuer private keys at rest (`OPENESC_MASTER_KEY` or `OPENESC_MASTER_KEY_FILE`);
   * null when neither is set (the embedded hub then keeps one in its data directory).
   */
  readonly masterKey: MasterKey | null;
  /** Entries per status list (at least 100,000: a list must say nothing about one student). */
  readonly statusListSize: number;
  /** The `ttl` of served status lists, in seconds: how long a verifier may use its copy. */
  readonly statusListTtlSeconds: number;
  /** How long a signed status list token is valid (`exp`), in hours; lists are signed again well before. */
  readonly statusListValidityHours: number;
  /** Minutes a credential offer can be redeemed. */
  readonly credentialOfferMinutes: number;
  /** Wrong transaction codes an offer takes before it locks. */
  readonly txCodeAttempts: number;
  /** The largest file `POST /v1/imports` takes, in bytes. */
  readonly importMaxBytes: number;
  /**
   * The hub's sync configuration (`OPENESC_SYNC_CONFIG`, the JSON `openesc sync` reads), read and checked
   * at start: the hub runs its connectors that have `everyMinutes` on that schedule. Null when unset.
   */
  readonly syncConfig: SyncConfigFile | null;
  /**
   * The ESC Routers organisations are mirrored to (`OPENESC_MIRRORS`, or the owner-only file
   * `OPENESC_MIRRORS_FILE`): one per organisation, each with its router's URL and token (never printed).
   */
  readonly mirrors: readonly MirrorTarget[];
  /** Whether mirror URLs may point at private, loopback and link-local addresses (off: SSRF protection). */
  readonly allowPrivateMirrors: boolean;
}

export { ConfigError };

/** A sync configuration as the hub read it at start. */
export interface SyncConfigFile {
  /** Its absolute path: a file source's relative `path` is read from its folder. */
  readonly file: string;
  readonly connectors: readonly ConnectorConfig[];
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** A variable's value; an empty one counts as unset, as shells and orchestrators often export empty values. */
function value(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === "" ? undefined : raw;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function publicUrlOf(raw: string, name: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(name, `must use http or https, got "${url.protocol}"`);
  }
  if (url.username || url.password) throw new ConfigError(name, "must not carry a user name or password");
  // An empty "?" or "#" leaves search and hash empty but stays in the URL, so look at the href.
  if (/[?#]/.test(url.href)) throw new ConfigError(name, "must not carry a query or a fragment");
  return url.toString().replace(/\/+$/, "");
}

function natsUrlOf(raw: string | undefined, name: string): string | null {
  if (raw === undefined) return null;
  for (const server of raw.split(",")) {
    let url: URL;
    try {
      url = new URL(server.includes("://") ? server : `nats://${server}`);
    } catch {
      throw new ConfigError(name, "must be a comma-separated list of nats://host:port URLs");
    }
    if (!["nats:", "tls:", "ws:", "wss:"].includes(url.protocol)) {
      throw new ConfigError(name, `must use nats://, tls://, ws:// or wss://, got "${url.protocol}//…"`);
    }
  }
  return raw;
}

function booleanOf(env: Env, name: string, fallback: boolean): boolean {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

/** A NATS stream name or subject prefix: letters, digits, `-`, `_` (and dots between tokens for prefixes). */
function natsNameOf(env: Env, name: string, fallback: string, dots: boolean): string {
  const raw = value(env, name) ?? fallback;
  const pattern = dots ? /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/ : /^[A-Za-z0-9_-]+$/;
  if (!pattern.test(raw)) {
    throw new ConfigError(
      name,
      `must be letters, digits, - and _${dots ? " (tokens separated by dots)" : ""}`,
    );
  }
  return raw;
}

function databaseUrlOf(raw: string | undefined, name: string): string | null {
  if (raw === undefined) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The value may hold a password: never echo it.
    throw new ConfigError(name, "must be a postgres:// or postgresql:// URL");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigError(name, `must be a postgres:// or postgresql:// URL, got "${url.protocol}//…"`);
  }
  return raw;
}

/** The sync configuration named by `name`, read and checked whole; null when the variable is unset. */
function syncConfigOf(env: Env, name: string): SyncConfigFile | null {
  const raw = value(env, name);
  if (raw === undefined) return null;
  const file = resolve(raw);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    throw new ConfigError(name, `names a file that cannot be read: ${file} (${code})`);
  }
  try {
    const { connectors } = parseSyncConfig(text);
    return Object.freeze({
      file,
      connectors,
      // `openesc config` prints the configuration: a source's options may hold a password.
      toJSON: () => ({
        file,
        connectors: connectors.map(({ source, ...connector }) => ({ ...connector, source: source.kind })),
      }),
    });
  } catch (error) {
    if (error instanceof SyncConfigError) throw new ConfigError(name, `${file}: ${error.message}`);
    throw error;
  }
}

/** Reads, checks and freezes the configuration. Throws {@link ConfigError} naming the variable at fault. */
export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, "PORT", 8080, 0, 65535);
  const logLevel = value(env, "OPENESC_LOG_LEVEL") ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError("OPENESC_LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}`);
  }
  const escnPrefix = value(env, "OPENESC_ESCN_PREFIX") ?? "001";
  if (!/^\d{3}$/.test(escnPrefix)) throw new ConfigError("OPENESC_ESCN_PREFIX", "must be exactly 3 digits");
  const adminToken = value(env, "OPENESC_ADMIN_TOKEN") ?? null;
  if (adminToken !== null && adminToken.length < 32) {
    throw new ConfigError("OPENESC_ADMIN_TOKEN", "must be at least 32 characters (use a random value)");
  }
  const timeZone = value(env, "OPENESC_TIME_ZONE") ?? "UTC";
  try {
    new Intl.DateTimeFormat("en", { timeZone });
  } catch {
    throw new ConfigError("OPENESC_TIME_ZONE", `is not a known IANA time zone: "${timeZone}"`);
  }
  const config: Config = {
    port,
    host: value(env, "HOST") ?? "0.0.0.0",
    dataDir: resolve(value(env, "OPENESC_DATA_DIR") ?? "./data"),
    databaseUrl: databaseUrlOf(value(env, "DATABASE_URL"), "DATABASE_URL"),
    dbPoolSize: integer(env, "OPENESC_DB_POOL_SIZE", 10, 1, 1000),
    dbStatementTimeoutMs: integer(env, "OPENESC_DB_STATEMENT_TIMEOUT_MS", 5000, 100, 3_600_000),
    publicUrl: publicUrlOf(
      value(env, "OPENESC_PUBLIC_URL") ?? `http://localhost:${port}`,
      "OPENESC_PUBLIC_URL",
    ),
    adminToken,
    logLevel: logLevel as Config["logLevel"],
    escnPrefix,
    maxPageSize: integer(env, "OPENESC_MAX_PAGE_SIZE", 100, 1, 1000),
    maxGeneratedEscns: integer(env, "OPENESC_MAX_GENERATED_ESCNS", 100, 1, 10000),
    bodyLimit: integer(env, "OPENESC_BODY_LIMIT", 1_048_576, 1024, 100 * 1_048_576),
    statusCacheSize: integer(env, "OPENESC_STATUS_CACHE_SIZE", 50_000, 0, 10_000_000),
    auditFlushMs: integer(env, "OPENESC_AUDIT_FLUSH_MS", 250, 1, 5000),
    timeZone,
    retentionDays: integer(env, "OPENESC_RETENTION_DAYS", 730, 1, 36_500),
    consentProofDays: integer(env, "OPENESC_CONSENT_PROOF_DAYS", 1095, 1, 36_500),
    auditRetentionDays: integer(env, "OPENESC_AUDIT_RETENTION_DAYS", 1095, 1, 36_500),
    retentionIntervalMinutes: integer(env, "OPENESC_RETENTION_INTERVAL_MINUTES", 60, 1, 10_080),
    natsUrl: natsUrlOf(value(env, "NATS_URL"), "NATS_URL"),
    natsStream: natsNameOf(env, "OPENESC_NATS_STREAM", "OPENESC_EVENTS", false),
    natsSubjectPrefix: natsNameOf(env, "OPENESC_NATS_SUBJECT_PREFIX", "openesc.events", true),
    natsTimeoutMs: integer(env, "OPENESC_NATS_TIMEOUT_MS", 5000, 100, 600_000),
    allowPrivateWebhooks: booleanOf(env, "OPENESC_ALLOW_PRIVATE_WEBHOOKS", false),
    webhookTimeoutMs: integer(env, "OPENESC_WEBHOOK_TIMEOUT_MS", 10_000, 100, 300_000),
    webhookRetryBaseMs: integer(env, "OPENESC_WEBHOOK_RETRY_BASE_MS", 5000, 1, 3_600_000),
    webhookRetryMaxMs: integer(env, "OPENESC_WEBHOOK_RETRY_MAX_MS", 3_600_000, 1, 86_400_000),
    webhookRetryHorizonMs: integer(env, "OPENESC_WEBHOOK_RETRY_HORIZON_MS", 86_400_000, 1, 30 * 86_400_000),
    webhookConcurrency: integer(env, "OPENESC_WEBHOOK_CONCURRENCY", 64, 1, 10_000),
    webhookConcurrencyPerSubscription: integer(
      env,
      "OPENESC_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION",
      4,
      1,
      1000,
    ),
    deliveryRetentionDays: integer(env, "OPENESC_DELIVERY_RETENTION_DAYS", 7, 1, 3650),
    eventPollMs: integer(env, "OPENESC_EVENT_POLL_MS", 1000, 10, 60_000),
    expiryIntervalMinutes: integer(env, "OPENESC_EXPIRY_INTERVAL_MINUTES", 15, 1, 1440),
    masterKey:
      value(env, MASTER_KEY_VARIABLE) !== undefined || value(env, MASTER_KEY_FILE_VARIABLE) !== undefined
        ? readMasterKey(env)
        : null,
    statusListSize: integer(env, "OPENESC_STATUS_LIST_SIZE", 131_072, 100_000, 16_777_216),
    statusListTtlSeconds: integer(env, "OPENESC_STATUS_LIST_TTL_SECONDS", 300, 1, 86_400),
    statusListValidityHours: integer(env, "OPENESC_STATUS_LIST_VALIDITY_HOURS", 24, 1, 720),
    credentialOfferMinutes: integer(env, "OPENESC_CREDENTIAL_OFFER_MINUTES", 1440, 1, 43_200),
    txCodeAttempts: integer(env, "OPENESC_TX_CODE_ATTEMPTS", 5, 1, 20),
    importMaxBytes: integer(env, "OPENESC_IMPORT_MAX_BYTES", 268_435_456, 1024, 17_179_869_184),
    syncConfig: syncConfigOf(env, "OPENESC_SYNC_CONFIG"),
    mirrors: Object.freeze(mirrorTargetsOf(env, "OPENESC_MIRRORS", "OPENESC_MIRRORS_FILE")),
    allowPrivateMirrors: booleanOf(env, "OPENESC_ALLOW_PRIVATE_MIRRORS", false),
  };
  if (config.statusListSize % 4 !== 0) {
    throw new ConfigError(
      "OPENESC_STATUS_LIST_SIZE",
      "must be a multiple of 4 (two bits an entry, whole bytes)",
    );
  }
  if (config.statusListTtlSeconds >= config.statusListValidityHours * 3600) {
    throw new ConfigError(
      "OPENESC_STATUS_LIST_TTL_SECONDS",
      "must be shorter than OPENESC_STATUS_LIST_VALIDITY_HOURS",
    );
  }
  if (config.webhookRetryMaxMs < config.webhookRetryBaseMs) {
    throw new ConfigError("OPENESC_WEBHOOK_RETRY_MAX_MS", "must not be below OPENESC_WEBHOOK_RETRY_BASE_MS");
  }
  return Object.freeze(config);
}
