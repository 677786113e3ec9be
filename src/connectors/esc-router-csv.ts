import type { CardInput } from "../services/card-service.ts";
import { spreadsheetSafe } from "./record-fields.ts";
import { isGarbled } from "./sources/checked-record.ts";
import { CsvFormatError, csvRecords } from "./sources/csv-records.ts";

/**
 * The ESC Router card CSV in the OpenESC format: the fields of ESC-R's card write view (`CardUpdateView`),
 * one card per row, in this order. The production router does not publish its column set and has reordered
 * it without notice; this one is published (`GET /esc-rest/api/v2/cards/csv-config`) and never reordered:
 * a new column, if ever, goes at the end.
 */
export const ESC_ROUTER_CARD_CSV_COLUMNS = [
  "cardNumber",
  "personIdentifier",
  "issuerIdentifier",
  "cardType",
  "cardStatusType",
  "issuedAt",
  "expiresAt",
  "displayName",
  "processorIdentifier",
] as const;
export type EscRouterCardCsvColumn = (typeof ESC_ROUTER_CARD_CSV_COLUMNS)[number];

/** What a card CSV is for: ESC-R's `operation` of the CSV import. */
export const CARD_CSV_OPERATIONS = ["CREATE", "UPDATE", "DELETE"] as const;
export type CardCsvOperation = (typeof CARD_CSV_OPERATIONS)[number];

/** The columns each operation needs; a header without one of them is refused as a whole. */
const NEEDED: Readonly<Record<CardCsvOperation, readonly EscRouterCardCsvColumn[]>> = {
  CREATE: ["personIdentifier", "issuerIdentifier", "cardType", "cardStatusType", "issuedAt", "expiresAt"],
  UPDATE: [
    "cardNumber",
    "personIdentifier",
    "issuerIdentifier",
    "cardType",
    "cardStatusType",
    "issuedAt",
    "expiresAt",
  ],
  DELETE: ["cardNumber"],
};

/** `csv-config`: each column's 0-based position in a row. */
export function escRouterCardCsvConfig(): Readonly<Record<EscRouterCardCsvColumn, number>> {
  return Object.fromEntries(ESC_ROUTER_CARD_CSV_COLUMNS.map((column, i) => [column, i])) as Record<
    EscRouterCardCsvColumn,
    number
  >;
}

/** A problem of a card CSV, as ESC-R's validate-csv reports it; row 0 is the header or the file as a whole. */
export interface CardCsvError {
  readonly rowNumber: number;
  readonly fieldName: string;
  readonly errorMessage: string;
}

/** One row read: the card write it asks for, or why it cannot be read. */
export type CardCsvRow =
  | { readonly rowNumber: number; readonly input: CardInput }
  | { readonly error: CardCsvError };

/**
 * Reads a card CSV for `operation`. The first row is a header when its cells are column names (in any order,
 * names matched without regard to case); otherwise every row is data, in the order of
 * {@link ESC_ROUTER_CARD_CSV_COLUMNS}. Row numbers count data rows from 1, blank rows included (row N is
 * line N + 1 of the file under a header). Problems of the file as a whole (no rows, a header naming an
 * unknown column or lacking one the operation needs, a quote left open) are reported as row 0 and end the
 * reading.
 */
export async function* readEscRouterCardCsv(
  text: string,
  operation: CardCsvOperation,
): AsyncGenerator<CardCsvRow> {
  const fileError = (fieldName: string, errorMessage: string): CardCsvRow => ({
    error: { rowNumber: 0, fieldName: spreadsheetSafe(fieldName), errorMessage },
  });
  let positions: Map<EscRouterCardCsvColumn, number> | undefined;
  let width: number = ESC_ROUTER_CARD_CSV_COLUMNS.length;
  let rowNumber = 0;
  try {
    for await (const fields of csvRecords(once(text))) {
      if (positions === undefined) {
        positions = new Map(ESC_ROUTER_CARD_CSV_COLUMNS.map((column, i) => [column, i]));
        if (isHeader(fields)) {
          const read = headerPositions(fields);
          if ("problems" in read) {
            for (const [name, message] of read.problems) yield fileError(name, message);
            return;
          }
          const missing = NEEDED[operation].filter((column) => !read.positions.has(column));
          if (missing.length > 0) {
            for (const column of missing)
              yield fileError(column, `is missing from the header; ${operation} needs it`);
            return;
          }
          positions = read.positions;
          width = fields.length;
          continue;
        }
      }
      rowNumber += 1;
      if (fields.every((f) => f.trim() === "")) continue;
      const rowError = (fieldName: string, errorMessage: string): CardCsvRow => ({
        error: { rowNumber, fieldName, errorMessage },
      });
      if (fields.length !== width) {
        yield rowError("", `has ${fields.length} fields where the file has ${width} columns`);
        continue;
      }
      const value = (column: EscRouterCardCsvColumn): string | null => {
        const at = positions?.get(column);
        const text = at === undefined ? "" : (fields[at] ?? "").trim();
        return text === "" ? null : text;
      };
      const bad = ESC_ROUTER_CARD_CSV_COLUMNS.find((c) => {
        const v = value(c);
        return v !== null && isGarbled(v);
      });
      if (bad !== undefined) {
        yield rowError(bad, "must not contain control characters, line breaks or bytes that are not text");
        continue;
      }
      yield {
        rowNumber,
        input: {
          cardNumber: value("cardNumber"),
          cardStatusType: value("cardStatusType") ?? "",
          cardType: value("cardType") ?? "",
          issuedAt: value("issuedAt") ?? "",
          expiresAt: value("expiresAt") ?? "",
          issuerIdentifier: value("issuerIdentifier") ?? "",
          personIdentifier: value("personIdentifier") ?? "",
          displayName: value("displayName"),
          processorIdentifier: value("processorIdentifier"),
        },
      };
    }
  } catch (error) {
    // A quote left open: what follows it cannot be told apart, so the file is refused from there.
    if (!(error instanceof CsvFormatError)) throw error;
    yield fileError("", error.message);
    return;
  }
  if (positions === undefined) yield fileError("", "the file has no rows");
}

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

const COLUMN_NAMES = new Map<string, EscRouterCardCsvColumn>(
  ESC_ROUTER_CARD_CSV_COLUMNS.map((column) => [column.toLowerCase(), column]),
);

/** A header row: some cell names a column. No ESCN, ESI, PIC or date is a column name. */
function isHeader(fields: readonly string[]): boolean {
  return fields.some((f) => COLUMN_NAMES.has(f.trim().toLowerCase()));
}

function headerPositions(
  fields: readonly string[],
): { positions: Map<EscRouterCardCsvColumn, number> } | { problems: [name: string, message: string][] } {
  const positions = new Map<EscRouterCardCsvColumn, number>();
  const problems: [string, string][] = [];
  fields.forEach((raw, i) => {
    const name = raw.trim();
    const column = COLUMN_NAMES.get(name.toLowerCase());
    if (name === "") problems.push(["", `column ${i + 1} of the header has no name`]);
    else if (column === undefined) problems.push([name, "is not a column of the card CSV"]);
    else if (positions.has(column)) problems.push([name, "appears twice in the header"]);
    else positions.set(column, i);
  });
  return problems.length > 0 ? { problems } : { positions };
}
