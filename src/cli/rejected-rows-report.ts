import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { spreadsheetSafe } from "../connectors/record-fields.ts";
import type { RecordProblem } from "../connectors/source-record.ts";

/**
 * The report of rejected rows, as CSV (`row,field,reason,locator`, with a leading `connector` column when
 * several connectors share one file), written as the problems come so that memory stays flat. A report is
 * opened in a spreadsheet, and its reasons quote the rows they reject: every value goes through
 * `spreadsheetSafe`, so that `=cmd|…` shows as text instead of running.
 */
export class RejectedRowsReport {
  readonly #out: WriteStream;
  readonly #withConnector: boolean;
  #failure: Error | undefined;

  private constructor(out: WriteStream, withConnector: boolean) {
    this.#out = out;
    this.#withConnector = withConnector;
    out.on("error", (error) => {
      this.#failure = error;
    });
  }

  /** Creates (or truncates) the file and writes the header; rejects when the file cannot be made. */
  static async open(path: string, options: { withConnector?: boolean } = {}): Promise<RejectedRowsReport> {
    const out = createWriteStream(path, { encoding: "utf8" });
    await Promise.race([
      once(out, "open"),
      once(out, "error").then(([error]) => {
        throw error;
      }),
    ]);
    const report = new RejectedRowsReport(out, options.withConnector === true);
    await report.#line([
      ...(report.#withConnector ? ["connector"] : []),
      "row",
      "field",
      "reason",
      "locator",
    ]);
    return report;
  }

  async write(problem: RecordProblem, connector = ""): Promise<void> {
    const values = [
      String(problem.origin.row),
      problem.field,
      problem.reason,
      problem.origin.locator ?? "",
    ].map(spreadsheetSafe);
    await this.#line(this.#withConnector ? [spreadsheetSafe(connector), ...values] : values);
  }

  async close(): Promise<void> {
    this.#out.end();
    await once(this.#out, "close");
    if (this.#failure) throw this.#failure;
  }

  async #line(values: readonly string[]): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (!this.#out.write(`${values.map(csvField).join(",")}\r\n`)) await once(this.#out, "drain");
  }
}

/** RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
