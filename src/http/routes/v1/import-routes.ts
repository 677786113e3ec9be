import multipart, { type MultipartFile } from "@fastify/multipart";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { requireConnectorAccess } from "../../../connectors/connector-access.ts";
import { spreadsheetSafe } from "../../../connectors/record-fields.ts";
import { FILE_FORMATS, type FileFormat, formatOfFile } from "../../../connectors/sources/open-file-source.ts";
import type { SyncResult } from "../../../connectors/sync-report.ts";
import type { Scope } from "../../../domain/api-token.ts";
import { isOpenEscError, OpenEscError, ValidationError } from "../../../domain/errors.ts";
import type { RouteDeps } from "../../app.ts";
import { principalOf } from "../../plugins/authentication.ts";
import { nativeRef } from "../../schemas/native-schemas.ts";
import { literals } from "../../schemas/schema-helpers.ts";
import { bearer, problems } from "../common-responses.ts";

const MULTIPART = "multipart/form-data";
/** What an import writes: persons' links, their statuses, their cards. */
const IMPORT_SCOPES: readonly Scope[] = ["persons:write", "statuses:write", "cards:write"];

/** The media types a file part may declare for each format; anything else leaves it to the file name. */
const FORMAT_OF_TYPE: Readonly<Record<string, FileFormat>> = {
  "text/csv": "csv",
  "application/csv": "csv",
  "application/jsonl": "jsonl",
  "application/x-jsonl": "jsonl",
  "application/jsonlines": "jsonl",
  "application/x-jsonlines": "jsonl",
  "application/x-ndjson": "jsonl",
  "application/ndjson": "jsonl",
};

const ImportQuery = Type.Object({
  dryRun: Type.Optional(
    Type.Boolean({ description: "Compare and report, write nothing (not even the run)" }),
  ),
  format: Type.Optional(
    literals(FILE_FORMATS, {
      description: "The file's format, when neither its content type nor its name says it",
    }),
  ),
});

/**
 * The form: an optional `format` field, then the file. Only the file is read as a stream; fields after it
 * are not read. The schema is written without `type: object` so that it documents the form without being
 * checked against it (the parts are read by the route, as they arrive).
 */
const ImportForm = {
  properties: {
    format: { type: "string", enum: FILE_FORMATS, description: "As the `format` query parameter" },
    file: {
      type: "string",
      contentMediaType: "application/octet-stream",
      description:
        "The students, in the native CSV (`text/csv`) or JSON Lines (`application/jsonl`); docs/connectors.md",
    },
  },
  required: ["file"],
};

/**
 * `POST /v1/imports`: a file of the caller's students, uploaded as a stream and run through the sync
 * engine, like `openesc import` runs one (docs/connectors.md, "Importing through the API").
 */
export function importRoutes(app: FastifyInstance, { services }: RouteDeps): void {
  const maxBytes = services.imports.maxBytes;
  app.register(async (scope) => {
    // The one route that takes multipart: any other media type is refused before the route runs.
    scope.removeAllContentTypeParsers();
    await scope.register(multipart, {
      // One byte over the limit is read, so that the import can tell a file of exactly the limit from a
      // larger one; the rest of a larger file is never held.
      limits: { fileSize: maxBytes + 1, files: 1, fields: 10, fieldSize: 1024, parts: 20, headerPairs: 100 },
      throwFileSizeLimit: false,
    });
    scope.addContentTypeParser("*", async () => {
      throw unsupportedMedia();
    });
    scope.post<{ Querystring: { dryRun?: boolean; format?: FileFormat } }>(
      "/imports",
      {
        config: { auth: true, purpose: "card-management" },
        schema: {
          operationId: "importStudents",
          tags: ["imports and connectors"],
          summary: "Bring the caller's students in line with an uploaded file (CSV or JSON Lines)",
          description:
            "`multipart/form-data` with the file in the part `file` (and, before it, an optional `format` " +
            "field). The format is the `format` parameter or field, else the part's content type (`text/csv`, " +
            "`application/jsonl`, `application/x-ndjson`), else the file's name (`.csv`, `.jsonl`, " +
            `\`.ndjson\`). The file is streamed to disk (at most ${maxBytes} bytes, \`OPENESC_IMPORT_MAX_BYTES\`) ` +
            "and then run through the sync engine for the token's organisation: only what differs is written, " +
            "with its events and audit entries. An upload ends no one: a student missing from it is left as " +
            "they are (withdrawals need a configured connector). Concurrent uploads are allowed. The answer " +
            "gives the run's counts and its first 1,000 problems; a run that `failed` (the file broke off, " +
            "the store failed) keeps the batches it wrote. Needs `persons:write`, `statuses:write` and " +
            "`cards:write`, for an institution or a student-service organisation.",
          security: bearer,
          querystring: ImportQuery,
          body: { content: { [MULTIPART]: { schema: ImportForm } } },
          response: {
            200: {
              description: "The import ran: see `state`",
              content: { "application/json": { schema: nativeRef("ImportResult") } },
            },
            ...problems(400, 401, 403, 413, 415),
          },
        },
      },
      async (request) => {
        const caller = principalOf(request);
        requireConnectorAccess(caller, IMPORT_SCOPES);
        if (!request.isMultipart()) throw unsupportedMedia();
        const { part, format } = await filePartOf(request);
        const result = await services.imports.run(
          caller.organisation.id,
          { bytes: streamOf(part), format },
          { dryRun: request.query.dryRun === true, tokenId: caller.tokenId },
        );
        return importView(result);
      },
    );
  });
}

