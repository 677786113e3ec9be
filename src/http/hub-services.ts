import type { ScheduledSyncs } from "../connectors/scheduled-syncs.ts";
import type { UploadImport } from "../connectors/upload-import.ts";
import type { EventDelivery } from "../delivery/event-delivery.ts";
import type { Storage } from "../ports/storage.ts";
import type { AuditLogService } from "../services/audit-log-service.ts";
import type { AuditTrail } from "../services/audit-trail.ts";
import type { CardService } from "../services/card-service.ts";
import type { ConsentService } from "../services/consent-service.ts";
import type { CredentialIssuanceService } from "../services/credential-issuance-service.ts";
import type { CredentialIssuerService } from "../services/credential-issuer-service.ts";
import type { CredentialOfferService } from "../services/credential-offer-service.ts";
import type { CredentialStatusUpdater } from "../services/credential-status-updater.ts";
import type { CredentialVerificationService } from "../services/credential-verification-service.ts";
import type { DataSubjectRightsService } from "../services/data-subject-rights-service.ts";
import type { EventFeedService } from "../services/event-feed-service.ts";
import type { ExpiryJob } from "../services/expiry-job.ts";
import type { IssuerKeyService } from "../services/issuer-key-service.ts";
import type { MirrorReportService } from "../services/mirror-report-service.ts";
import type { OrganisationService } from "../services/organisation-service.ts";
import type { PersonService } from "../services/person-service.ts";
import type { RetentionJob } from "../services/retention-job.ts";
import type { StudentStatusService } from "../services/student-status-service.ts";
import type { SubscriptionService } from "../services/subscription-service.ts";
import type { TokenService } from "../services/token-service.ts";

/** Everything the HTTP edge calls; built by the composition root. */
export interface HubServices {
  readonly storage: Storage;
  readonly audit: AuditTrail;
  /** Reading the trail back: who did what to an organisation's students' data. */
  readonly auditLog: AuditLogService;
  readonly tokens: TokenService;
  readonly organisations: OrganisationService;
  readonly persons: PersonService;
  readonly statuses: StudentStatusService;
  readonly cards: CardService;
  /** Export and erasure of everything held about a person (rectification is `persons.update`). */
  readonly dataSubjectRights: DataSubjectRightsService;
  /** Not called by the edge: started and stopped by the process that serves it (`start-hub.ts`). */
  readonly retention: RetentionJob;
  readonly consents: ConsentService;
  readonly subscriptions: SubscriptionService;
  /** The pull feed and the server-sent event stream. */
  readonly events: EventFeedService;
  /** Relay, dispatch, webhook sending and expiry: started and stopped by the serving process. */
  readonly delivery: EventDelivery;
  readonly expiry: ExpiryJob;
  /** Issuer keys: made on first use, rotated or imported by their organisation. */
  readonly issuerKeys: IssuerKeyService;
  /** What issuers publish: metadata, keys, status lists. */
  readonly issuers: CredentialIssuerService;
  /** Offers of cards to their holders' wallets. */
  readonly offers: CredentialOfferService;
  /** The OpenID4VCI endpoints a wallet calls to redeem an offer. */
  readonly issuance: CredentialIssuanceService;
  readonly verification: CredentialVerificationService;
  readonly credentialStatus: CredentialStatusUpdater;
  /** The report of each organisation's mirror to an ESC Router (the mirror itself runs with `delivery`). */
  readonly mirrors: MirrorReportService;
  /** Files uploaded to `POST /v1/imports`, run through the sync engine. */
  readonly imports: UploadImport;
  /** The connectors of `OPENESC_SYNC_CONFIG`: listed by the edge, run by the serving process (`start-hub.ts`). */
  readonly syncs: ScheduledSyncs;
}

/** What the HTTP edge needs from the configuration. */
export interface HttpOptions {
  readonly publicUrl: string;
  readonly bodyLimit: number;
  readonly maxPageSize: number;
  readonly logLevel: string;
}
