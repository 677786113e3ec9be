import { escRef } from "../schemas/esc-router-v2-schemas.ts";
import { nativeRef } from "../schemas/native-schemas.ts";

/** Error responses for the API document, in the shape each part answers with. */
export function escErrors(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: ERROR_DESCRIPTIONS[s] ?? "Error",
        content: { "application/json": { schema: escRef("ApiErrorMessage") } },
      },
    ]),
  );
}

export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: ERROR_DESCRIPTIONS[s] ?? "Error",
        content: { "application/problem+json": { schema: nativeRef("Problem") } },
      },
    ]),
  );
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Bad request: the message names the field and the reason",
  401: "No token, or an unknown, revoked or expired one",
  403: "The token may not do this",
  404: "Nothing the caller may see answers to this identifier",
  409: "Conflicts with the current state",
  412: "If-Match names a version that is no longer current",
};

export const bearer = [{ bearer: [] }];
