/**
 * Outbound HTTP: how the hub calls URLs it was given (webhook subscribers, the ESC Routers it mirrors to). One
 * exchange per call, bounded in time and in what it reads, never following a redirect.
 *
 * ```ts
 * try {
 *   const answer = await http.post(url, { headers, body, timeoutMs: 10_000 });
 *   if (answer.status >= 300 && answer.status < 400) log(`redirected to ${answer.location}`);
 * } catch (error) {
 *   if (error instanceof OutboundFailure) record(error.reason, error.message);
 *   else throw error;
 * }
 * ```
 */
export interface OutboundHttp {
  /**
   * Sends one POST and resolves with the answer's status once its body is read (up to a cap, then
   * discarded: a huge or garbage body does not matter, the status counts). Rejects with an
   * {@link OutboundFailure} when no status came within `timeoutMs` (connection, answer headers and body
   * together) or the exchange failed.
   */
  post(url: string, request: OutboundRequest): Promise<OutboundResponse>;
  /**
   * Sends one request of any method and resolves with the answer's status and the start of its body as
   * text (up to the same cap; an ESC Router's `{code, message}` fits), on the same terms as {@link post}.
   */
  request(method: OutboundMethod, url: string, request: OutboundExchange): Promise<OutboundAnswer>;
  /** Closes pooled connections; idempotent. Calls after `close` still work, on fresh connections. */
  close(): Promise<void>;
}

export interface OutboundRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Bound on the whole exchange, from the DNS lookup to the last byte of the answer. */
  readonly timeoutMs: number;
}

export type OutboundMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A request of {@link OutboundHttp.request}: like {@link OutboundRequest}, with no body for a null one. */
export interface OutboundExchange {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
  readonly timeoutMs: number;
}

/** An answer with the text of its body (cut at the cap; decoded as UTF-8). */
export interface OutboundAnswer extends OutboundResponse {
  readonly body: string;
}

export interface OutboundResponse {
  readonly status: number;
  /** The `Location` header of a 3xx (redirects are reported, never followed); null otherwise. */
  readonly location: string | null;
  /** `Retry-After` in seconds when the answer has one in that form (HTTP dates are ignored); else null. */
  readonly retryAfterSeconds: number | null;
}

/** Why an outbound exchange gave no status. */
export type OutboundFailureReason =
  | "timeout" // nothing, or not all of the answer, came within the time bound
  | "address-refused" // the host is, or resolves to, an address the hub does not call (SSRF guard)
  | "connection" // refused, reset, unreachable, unknown host, or not HTTP
  | "tls" // the TLS handshake failed (certificate not trusted, expired, wrong name…)
  | "invalid-url" // not an absolute http(s) URL
  | "response-too-large"; // the answer's headers exceed what the hub reads

/**
 * An exchange that gave no status. `reason` is stable (for code and metrics); `message` is short, for
 * people (shown to the subscriber as the delivery's last error), and never holds a stack trace.
 */
export class OutboundFailure extends Error {
  readonly reason: OutboundFailureReason;

  constructor(reason: OutboundFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OutboundFailure";
    this.reason = reason;
  }
}

/** Whether `value` is an {@link OutboundFailure}. */
export function isOutboundFailure(value: unknown): value is OutboundFailure {
  return value instanceof OutboundFailure;
}
