/**
 * The part of a `pg` client or pool the adapter uses: one method. Repositories take a `PostgresQueryable`
 * and do not care whether it is the pool (reads outside transactions) or one checked-out client (inside a
 * transaction).
 */
export interface PostgresQueryable {
  query<R extends object = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** `$1, $2, …` for `n` parameters, starting after `offset`. */
export function params(n: number, offset = 0): string {
  return Array.from({ length: n }, (_, i) => `$${i + offset + 1}`).join(", ");
}
