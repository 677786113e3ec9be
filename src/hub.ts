import { dirname, join } from "node:path";
import { MemoryEventBus } from "./adapters/bus/memory/memory-event-bus.ts";
import { NatsEventBus, type NatsEventBusLog } from "./adapters/bus/nats/nats-event-bus.ts";
import { GuardedOutboundHttp } from "./adapters/http/guarded-outbound-http.ts";
import { PostgresStorage } from "./adapters/storage/postgres/postgres-storage.ts";
import { SqliteStorage } from "./adapters/storage/sqlite/sqlite-storage.ts";
import type { Config } from "./config.ts";
import { ScheduledSyncs } from "./connectors/scheduled-syncs.ts";
import { SyncEngine } from "./connectors/sync-engine.ts";
import { UploadImport } from "./connectors/upload-import.ts";
import { EMBEDDED_MASTER_KEY_FILE } from "./credentials/embedded-master-key.ts";
import { signalCommits } from "./delivery/commit-signal.ts";
import { EscRouterClient } from "./delivery/esc-router-client.ts";
import { EventDelivery } from "./delivery/event-delivery.ts";
import { MirrorQueue } from "./delivery/mirror-queue.ts";
import { MirrorSender } from "./delivery/mirror-sender.ts";
import { RetryPolicy } from "./delivery/retry-policy.ts";
import type { HubServices } from "./http/hub-services.ts";
import { type Clock, systemClock } from "./ports/clock.ts";
import type { EventBus } from "./ports/event-bus.ts";
import type { Storage } from "./ports/storage.ts";
import { AuditLogService } from "./services/audit-log-service.ts";
import { AuditTrail } from "./services/audit-trail.ts";
import { CardService } from "./services/card-service.ts";
import { ConsentService } from "./services/consent-service.ts";
import { CredentialIssuanceService } from "./services/credential-issuance-service.ts";
import { CredentialIssuerService } from "./services/credential-issuer-service.ts";
import { CredentialOfferService } from "./services/credential-offer-service.ts";
import { CredentialStatusUpdater } from "./services/credential-status-updater.ts";
import { CredentialVerificationService } from "./services/credential-verification-service.ts";
import { DataSubjectRightsService } from "./services/data-subject-rights-service.ts";
import { EventFeedService } from "./services/event-feed-service.ts";
import { ExpiryJob } from "./services/expiry-job.ts";
import { IssuerKeyService } from "./services/issuer-key-service.ts";
import { LeaderLock, PROCESS_HOLDER_ID } from "./services/leader-lock.ts";
import { MirrorReportService } from "./services/mirror-report-service.ts";
import { OrganisationService } from "./services/organisation-service.ts";
import { PersonService } from "./services/person-service.ts";
import { PublicStatusCache } from "./services/public-status-cache.ts";
import { RetentionJob } from "./services/retention-job.ts";
import { StatusListService } from "./services/status-list-service.ts";
import { StudentStatusService } from "./services/student-status-service.ts";
import { SubscriptionService } from "./services/subscription-service.ts";
import { TokenService } from "./services/token-service.ts";

/**
 * The composition root's one decision: which adapters serve this configuration. Everything else
 * depends on ports. PostgreSQL when `DATABASE_URL` is set, the embedded SQLite file otherwise.
 * (Synchronous, with a static import of the PostgreSQL adapter: `pg` loads in a few milliseconds and
 * opens no connection until `init()`, and callers keep one signature for both engines.)
 */
export function createStorage(config: Config): Storage {
  if (config.databaseUrl !== null) {
    return new PostgresStorage({
      connectionString: config.databaseUrl,
      poolSize: config.dbPoolSize,
      statementTimeoutMs: config.dbStatementTimeoutMs,
    });
  }
  return new SqliteStorage({ file: join(config.dataDir, "openesc.db") });
}

/** The event bus: NATS JetStream when `NATS_URL` is set, the in-process bus otherwise. */
export function createBus(config: Config, log?: NatsEventBusLog): EventBus {
  if (config.natsUrl !== null) {
    return new NatsEventBus({
      servers: config.natsUrl,
      stream: config.natsStream,
      subjectPrefix: config.natsSubjectPrefix,
      timeoutMs: config.natsTimeoutMs,
      ...(log ? { log } : {}),
    });
  }
  return new MemoryEventBus();
}

