import type { DataKey } from "../../domain/data-map.ts";

/**
 * The JSON Schema keyword by which a response property names its entry in the data map
 * (`src/domain/data-map.ts`). Extension keywords are allowed by JSON Schema and OpenAPI; the validators
 * register it, and `src/http/plugins/data-map-enforcement.ts` checks it against each route's purpose.
 */
export const DATA_KEYWORD = "x-data";

/** Schema options naming a property's data map entry: `Type.String({ ...data("card.escn") })`. */
export function data<K extends DataKey>(key: K): { readonly "x-data": K } {
  return { [DATA_KEYWORD]: key } as { readonly "x-data": K };
}