function unsupportedMedia(): OpenEscError {
  return new OpenEscError("MEDIA_TYPE_UNSUPPORTED", `body: send the file as ${MULTIPART}`, {
    issues: [{ field: "content-type", reason: `must be ${MULTIPART}` }],
  });
}

/** Reads the form up to its file part: the `format` field before it, and the format the file is in. */
async function filePartOf(
  request: FastifyRequest<{ Querystring: { format?: FileFormat } }>,
): Promise<{ part: MultipartFile; format: FileFormat }> {
  let field: unknown;
  try {
    for await (const part of request.parts()) {
      if (part.type === "field") {
        if (part.fieldname === "format") field = part.value;
        continue;
      }
      if (part.fieldname !== "file") {
        throw new ValidationError([
          { field: part.fieldname, reason: "is not a part of an import: send the file in the part file" },
        ]);
      }
      return { part, format: formatOf(request.query.format ?? field, part) };
    }
  } catch (error) {
    throw malformed(error);
  }
  throw new ValidationError([
    { field: "file", reason: "is required: the part holding the CSV or JSON Lines file" },
  ]);
}

function formatOf(given: unknown, part: MultipartFile): FileFormat {
  if (given !== undefined) {
    if ((FILE_FORMATS as readonly unknown[]).includes(given)) return given as FileFormat;
    throw new ValidationError([{ field: "format", reason: `must be ${FILE_FORMATS.join(" or ")}` }]);
  }
  const type = part.mimetype.split(";")[0]?.trim().toLowerCase() ?? "";
  const format = FORMAT_OF_TYPE[type] ?? formatOfFile(part.filename ?? "");
  if (format === undefined) {
    throw new ValidationError([
      {
        field: "format",
        reason:
          "is unknown: give it (csv or jsonl), or send the file as text/csv or application/jsonl, or name it .csv or .jsonl",
      },
    ]);
  }
  return format;
}

/** The file part's bytes, a broken form turned into a 400 as it is met. */
function streamOf(part: MultipartFile): AsyncIterable<Buffer> {
  return (async function* () {
    try {
      for await (const chunk of part.file as AsyncIterable<Buffer>) yield chunk;
    } catch (error) {
      throw malformed(error);
    }
  })();
}

/** The parser's limits on the form's parts: what it answers 413 is a form an import does not take. */
const PART_LIMITS = new Set(["FST_FILES_LIMIT", "FST_FIELDS_LIMIT", "FST_PARTS_LIMIT"]);

/**
 * What the form's parser threw, as the client's error: a form that is not well formed (a boundary that is
 * missing or never closed) or has more parts than an import takes is a 400; the parser's other 4xx (a
 * field named `__proto__`) stays as it is.
 */
function malformed(error: unknown): unknown {
  if (isOpenEscError(error)) return error;
  if (PART_LIMITS.has(String((error as { code?: unknown }).code))) {
    return new ValidationError([
      { field: "body", reason: "has more parts than an import takes: one file, and a few fields before it" },
    ]);
  }
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) return error;
  return new ValidationError([{ field: "body", reason: `is not well-formed ${MULTIPART}` }]);
}

function importView(result: SyncResult) {
  const safe = (text: string) => spreadsheetSafe(text);
  return {
    runId: result.runId,
    dryRun: result.dryRun,
    state: result.state,
    error: result.error,
    ...result.summary,
    // Each problem's own fields only: a problem may carry the row's ESI for the engine, never shown.
    problems: result.problems.map((p) => ({
      row: p.origin.row,
      field: safe(p.field),
      reason: safe(p.reason),
      locator: p.origin.locator === undefined ? null : safe(p.origin.locator),
    })),
    problemsTruncated: result.summary.rejected > result.problems.length,
  };
}