/**
 * The mirror to ESC Routers: a bus consumer that queues a job per changed person or card of a mirrored
 * organisation, and a sender that pushes them, retried as webhooks are (base and longest delay) but never
 * given up: a job reads the current state, so sending it late is sending it right.
 */
function createMirror(
  config: Config,
  storage: Storage,
  clock: Clock,
  holder: string,
  delivery: () => EventDelivery | undefined,
): { queue: MirrorQueue; sender: MirrorSender } {
  const organisations = config.mirrors.map((m) => m.organisationId);
  const client = new EscRouterClient(
    new GuardedOutboundHttp({
      allowPrivateAddresses: config.allowPrivateMirrors,
      userAgent: "OpenESC-Mirror/1",
    }),
    { timeoutMs: config.webhookTimeoutMs, userAgent: "OpenESC-Mirror/1" },
  );
  const policy = new RetryPolicy({
    baseDelayMs: config.webhookRetryBaseMs,
    maxDelayMs: config.webhookRetryMaxMs,
    horizonMs: Number.MAX_SAFE_INTEGER,
  });
  return {
    queue: new MirrorQueue(storage, clock, organisations, { onQueued: () => delivery()?.wakeMirror() }),
    sender: new MirrorSender(storage, clock, client, config.mirrors, policy, {
      holder,
      timeoutMs: config.webhookTimeoutMs,
    }),
  };
}

/** The embedded hub's holder id, the same across restarts (see `createServices`). */
const EMBEDDED_HUB_HOLDER = "embedded-hub";

/** Lease of the relay: short, so that another process takes over soon after its holder dies. */
const RELAY_LEASE_MS = 15_000;

