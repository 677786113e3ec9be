import { RECORD_FIELDS, type RecordField, type RecordFields, spreadsheetSafe } from "../record-fields.ts";
import type { RecordProblem, Source, SourceItem } from "../source-record.ts";
import { checkedRecord } from "./checked-record.ts";
import { CSV_DELIMITERS, CsvFormatError, csvRecords } from "./csv-records.ts";
import { FileBytes, type SourceProgress } from "./file-bytes.ts";
import { decodeChunks, TEXT_ENCODINGS, type TextEncoding } from "./text-encoding.ts";

export interface CsvSourceOptions {
  readonly path: string;
  /** `,` `;` tab or `|`; detected from the first line when not given. */
  readonly delimiter?: string;
  /** Detected when not given: a byte order mark, else UTF-16 by its zero bytes, UTF-8, or windows-1252. */
  readonly encoding?: TextEncoding;
  /** Whether the first row names the columns (default true). Without one, columns are in `RECORD_FIELDS` order. */
  readonly header?: boolean;
  /** The column each field is read from, where it is not the field's own name: `{ esi: "ESI", fullName: "Name" }`. */
  readonly columns?: Partial<Record<RecordField, string>>;
}

/** Fields without which no row means anything: a file without their columns is refused before any row. */
const REQUIRED: readonly RecordField[] = ["esi", "fullName"];

/**
 * The native CSV: one row per student, the columns named after `RECORD_FIELDS` (`esi`, `fullName`,
 * `statusState`, `escn`, …, in any order, names matched without regard to case), a header row first.
 * Read as a stream, so a file of millions of rows takes no more memory than one of ten (docs/connectors.md).
 *
 * Row numbers (`origin.row`) count data rows from 1, blank rows included, so that row N is line N + 1 of
 * the file in a spreadsheet. A row with the wrong number of fields is a problem of its own; an unknown
 * column is ignored and reported once, as a problem of row 0 (the header); a file without an `esi` or
 * `fullName` column fails before any row.
 *
 * @example
 * const source = new CsvSource({ path: "students.csv" });
 * for await (const item of source.items()) if ("problem" in item) console.log(item.problem);
 */
export class CsvSource implements Source {
  readonly description: string;
  readonly #options: CsvSourceOptions;
  readonly #file: FileBytes;
  /** The field each column name stands for, names lower-cased. */
  readonly #wanted = new Map<string, RecordField>();

  constructor(options: CsvSourceOptions) {
    if (
      options.delimiter !== undefined &&
      !(CSV_DELIMITERS as readonly string[]).includes(options.delimiter)
    ) {
      throw new TypeError(
        `CsvSource: delimiter must be one of ${CSV_DELIMITERS.map((d) => JSON.stringify(d)).join(", ")}`,
      );
    }
    if (options.encoding !== undefined && !TEXT_ENCODINGS.includes(options.encoding)) {
      throw new TypeError(`CsvSource: encoding must be one of ${TEXT_ENCODINGS.join(", ")}`);
    }
    if (options.header === false && options.columns !== undefined) {
      throw new TypeError("CsvSource: columns are named by a header; without one they follow RECORD_FIELDS");
    }
    for (const field of RECORD_FIELDS) {
      const name = (options.columns?.[field] ?? field).trim().toLowerCase();
      const other = this.#wanted.get(name);
      if (other !== undefined)
        throw new TypeError(`CsvSource: ${other} and ${field} are both read from ${name}`);
      this.#wanted.set(name, field);
    }
    this.#options = options;
    this.description = `csv:${options.path}`;
    this.#file = new FileBytes(options.path, this.description);
  }

  /** Bytes read so far and the file's size. */
  progress(): SourceProgress {
    return this.#file.progress();
  }

