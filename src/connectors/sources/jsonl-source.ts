import { RECORD_FIELDS, type RecordField, type RecordFields, spreadsheetSafe } from "../record-fields.ts";
import type { RecordOrigin, Source, SourceItem } from "../source-record.ts";
import { checkedRecord } from "./checked-record.ts";
import { FileBytes, type SourceProgress } from "./file-bytes.ts";

export interface JsonlSourceOptions {
  readonly path: string;
  /** The longest line read, in bytes (default 1 MiB); a longer one is a problem, skipped without being held. */
  readonly maxLineBytes?: number;
}

const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
/** Unknown keys reported, at most: a file keyed by something else would otherwise report one per line. */
const MAX_UNKNOWN_KEYS_REPORTED = 20;
const KNOWN = new Set<string>(RECORD_FIELDS);

/**
 * JSON Lines (UTF-8, one JSON object per line) with the native CSV's field names as keys:
 * `{"esi": "urn:schac:…", "fullName": "Jeanne Exemple", "statusState": "enrolled", …}`. Values are text, or
 * numbers and null where natural (a number is read as its text, null as "not given"). Read as a stream,
 * line by line; `origin.row` is the line number, blank lines skipped but counted. A line that is not JSON,
 * not an object, longer than `maxLineBytes` or not UTF-8 is a problem of its own. Problems name the key as a
 * JSON pointer (`/email`). An unknown key is ignored and reported once, as a problem of row 0 whose locator
 * is the line it was first seen on.
 *
 * @example
 * for await (const item of new JsonlSource({ path: "students.jsonl" }).items()) …
 */
export class JsonlSource implements Source {
  readonly description: string;
  readonly #file: FileBytes;
  readonly #maxLineBytes: number;

  constructor(options: JsonlSourceOptions) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new TypeError("JsonlSource: maxLineBytes must be a positive integer");
    this.#maxLineBytes = max;
    this.description = `jsonl:${options.path}`;
    this.#file = new FileBytes(options.path, this.description);
  }

  /** Bytes read so far and the file's size. */
  progress(): SourceProgress {
    return this.#file.progress();
  }

  async *items(): AsyncGenerator<SourceItem> {
    const utf8 = new TextDecoder("utf-8", { fatal: true });
    const unknown = new Set<string>();
    let row = 0;
    for await (const line of lines(this.#file.chunks(), this.#maxLineBytes)) {
      row += 1;
      const origin = { row };
      const problem = (reason: string, field = ""): SourceItem => ({ problem: { origin, field, reason } });
      if (line === null) {
        yield problem(`is longer than ${this.#maxLineBytes} bytes`);
        continue;
      }
      let text: string;
      try {
        text = utf8.decode(line);
      } catch {
        yield problem("is not UTF-8 text");
        continue;
      }
      if (row === 1 && text.startsWith("\ufeff")) text = text.slice(1);
      if (text.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        yield problem("is not JSON");
        continue;
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        yield problem("is not a JSON object");
        continue;
      }
      for (const key of Object.keys(value)) {
        if (KNOWN.has(key) || unknown.has(key) || unknown.size >= MAX_UNKNOWN_KEYS_REPORTED) continue;
        unknown.add(key);
        yield {
          problem: {
            origin: { row: 0, locator: `line ${row}` },
            field: pointer(key),
            reason: "is not a field of the native format; its values are ignored",
          },
        };
      }
      yield recordOf(value as Record<string, unknown>, origin);
    }
  }
}

function recordOf(object: Record<string, unknown>, origin: RecordOrigin): SourceItem {
  const fields: RecordFields = {};
  for (const field of RECORD_FIELDS) {
    if (!Object.hasOwn(object, field)) continue;
    const value = object[field];
    if (value === null || typeof value === "string") fields[field] = value;
    else if (typeof value === "number" && Number.isFinite(value)) fields[field] = String(value);
    else return { problem: { origin, field: pointer(field), reason: "must be text, a number or null" } };
  }
  return checkedRecord(fields, origin, (field: RecordField) => pointer(field));
}

/** A key as a JSON pointer (RFC 6901), safe to show in a spreadsheet. */
function pointer(key: string): string {
  return spreadsheetSafe(`/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`);
}

/**
 * The lines of a byte stream (LF or CRLF), each as its bytes, or null for one longer than `max` bytes, whose
 * bytes are dropped as they come rather than held.
 */
async function* lines(chunks: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<Uint8Array | null> {
  let parts: Uint8Array[] = [];
  let size = 0;
  let tooLong = false;
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, end === -1 ? chunk.length : end);
      if (!tooLong && size + piece.length > max + 1) {
        // One byte over is allowed for a CR that ends the line.
        tooLong = true;
        parts = [];
      } else if (!tooLong && piece.length > 0) {
        // Copied: the chunk's buffer may be reused once the stream moves on.
        parts.push(Uint8Array.prototype.slice.call(piece));
        size += piece.length;
      }
      if (end === -1) break;
      yield finish(parts, size, tooLong, max);
      parts = [];
      size = 0;
      tooLong = false;
      start = end + 1;
    }
  }
  if (size > 0 || tooLong) yield finish(parts, size, tooLong, max);
}

function finish(
  parts: readonly Uint8Array[],
  size: number,
  tooLong: boolean,
  max: number,
): Uint8Array | null {
  if (tooLong) return null;
  let line = Buffer.concat(parts, size);
  if (line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
  return line.length > max ? null : line;
}
