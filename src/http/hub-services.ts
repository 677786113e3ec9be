import type { Storage } from "../ports/storage.ts";
import type { AuditTrail } from "../services/audit-trail.ts";
import type { CardService } from "../services/card-service.ts";
import type { OrganisationService } from "../services/organisation-service.ts";
import type { PersonService } from "../services/person-service.ts";
import type { StudentStatusService } from "../services/student-status-service.ts";
import type { TokenService } from "../services/token-service.ts";

/** Everything the HTTP edge calls; built by the composition root. */
export interface HubServices {
  readonly storage: Storage;
  readonly audit: AuditTrail;
  readonly tokens: TokenService;
  readonly organisations: OrganisationService;
  readonly persons: PersonService;
  readonly statuses: StudentStatusService;
  readonly cards: CardService;
}

/** What the HTTP edge needs from the configuration. */
export interface HttpOptions {
  readonly publicUrl: string;
  readonly bodyLimit: number;
  readonly maxPageSize: number;
  readonly logLevel: string;
}