  async *items(): AsyncGenerator<SourceItem> {
    try {
      yield* this.#read();
    } catch (error) {
      // A quote left open or a row past the size limit: nothing after it can be trusted to be a row.
      if (!(error instanceof CsvFormatError)) throw error;
      throw new Error(`${this.description}: ${error.message}`, { cause: error });
    }
  }

  async *#read(): AsyncGenerator<SourceItem> {
    const records = csvRecords(
      decodeChunks(this.#file.chunks(), this.#options.encoding),
      this.#options.delimiter,
    );
    let layout: Layout | undefined;
    let row = 0;
    for await (const fields of records) {
      if (layout === undefined) {
        if (this.#options.header === false) {
          layout = this.#positional(fields.length);
        } else {
          layout = this.#fromHeader(fields);
          for (const problem of layout.headerProblems) yield { problem };
          continue;
        }
      }
      row += 1;
      if (fields.every((f) => f.trim() === "")) continue; // a blank row, as spreadsheets export them
      const origin = { row };
      if (fields.length !== layout.width) {
        const reason = `has ${fields.length} fields where ${layout.widthSource} has ${layout.width}`;
        yield { problem: { origin, field: "", reason } };
        continue;
      }
      const values: RecordFields = {};
      for (const [field, index] of layout.positions) values[field] = fields[index];
      yield checkedRecord(values, origin, layout.rename);
    }
    if (layout === undefined && this.#options.header !== false) {
      throw new Error(`${this.description}: the file is empty: it has no header row`);
    }
  }

  #fromHeader(header: readonly string[]): Layout {
    const positions = new Map<RecordField, number>();
    const names = new Map<RecordField, string>();
    const headerProblems: RecordProblem[] = [];
    header.forEach((raw, index) => {
      const name = raw.trim();
      if (name === "") return;
      const field = this.#wanted.get(name.toLowerCase());
      if (field === undefined) {
        headerProblems.push({
          origin: { row: 0, locator: "header" },
          field: spreadsheetSafe(name),
          reason: "is not a column of the native CSV; its values are ignored",
        });
        return;
      }
      if (positions.has(field)) {
        throw new Error(`${this.description}: the column ${show(name)} appears twice in the header`);
      }
      positions.set(field, index);
      names.set(field, spreadsheetSafe(name));
    });
    const missing = REQUIRED.filter((f) => !positions.has(f));
    if (missing.length > 0) {
      const expected = missing.map((f) => show(this.#options.columns?.[f] ?? f)).join(" and ");
      // The cells are not quoted: in a file without a header the "header" is a student's row, and this
      // message goes to logs and to the record of the run.
      throw new Error(
        `${this.description}: the header has no column ${expected} (required) among its ${header.length}; ` +
          "if the file has no header row, read it without one",
      );
    }
    return {
      width: header.length,
      widthSource: "the header",
      positions,
      rename: (field) => names.get(field) ?? field,
      headerProblems,
    };
  }

  #positional(width: number): Layout {
    if (width < REQUIRED.length || width > RECORD_FIELDS.length) {
      throw new Error(
        `${this.description}: without a header, rows must have ${REQUIRED.length} to ${RECORD_FIELDS.length} fields in the order ${RECORD_FIELDS.join(", ")}; the first has ${width}`,
      );
    }
    return {
      width,
      widthSource: "the first row",
      positions: new Map(RECORD_FIELDS.slice(0, width).map((field, index) => [field, index])),
      rename: (field) => field,
      headerProblems: [],
    };
  }
}

interface Layout {
  /** How many fields every row has. */
  readonly width: number;
  readonly widthSource: string;
  /** Where each field read is, by index in the row. */
  readonly positions: ReadonlyMap<RecordField, number>;
  /** The column a field is reported under: the header's name for it. */
  readonly rename: (field: RecordField) => string;
  readonly headerProblems: readonly RecordProblem[];
}

/** A column name in an error message: quoted, its control characters visible. */
function show(name: string): string {
  return JSON.stringify(spreadsheetSafe(name));
}