export function createServices(
  config: Config,
  rawStorage: Storage,
  clock: Clock = systemClock,
  bus: EventBus = createBus(config),
): HubServices {
  // Every commit that carries events wakes the relay and the event streams of this process at once.
  let delivery: EventDelivery | undefined;
  const storage = signalCommits(rawStorage, () => delivery?.eventsCommitted());
  // Who this process is when it takes a lease or claims a delivery. On a store of its own the hub is the
  // same holder across restarts, so that after a crash it takes its leases and claims back at once
  // instead of waiting for them to lapse (the CLI, when it runs a job beside it, is another holder).
  // Processes sharing a store each have their own, so that a dead one's leases pass to the others.
  const holder = rawStorage.capabilities.sharedBetweenProcesses ? PROCESS_HOLDER_ID : EMBEDDED_HUB_HOLDER;
  const audit = new AuditTrail(storage, clock, { flushAfterMs: config.auditFlushMs });
  const ctx = { storage, clock, timeZone: config.timeZone, audit };
  // A process-local cache is exact only while this process sees every write, i.e. on a store it owns.
  const cache = new PublicStatusCache(
    storage.capabilities.sharedBetweenProcesses ? 0 : config.statusCacheSize,
  );
  const forgetCards = (escns: readonly string[]) => {
    for (const escn of escns) cache.invalidate(escn);
  };
  const issuerKeys = new IssuerKeyService(ctx, {
    masterKey: config.masterKey,
    // On a store of its own, the embedded hub keeps a key file in its data directory (made on first need);
    // processes sharing a store must all be given the same key, so none is made for them.
    masterKeyFile:
      config.masterKey === null && !rawStorage.capabilities.sharedBetweenProcesses
        ? join(config.dataDir, EMBEDDED_MASTER_KEY_FILE)
        : null,
    publicUrl: config.publicUrl,
  });
  const statusLists = new StatusListService(ctx, issuerKeys, {
    publicUrl: config.publicUrl,
    size: config.statusListSize,
    ttlSeconds: config.statusListTtlSeconds,
    validitySeconds: config.statusListValidityHours * 3600,
  });
  const credentialStatus = new CredentialStatusUpdater(ctx, statusLists);
  const issuers = new CredentialIssuerService(ctx, issuerKeys, statusLists, config.publicUrl);
  const expiry = new ExpiryJob(ctx, {
    lock: new LeaderLock(storage, clock, "expiry", {
      ttlMs: 2 * config.expiryIntervalMinutes * 60_000,
      holder,
    }),
  });
  delivery = new EventDelivery(storage, clock, bus, {
    relayLock: new LeaderLock(storage, clock, "relay", { ttlMs: RELAY_LEASE_MS, holder }),
    relayLeaseTtlMs: RELAY_LEASE_MS,
    expiry,
    expiryIntervalMs: config.expiryIntervalMinutes * 60_000,
    http: new GuardedOutboundHttp({ allowPrivateAddresses: config.allowPrivateWebhooks }),
    retryPolicy: new RetryPolicy({
      baseDelayMs: config.webhookRetryBaseMs,
      maxDelayMs: config.webhookRetryMaxMs,
      horizonMs: config.webhookRetryHorizonMs,
    }),
    sender: {
      publicUrl: config.publicUrl,
      holder,
      timeoutMs: config.webhookTimeoutMs,
      concurrency: config.webhookConcurrency,
      perSubscription: config.webhookConcurrencyPerSubscription,
      userAgent: "OpenESC-Webhooks/1",
    },
    pollMs: config.eventPollMs,
    statusLists: {
      updater: credentialStatus,
      // Often enough that a change missed by the bus (another process's list) is signed within a ttl.
      signEveryMs: Math.min(60_000, config.statusListTtlSeconds * 1000),
    },
    ...(config.mirrors.length > 0
      ? { mirror: createMirror(config, storage, clock, holder, () => delivery) }
      : {}),
  });
  const eventDelivery = delivery;
  const syncEngine = new SyncEngine(ctx, { escnPrefix: config.escnPrefix });
  return {
    storage,
    audit,
    delivery: eventDelivery,
    expiry,
    events: new EventFeedService(ctx, { publicUrl: config.publicUrl }),
    subscriptions: new SubscriptionService(ctx, {
      allowPrivateAddresses: config.allowPrivateWebhooks,
      onDeliveriesQueued: () => eventDelivery.wakeSender(),
    }),
    auditLog: new AuditLogService(ctx),
    tokens: new TokenService(ctx),
    organisations: new OrganisationService(ctx, () => cache.clear()),
    persons: new PersonService(ctx),
    statuses: new StudentStatusService(ctx),
    dataSubjectRights: new DataSubjectRightsService(ctx, {
      onCardsDeleted: forgetCards,
      revokeCredentials: (tx, credentials) => credentialStatus.refresh(tx, credentials),
      afterCredentialsRevoked: () => statusLists.signPending(),
    }),
    issuerKeys,
    issuers,
    offers: new CredentialOfferService(ctx, issuerKeys, {
      publicUrl: config.publicUrl,
      offerMinutes: config.credentialOfferMinutes,
    }),
    issuance: new CredentialIssuanceService(ctx, issuerKeys, statusLists, {
      publicUrl: config.publicUrl,
      txCodeAttempts: config.txCodeAttempts,
      onIssued: (credentials) => credentialStatus.recheck(credentials),
    }),
    verification: new CredentialVerificationService(issuers, {
      publicUrl: config.publicUrl,
      now: () => clock.now(),
    }),
    credentialStatus,
    retention: new RetentionJob(ctx, {
      periods: config,
      // The lease outlives the interval, so that the process running the job keeps it between runs.
      lock: new LeaderLock(storage, clock, "retention", {
        ttlMs: 2 * config.retentionIntervalMinutes * 60_000,
        holder,
      }),
      onCardsDeleted: forgetCards,
      mirroredOrganisations: config.mirrors.map((m) => m.organisationId),
    }),
    cards: new CardService(ctx, {
      escnPrefix: config.escnPrefix,
      maxGeneratedEscns: config.maxGeneratedEscns,
      cache,
    }),
    consents: new ConsentService(ctx, { cache }),
    mirrors: new MirrorReportService(ctx, config.mirrors),
    imports: new UploadImport(syncEngine, {
      directory: join(config.dataDir, "uploads"),
      maxBytes: config.importMaxBytes,
      onChanged: () => cache.clear(),
    }),
    syncs: new ScheduledSyncs(syncEngine, ctx, {
      connectors: config.syncConfig?.connectors ?? [],
      baseDir: config.syncConfig === null ? config.dataDir : dirname(config.syncConfig.file),
      holder,
      onChanged: () => cache.clear(),
    }),
  };
}
