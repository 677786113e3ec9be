import type { Clock } from "../ports/clock.ts";
import type { Storage } from "../ports/storage.ts";
import type { AuditTrail } from "./audit-trail.ts";

/** What every use case needs from the composition root. */
export interface ServiceContext {
  readonly storage: Storage;
  readonly clock: Clock;
  /** The calendar that decides "today" for expiry and validity. */
  readonly timeZone: string;
  /** Where reads and writes of personal data are recorded. */
  readonly audit: AuditTrail;
}
