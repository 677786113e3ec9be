import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CsvError, parse } from "csv-parse";

/** The delimiters a CSV file may use; the first is the default. */
export const CSV_DELIMITERS = [",", ";", "\t", "|"] as const;
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];

/**
 * The longest record read, in characters: far beyond any row of a student file, and what keeps a quote left
 * open from reading the rest of a multi-gigabyte file into memory as one field.
 */
export const MAX_RECORD_CHARS = 1024 * 1024;

/** A CSV file that cannot be read on: a quote never closed, a record over {@link MAX_RECORD_CHARS}. */
export class CsvFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CsvFormatError";
  }
}

/**
 * The delimiter of the CSV text that starts with `start`: of `,` `;` tab and `|`, the one found most often
 * on the first line outside quotes (a comma when none is). The header line decides, since its names contain
 * no delimiter, where a data row may hold one in a quoted value.
 */
export function detectDelimiter(start: string): CsvDelimiter {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const c of start) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === "\n" || c === "\r")) break;
    else if (!quoted) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let best: CsvDelimiter = ",";
  for (const candidate of CSV_DELIMITERS) {
    if ((counts.get(candidate) ?? 0) > (counts.get(best) ?? 0)) best = candidate;
  }
  return best;
}

/**
 * The records of CSV text as arrays of fields, streamed: `"` quotes, `""` inside quotes, quoted delimiters
 * and line breaks, CRLF or LF. Records may have any number of fields (the reader decides what a wrong number
 * means); an empty line is a record of one empty field. The delimiter is detected from the first line unless
 * given. Throws a {@link CsvFormatError} when the text cannot be read on.
 */
export async function* csvRecords(text: AsyncIterable<string>, delimiter?: string): AsyncGenerator<string[]> {
  const chunks = text[Symbol.asyncIterator]();
  // The first line, whole, before the parser starts: it decides the delimiter. A first line longer than a
  // record may be is not held whole: the parser refuses it anyway.
  const head: string[] = [];
  let headChars = 0;
  let done = false;
  while (delimiter === undefined && headChars <= MAX_RECORD_CHARS) {
    const next = await chunks.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    headChars += next.value.length;
    if (/[\r\n]/.test(next.value)) break;
  }
  const parser = parse({
    delimiter: delimiter ?? detectDelimiter(head.join("")),
    relax_column_count: true,
    // A quote inside an unquoted value (`O"Brien`) is data, as spreadsheets read it.
    relax_quotes: true,
    max_record_size: MAX_RECORD_CHARS,
  });
  async function* all(): AsyncGenerator<string> {
    yield* head;
    if (done) return;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  }
  const feeding = pipeline(Readable.from(all(), { objectMode: false }), parser);
  // The parser's iterator rethrows a failure of the pipeline; this keeps it from being unhandled meanwhile.
  feeding.catch(() => undefined);
  try {
    for await (const record of parser) yield record as string[];
    await feeding;
  } catch (error) {
    if (error instanceof CsvError) throw new CsvFormatError(formatProblem(error), { cause: error });
    throw error;
  } finally {
    parser.destroy();
    await chunks.return?.();
  }
}

function formatProblem(error: CsvError): string {
  const line = (error as CsvError & { lines?: number }).lines;
  const at = typeof line === "number" ? ` (line ${line})` : "";
  switch (error.code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return `a quoted value is not closed before the end of the file${at}`;
    case "CSV_MAX_RECORD_SIZE":
      return `a row is longer than ${MAX_RECORD_CHARS} characters${at}: is a quote left open?`;
    default:
      return `cannot be read as CSV${at}: ${error.message}`;
  }
}
