import { InvalidValueError } from "../../../domain/errors.ts";
import type { KeysetPage } from "../../../ports/storage.ts";

/**
 * Opaque cursors of the native listings. They wrap a position; clients must not build them, and a
 * cursor that was not made here is a 400.
 */
export function encodeCursor(position: number | null): string | null {
  return position === null ? null : Buffer.from(`p:${position}`).toString("base64url");
}

export function keysetPage(query: { after?: string; limit?: number }, maxPageSize: number): KeysetPage {
  // The default never exceeds the configured maximum: leaving `limit` out must not be an error.
  const limit = query.limit ?? Math.min(50, maxPageSize);
  if (limit > maxPageSize)
    throw new InvalidValueError("PAGE_SIZE_TOO_LARGE", "limit", `must be at most ${maxPageSize}`);
  if (query.after === undefined || query.after === "") return { after: 0, limit };
  const decoded = /^[A-Za-z0-9_-]+$/.test(query.after)
    ? Buffer.from(query.after, "base64url").toString()
    : "";
  const match = /^p:(\d{1,15})$/.exec(decoded);
  if (!match?.[1])
    throw new InvalidValueError(
      "CURSOR_INVALID",
      "after",
      "is not a cursor this hub made; use the `next` of a previous page",
    );
  return { after: Number(match[1]), limit };
}

/** `If-Match: "3"` → 3; absent → null; anything else is a 400 rather than a silent unconditional write. */
export function expectedVersion(header: string | undefined): number | null {
  if (header === undefined) return null;
  const match = /^\s*(?:W\/)?"(\d{1,12})"\s*$/.exec(header);
  if (!match?.[1])
    throw new InvalidValueError("VALIDATION_FAILED", "if-match", 'must be an ETag of this API, such as "3"');
  return Number(match[1]);
}

export const etag = (version: number) => `"${version}"`;
