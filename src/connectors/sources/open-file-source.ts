import { extname } from "node:path";
import type { Source } from "../source-record.ts";
import { CsvSource, type CsvSourceOptions } from "./csv-source.ts";
import type { SourceProgress } from "./file-bytes.ts";
import { JsonlSource } from "./jsonl-source.ts";

export const FILE_FORMATS = ["csv", "jsonl"] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/** A source that can say how far it has read (file sources can), for a progress bar's time left. */
export interface FileSource extends Source {
  progress(): SourceProgress;
}

/** The format a file's name says (`.csv`, `.jsonl`, `.ndjson`), or undefined. */
export function formatOfFile(path: string): FileFormat | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === ".csv") return "csv";
  if (extension === ".jsonl" || extension === ".ndjson") return "jsonl";
  return undefined;
}

/**
 * The source of a file in one of the native formats (docs/connectors.md). `csv` options (delimiter,
 * encoding, header, columns) pass through to {@link CsvSource}; JSON Lines takes none.
 *
 * ```ts
 * const source = openSource("students.csv", "csv", { delimiter: ";" });
 * ```
 */
export function openSource(
  path: string,
  format: FileFormat,
  options: Omit<CsvSourceOptions, "path"> = {},
): FileSource {
  switch (format) {
    case "csv":
      return new CsvSource({ ...options, path });
    case "jsonl":
      return new JsonlSource({ path });
    default:
      throw new TypeError(`unknown file format ${String(format)}`);
  }
}
