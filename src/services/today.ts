import { type IsoDate, isoDateOf } from "../domain/iso-date.ts";
import type { ServiceContext } from "./service-context.ts";

/** Today's date in the hub's calendar. */
export function today(ctx: Pick<ServiceContext, "clock" | "timeZone">): IsoDate {
  return isoDateOf(ctx.clock.now(), ctx.timeZone);
}
