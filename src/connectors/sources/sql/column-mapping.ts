import { RECORD_FIELDS, type RecordField } from "../../record-fields.ts";
import { SqlSourceError } from "./sql-source-error.ts";

/** Where each record field is in a result row, and the column's name for reports. */
export interface ColumnMapping {
  /** The fields the result has a column for, with that column's position. */
  readonly positions: readonly (readonly [RecordField, number])[];
  /** The result column a field was read from (what a per-row report names). */
  rename(field: RecordField): string;
}

/** Fields without which no row can be a record: a result without them is a configuration error. */
const REQUIRED: readonly RecordField[] = ["esi", "fullName"];

/**
 * Finds each field's column in a result: the configured name, else the field's own name; a name matches
 * exactly, else case-insensitively (`ESI`, `FullName`). A configured column the result lacks, a name two
 * columns match (`SELECT a.esi, b.esi`), or no column for the ESI or the name fails the source before any
 * row is read.
 */
export function mapColumns(
  columns: readonly string[],
  configured: Partial<Record<RecordField, string>>,
): ColumnMapping {
  const available = `the result's columns are: ${columns.join(", ") || "(none)"}`;
  const positions: [RecordField, number][] = [];
  const names = new Map<RecordField, string>();
  for (const field of RECORD_FIELDS) {
    const wanted = configured[field] ?? field;
    const exact = columns.flatMap((column, i) => (column === wanted ? [i] : []));
    const folded = columns.flatMap((column, i) => (column.toLowerCase() === wanted.toLowerCase() ? [i] : []));
    const matches = exact.length > 0 ? exact : folded;
    const position = matches.length === 1 ? matches[0] : undefined;
    if (matches.length > 1) {
      throw new SqlSourceError("columns", `column ${wanted} (for ${field}) is ambiguous: ${available}`);
    }
    if (position === undefined && configured[field] !== undefined) {
      throw new SqlSourceError(
        "columns",
        `column ${wanted} (for ${field}) is not in the result: ${available}`,
      );
    }
    if (position !== undefined) {
      positions.push([field, position]);
      names.set(field, columns[position] as string);
    }
  }
  const missing = REQUIRED.filter((field) => !names.has(field));
  if (missing.length > 0) {
    throw new SqlSourceError("columns", `no column for ${missing.join(", ")}: ${available}`);
  }
  return { positions, rename: (field) => names.get(field) ?? field };
}

/** Checks a configured mapping's shape (targets are record fields, names are not empty). */
export function checkColumnOptions(columns: unknown): Partial<Record<RecordField, string>> {
  if (columns === undefined) return {};
  if (typeof columns !== "object" || columns === null || Array.isArray(columns)) {
    throw new SqlSourceError("options", "columns must map record fields to column names");
  }
  for (const [field, column] of Object.entries(columns)) {
    if (!(RECORD_FIELDS as readonly string[]).includes(field)) {
      throw new SqlSourceError(
        "options",
        `columns: ${field} is not a record field (${RECORD_FIELDS.join(", ")})`,
      );
    }
    if (typeof column !== "string" || column.trim() === "") {
      throw new SqlSourceError("options", `columns: ${field} must name a column`);
    }
  }
  return { ...(columns as Partial<Record<RecordField, string>>) };
}
