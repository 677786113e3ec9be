import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import {
  type ErrorCode,
  type ErrorKind,
  type FieldIssue,
  isOpenEscError,
  OpenEscError,
  ValidationError,
} from "../../domain/errors.ts";

/** The one place where a failure kind becomes an HTTP status. */
export const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  "not-found": 404,
  "not-acceptable": 406,
  conflict: 409,
  precondition: 412,
  "too-large": 413,
  "unsupported-media": 415,
  unavailable: 503,
  internal: 500,
};

const TITLES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  406: "Not Acceptable",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The ESC-R compatible part answers `{code, message}`; everything else RFC 9457 problem details. */
export function isEscRouterPath(url: string): boolean {
  return url.startsWith("/esc-rest/");
}

/** Turns whatever was thrown into a client-facing error; anything unknown is a bug and stays opaque. */
export function toOpenEscError(error: unknown): OpenEscError | undefined {
  if (isOpenEscError(error)) return error;
  const fastifyError = error as Partial<FastifyError> & {
    validation?: unknown[];
    validationContext?: string;
  };
  if (Array.isArray(fastifyError.validation)) {
    return new ValidationError(
      fastifyError.validation.map((e) =>
        ajvIssue(e as AjvLikeError, fastifyError.validationContext ?? "body"),
      ),
    );
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new OpenEscError("INVALID_JSON", `body: ${fastifyError.message ?? "is not valid JSON"}`, {
        issues: [{ field: "body", reason: "is not valid JSON" }],
      });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new OpenEscError("BODY_TOO_LARGE", "body: is larger than the hub accepts", {
        issues: [{ field: "body", reason: "too large" }],
      });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new OpenEscError("MEDIA_TYPE_UNSUPPORTED", "body: send application/json", {
        issues: [{ field: "content-type", reason: "must be application/json" }],
      });
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ValidationError([
        { field: "content-length", reason: "does not match the size of the body" },
      ]);
    // Raised by the router, before any route: the path is the field at fault.
    case "FST_ERR_BAD_URL":
      return new ValidationError([
        { field: "path", reason: "has a %-escape that does not decode to UTF-8 text" },
      ]);
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new ValidationError([{ field: "path", reason: "has a segment longer than the hub accepts" }]);
  }
  // JSON.parse failures that reach us outside Fastify's own parser codes are body problems…
  if (fastifyError instanceof SyntaxError) {
    return new OpenEscError("INVALID_JSON", "body: is not valid JSON", {
      issues: [{ field: "body", reason: "is not valid JSON" }],
    });
  }
  // …while any other 400 from the framework or a plugin is a request problem we cannot pin to a field.
  if (fastifyError.statusCode === 400) {
    return new ValidationError([{ field: "request", reason: fastifyError.message ?? "is malformed" }]);
  }
  // Plugins (the static files of the reference pages) fail with HTTP errors of their own, e.g. a 416 for
  // an unsatisfiable Range or a 403 for a path outside their root: a 4xx there is the client's, not a bug.
  const status = fastifyError.statusCode ?? (error as { status?: unknown } | null)?.status;
  if (typeof status === "number" && status > 400 && status < 500) {
    const code = CODE_OF_CLIENT_STATUS[status];
    if (code) return new OpenEscError(code, fastifyError.message || "the request cannot be served");
    return new ValidationError([
      { field: status === 416 ? "range" : "request", reason: fastifyError.message || "cannot be served" },
    ]);
  }
  return undefined;
}

const CODE_OF_CLIENT_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  406: "NOT_ACCEPTABLE",
  412: "VERSION_MISMATCH",
  413: "BODY_TOO_LARGE",
  415: "MEDIA_TYPE_UNSUPPORTED",
};

interface AjvLikeError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function ajvIssue(error: AjvLikeError, context: string): FieldIssue {
  const base = (error.instancePath ?? "").replace(/~1/g, "/").replace(/~0/g, "~");
  const params = error.params ?? {};
  let field = base;
  let reason = error.message ?? "is not valid";
  if (error.keyword === "required" && typeof params["missingProperty"] === "string") {
    field = `${base}/${params["missingProperty"]}`;
    reason = "is required";
  } else if (error.keyword === "additionalProperties" && typeof params["additionalProperty"] === "string") {
    field = `${base}/${params["additionalProperty"]}`;
    reason = "is not a known field";
  } else if (error.keyword === "anyOf" || error.keyword === "union") {
    reason = "has the wrong type or value";
  } else if (error.keyword === "const" && params["allowedValue"] !== undefined) {
    reason = `must be ${JSON.stringify(params["allowedValue"])}`;
  }
  if (context === "body") return { field: field || "body", reason };
  return { field: field.replace(/^\//, "") || context, reason };
}

/** ESC-R clients read field names as `a.b[0].c`, not JSON pointers. */
function escField(field: string): string {
  return field
    .replace(/^\//, "")
    .replace(/\/(\d+)(?=\/|$)/g, "[$1]")
    .replace(/\//g, ".");
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: OpenEscError): FastifyReply {
  const status = STATUS_OF_KIND[error.kind];
  if (status === 401) reply.header("www-authenticate", 'Bearer realm="openesc"');
  if (status === 503) reply.header("retry-after", "5");
  if (isEscRouterPath(request.url)) {
    const message =
      error.issues.length > 0
        ? error.issues.map((i) => `${escField(i.field)}: ${i.reason}`).join("; ")
        : error.message;
    return reply
      .code(status)
      .type("application/json; charset=utf-8")
      .send(JSON.stringify({ code: error.code, message }));
  }
  const problem = {
    type: `urn:openesc:problem:${error.code}`,
    title: TITLES[status] ?? "Error",
    status,
    detail: error.message,
    code: error.code,
    ...(error.issues.length > 0 ? { errors: error.issues } : {}),
  };
  return reply.code(status).type("application/problem+json; charset=utf-8").send(JSON.stringify(problem));
}

export function sendInternalError(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const message = "an unexpected error occurred; it has been logged";
  if (isEscRouterPath(request.url)) {
    return reply
      .code(500)
      .type("application/json; charset=utf-8")
      .send(JSON.stringify({ code: "INTERNAL_ERROR", message }));
  }
  return reply
    .code(500)
    .type("application/problem+json; charset=utf-8")
    .send(
      JSON.stringify({
        type: "about:blank",
        title: "Internal Server Error",
        status: 500,
        detail: message,
        code: "INTERNAL_ERROR",
      }),
    );
}
