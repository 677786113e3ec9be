import { Type } from "typebox";
import { InvalidValueError } from "../../../domain/errors.ts";
import type { OffsetPage } from "../../../ports/storage.ts";

/** ESC-R list parameters, as its document declares them. */
export const OffsetPagingQuery = Type.Object({
  sort: Type.Optional(Type.String({ description: "Field to sort by" })),
  direction: Type.Optional(Type.String({ default: "ASC", description: "ASC or DESC" })),
  page: Type.Optional(Type.Integer({ default: 0, format: "int32", description: "Page number, from 0" })),
  size: Type.Optional(
    Type.Integer({
      default: 10,
      format: "int32",
      description:
        "Page size, 1 to the documented maximum (100 by default); above it a 400, never a silent cap",
    }),
  ),
  search: Type.Optional(Type.String({ description: "Text to look for (case-insensitive)" })),
});

export interface OffsetPagingParams {
  sort?: string;
  direction?: string;
  page?: number;
  size?: number;
  search?: string;
}

/** Checks ESC-R paging parameters; unlike the original, an oversized page is a clear 400, not a silent cap. */
export function offsetPage(
  query: OffsetPagingParams,
  sortable: readonly string[],
  maxPageSize: number,
): OffsetPage {
  const page = query.page ?? 0;
  const size = query.size ?? Math.min(10, maxPageSize);
  if (page < 0) throw new InvalidValueError("PAGE_INVALID", "page", "must be 0 or more");
  if (size < 1) throw new InvalidValueError("PAGE_INVALID", "size", "must be at least 1");
  if (size > maxPageSize)
    throw new InvalidValueError("PAGE_SIZE_TOO_LARGE", "size", `must be at most ${maxPageSize}`);
  const direction = (query.direction ?? "ASC").toUpperCase();
  if (direction !== "ASC" && direction !== "DESC")
    throw new InvalidValueError("SORT_INVALID", "direction", "must be ASC or DESC");
  const sort = query.sort ?? "createdAt";
  if (!sortable.includes(sort))
    throw new InvalidValueError("SORT_INVALID", "sort", `must be one of ${sortable.join(", ")}`);
  const search = query.search?.trim() ? query.search.trim().slice(0, 255) : null;
  if (page * size > 1_000_000_000) throw new InvalidValueError("PAGE_INVALID", "page", "is beyond any list");
  return { offset: page * size, limit: size, sort, direction, search };
}

/** The Spring-style page envelope ESC-R clients read. */
export function pagedResources<T>(content: readonly T[], total: number, page: OffsetPage, selfUrl: string) {
  const number = Math.floor(page.offset / page.limit);
  const totalPages = Math.ceil(total / page.limit);
  const at = (n: number) => {
    const url = new URL(selfUrl);
    url.searchParams.set("page", String(n));
    url.searchParams.set("size", String(page.limit));
    return url.toString();
  };
  const links = [{ rel: "self", href: at(number) }];
  if (number + 1 < totalPages) links.push({ rel: "next", href: at(number + 1) });
  if (number > 0) links.push({ rel: "prev", href: at(number - 1) });
  return {
    content,
    empty: content.length === 0,
    links,
    page: { number, size: page.limit, totalElements: total, totalPages },
  };
}
