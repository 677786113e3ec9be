import type { Clock } from "../ports/clock.ts";
import type { Storage } from "../ports/storage.ts";

/** What every use case needs from the composition root. */
export interface ServiceContext {
  readonly storage: Storage;
  readonly clock: Clock;
  /** The calendar that decides "today" for expiry and validity. */
  readonly timeZone: string;
}
