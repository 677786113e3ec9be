import { join } from "node:path";
import { PostgresStorage } from "./adapters/storage/postgres/postgres-storage.ts";
import { SqliteStorage } from "./adapters/storage/sqlite/sqlite-storage.ts";
import type { Config } from "./config.ts";
import type { HubServices } from "./http/hub-services.ts";
import { type Clock, systemClock } from "./ports/clock.ts";
import type { Storage } from "./ports/storage.ts";
import { AuditLogService } from "./services/audit-log-service.ts";
import { AuditTrail } from "./services/audit-trail.ts";
import { CardService } from "./services/card-service.ts";
import { ConsentService } from "./services/consent-service.ts";
import { DataSubjectRightsService } from "./services/data-subject-rights-service.ts";
import { LeaderLock } from "./services/leader-lock.ts";
import { OrganisationService } from "./services/organisation-service.ts";
import { PersonService } from "./services/person-service.ts";
import { PublicStatusCache } from "./services/public-status-cache.ts";
import { RetentionJob } from "./services/retention-job.ts";
import { StudentStatusService } from "./services/student-status-service.ts";
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

export function createServices(config: Config, storage: Storage, clock: Clock = systemClock): HubServices {
  const audit = new AuditTrail(storage, clock, { flushAfterMs: config.auditFlushMs });
  const ctx = { storage, clock, timeZone: config.timeZone, audit };
  // A process-local cache is exact only while this process sees every write, i.e. on a store it owns.
  const cache = new PublicStatusCache(
    storage.capabilities.sharedBetweenProcesses ? 0 : config.statusCacheSize,
  );
  const forgetCards = (escns: readonly string[]) => {
    for (const escn of escns) cache.invalidate(escn);
  };
  return {
    storage,
    audit,
    auditLog: new AuditLogService(ctx),
    tokens: new TokenService(ctx),
    organisations: new OrganisationService(ctx, () => cache.clear()),
    persons: new PersonService(ctx),
    statuses: new StudentStatusService(ctx),
    dataSubjectRights: new DataSubjectRightsService(ctx, { onCardsDeleted: forgetCards }),
    retention: new RetentionJob(ctx, {
      periods: config,
      // The lease outlives the interval, so that the process running the job keeps it between runs.
      lock: new LeaderLock(storage, clock, "retention", {
        ttlMs: 2 * config.retentionIntervalMinutes * 60_000,
      }),
      onCardsDeleted: forgetCards,
    }),
    cards: new CardService(ctx, {
      escnPrefix: config.escnPrefix,
      maxGeneratedEscns: config.maxGeneratedEscns,
      cache,
    }),
    consents: new ConsentService(ctx, { cache }),
  };
}
