import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import {
  CARD_CSV_OPERATIONS,
  type CardCsvError,
  type CardCsvOperation,
  ESC_ROUTER_CARD_CSV_COLUMNS,
  escRouterCardCsvConfig,
  readEscRouterCardCsv,
} from "../../../connectors/esc-router-csv.ts";
import { spreadsheetSafe } from "../../../connectors/record-fields.ts";
import { decodeText } from "../../../connectors/sources/text-encoding.ts";
import { OpenEscError } from "../../../domain/errors.ts";
import type { CardInput } from "../../../services/card-service.ts";
import { requireStudentDataHolder } from "../../../services/principal.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { data } from "../../schemas/data-annotation.ts";
import { escRef } from "../../schemas/esc-router-v2-schemas.ts";
import { bearer, escErrors } from "../common-responses.ts";

const TAG = ["ESC Router V2: cards"];
const CSV = "text/csv";
const COLUMNS_TEXT = ESC_ROUTER_CARD_CSV_COLUMNS.map((c, i) => `${i} ${c}`).join(", ");

const CsvConfig = Type.Object(
  Object.fromEntries(
    ESC_ROUTER_CARD_CSV_COLUMNS.map((column, i) => [
      column,
      Type.Integer({ minimum: 0, example: i, ...data("cardCsv.columns") }),
    ]),
  ),
  { description: "Each column's 0-based position in a row" },
);

const validation = (description: string) => ({ description, ...data("cardCsv.validation") });
const CsvValidation = Type.Object({
  valid: Type.Boolean(validation("Whether every row would be accepted")),
  rows: Type.Integer(validation("How many data rows the file has (blank rows not counted)")),
  errors: Type.Array(
    Type.Object({
      rowNumber: Type.Integer(validation("The data row, from 1; 0 for the header or the file as a whole")),
      fieldName: Type.String(validation("The column at fault; empty for the row as a whole")),
      errorMessage: Type.String(validation("Why")),
    }),
    validation("Every problem found, in row order"),
  ),
});

const OperationQuery = Type.Object({
  operation: Type.Union(
    CARD_CSV_OPERATIONS.map((o) => Type.Literal(o)),
    { description: "What the file is for" },
  ),
});

/** ESC-R's card CSV: its column positions, and a dry run of a file (docs/connectors.md). */
export function escRouterCardCsvRoutes(app: FastifyInstance, { services }: RouteDeps): void {
  app.get(
    "/cards/csv-config",
    {
      config: { auth: true, purpose: "card-management" },
      schema: {
        operationId: "getCsvConfig",
        tags: TAG,
        summary: "The card CSV's columns and their positions",
        description: `Column name → 0-based position in a row: ${COLUMNS_TEXT}. Published and never reordered.`,
        security: bearer,
        response: {
          200: {
            description: "The columns",
            content: { "application/json": { schema: CsvConfig } },
          },
          ...escErrors(401, 403),
        },
      },
    },
    async (request) => {
      requireStudentDataHolder(principalOf(request), "cards:read");
      return escRouterCardCsvConfig();
    },
  );

  app.register(async (scope) => {
    // The one route that takes CSV: its body is read as bytes, to detect the file's encoding, within the
    // hub's body limit. Any other media type is refused before the route runs.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(CSV, { parseAs: "buffer" }, async (_request: unknown, body: Buffer) =>
      decodeText(body),
    );
    scope.addContentTypeParser("*", async () => {
      throw new OpenEscError("MEDIA_TYPE_UNSUPPORTED", `body: send the file as ${CSV}`, {
        issues: [{ field: "content-type", reason: `must be ${CSV}` }],
      });
    });
    scope.post<{ Querystring: { operation: CardCsvOperation }; Body: string | undefined }>(
      "/cards/validate-csv",
      {
        config: { auth: true, purpose: "card-management" },
        schema: {
          operationId: "validateCsv",
          tags: TAG,
          summary:
            "Dry run of a card CSV: every row checked as the card write would check it, nothing written",
          description:
            `Columns as \`csv-config\` gives them (${COLUMNS_TEXT}), with or without a header row naming them; ` +
            "delimiter `,` `;` tab or `|`, UTF-8, UTF-16 or windows-1252. CREATE may leave " +
            "cardNumber empty; UPDATE and DELETE name the card by it (DELETE reads no other column). Another " +
            "organisation's card is reported as an unknown one.",
          security: bearer,
          querystring: OperationQuery,
          body: { content: { [CSV]: { schema: { type: "string" } } } },
          response: {
            200: {
              description: "The outcome; `valid` is false when any row would be refused",
              content: { "application/json": { schema: CsvValidation } },
            },
            ...escErrors(400, 401, 403),
            413: {
              description: "The file is larger than the hub accepts (`OPENESC_BODY_LIMIT`)",
              content: { "application/json": { schema: escRef("ApiErrorMessage") } },
            },
            415: {
              description: `The body is not ${CSV}`,
              content: { "application/json": { schema: escRef("ApiErrorMessage") } },
            },
          },
        },
      },
      async (request) => {
        const caller = principalOf(request);
        const operation = request.query.operation;
        const errors: CardCsvError[] = [];
        const inputs: { rowNumber: number; input: CardInput }[] = [];
        /** Where each card number was first seen: a file naming one card twice would not import. */
        const seen = new Map<string, number>();
        let rows = 0;
        for await (const row of readEscRouterCardCsv(request.body ?? "", operation)) {
          if ("error" in row) {
            if (row.error.rowNumber > 0) rows += 1;
            errors.push(row.error);
            continue;
          }
          rows += 1;
          const number = row.input.cardNumber?.toLowerCase();
          const first = number === undefined ? undefined : seen.get(number);
          if (first !== undefined) {
            errors.push({
              rowNumber: row.rowNumber,
              fieldName: "cardNumber",
              errorMessage: `is also on row ${first}`,
            });
            continue;
          }
          if (number !== undefined) seen.set(number, row.rowNumber);
          inputs.push(row);
        }
        const checked = await services.cards.checkWrites(
          caller,
          operation,
          inputs.map((r) => r.input),
        );
        inputs.forEach(({ rowNumber }, i) => {
          for (const problem of checked[i] ?? []) {
            errors.push({ rowNumber, fieldName: problem.field, errorMessage: problem.reason });
          }
        });
        errors.sort((a, b) => a.rowNumber - b.rowNumber);
        return {
          valid: errors.length === 0,
          rows,
          errors: errors.map((e) => ({
            rowNumber: e.rowNumber,
            fieldName: spreadsheetSafe(e.fieldName),
            errorMessage: spreadsheetSafe(e.errorMessage),
          })),
        };
      },
    );
  });
}
