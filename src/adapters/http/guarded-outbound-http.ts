import { lookup as dnsLookup } from "node:dns";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from "request-filtering-agent";
import {
  type AddressPolicy,
  addressRefusal,
  describeAddressClass,
  type IpAddressClass,
  isIpAddress,
} from "../../domain/ip-address-class.ts";
import { ipLiteral } from "../../domain/webhook-url.ts";
import {
  type OutboundAnswer,
  type OutboundExchange,
  OutboundFailure,
  type OutboundHttp,
  type OutboundMethod,
  type OutboundRequest,
  type OutboundResponse,
} from "../../ports/outbound-http.ts";

export interface GuardedOutboundHttpOptions {
  /** Let requests reach private, loopback, link-local… addresses (`OPENESC_ALLOW_PRIVATE_WEBHOOKS`). */
  readonly allowPrivateAddresses?: boolean;
  /** Most bytes of an answer's body read before the rest is dropped (default 64 KiB). */
  readonly maxResponseBytes?: number;
  /** Resolver for host names (default `dns.lookup`); every address it gives is checked before connecting. */
  readonly lookup?: LookupFunction;
  /** Sent when the caller gives no `user-agent`. */
  readonly userAgent?: string;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_LOCATION_LENGTH = 2048;

/**
 * {@link OutboundHttp} over node:http/https, guarded against server-side request forgery: an IP literal
 * is checked before anything is sent, and a host name's addresses are checked as the socket connects
 * (request-filtering-agent hooks the connection's DNS lookup), so a name that resolves to a public address
 * when the subscription is made and to 127.0.0.1 later (DNS rebinding) is still refused. The rule is
 * {@link addressRefusal}, the one `parseWebhookUrl` applies; the agent's own filter, on unless private
 * addresses are allowed, refuses only addresses that rule refuses too (it refuses all but global unicast).
 *
 * One timer bounds the whole exchange (lookup, connect, TLS, answer headers, body), so a subscriber that
 * accepts and hangs, or trickles bytes, is cut off. Keep-alive connections are pooled; {@link close} drops
 * them.
 *
 * ```ts
 * const http = new GuardedOutboundHttp({ allowPrivateAddresses: config.allowPrivateWebhooks });
 * const answer = await http.post(url, { headers, body, timeoutMs: config.webhookTimeoutMs });
 * ```
 */
export class GuardedOutboundHttp implements OutboundHttp {
  readonly #policy: AddressPolicy;
  readonly #maxResponseBytes: number;
  readonly #lookup: LookupFunction;
  readonly #userAgent: string;
  readonly #httpAgent: RequestFilteringHttpAgent;
  readonly #httpsAgent: RequestFilteringHttpsAgent;

  constructor(options: GuardedOutboundHttpOptions = {}) {
    this.#policy = { allowPrivateAddresses: options.allowPrivateAddresses ?? false };
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#lookup = guardedLookup(options.lookup ?? (dnsLookup as LookupFunction), this.#policy);
    this.#userAgent = options.userAgent ?? "OpenESC-Webhooks";
    const agentOptions = {
      keepAlive: true,
      allowPrivateIPAddress: this.#policy.allowPrivateAddresses,
      allowMetaIPAddress: this.#policy.allowPrivateAddresses,
    };
    this.#httpAgent = new RequestFilteringHttpAgent(agentOptions);
    this.#httpsAgent = new RequestFilteringHttpsAgent(agentOptions);
  }

  post(url: string, request: OutboundRequest): Promise<OutboundResponse> {
    // The body was not read: only the status and its headers count.
    return this.#send("POST", url, request, false).then(({ body: _body, ...response }) => response);
  }

  request(method: OutboundMethod, url: string, request: OutboundExchange): Promise<OutboundAnswer> {
    return this.#send(method, url, request, true);
  }

  #send(
    method: OutboundMethod,
    url: string,
    request: OutboundExchange,
    keepBody: boolean,
  ): Promise<OutboundAnswer> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.reject(new OutboundFailure("invalid-url", "the URL is not valid"));
    }
    if (target.protocol !== "http:" && target.protocol !== "https:") {
      return Promise.reject(new OutboundFailure("invalid-url", "the URL is not an http or https URL"));
    }
    const literal = ipLiteral(target.hostname);
    const refused = literal === null ? null : addressRefusal(literal, this.#policy);
    if (refused !== null) return Promise.reject(refusal(refused, "the URL names"));
    return this.#exchange(method, target, request, keepBody);
  }

  async close(): Promise<void> {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  #exchange(
    method: OutboundMethod,
    target: URL,
    request: OutboundExchange,
    keepBody: boolean,
  ): Promise<OutboundAnswer> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (outcome: OutboundAnswer | OutboundFailure) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (outcome instanceof OutboundFailure) reject(outcome);
        else resolve(outcome);
      };

      // Lower-cased, so the caller's `Content-Length` cannot end up sent twice beside ours.
      const headers: Record<string, string> = { "user-agent": this.#userAgent };
      for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
      if (request.body !== null) headers["content-length"] = String(Buffer.byteLength(request.body));

      const secure = target.protocol === "https:";
      const req = (secure ? https : http).request(target, {
        method,
        headers,
        agent: secure ? this.#httpsAgent : this.#httpAgent,
        lookup: this.#lookup,
        maxHeaderSize: MAX_HEADER_BYTES,
      });
      const timer = setTimeout(() => {
        settle(new OutboundFailure("timeout", `no complete answer within ${request.timeoutMs} ms`));
        req.destroy();
      }, request.timeoutMs);

      // Stays attached after settling: a destroyed request may still report errors, and none may escape.
      req.on("error", (error) => settle(failureOf(error)));
      req.on("response", (res: IncomingMessage) => {
        const response = answerOf(res, target);
        const kept: Buffer[] = [];
        let received = 0;
        const answer = (): OutboundAnswer => ({
          ...response,
          body: Buffer.concat(kept).subarray(0, this.#maxResponseBytes).toString("utf8"),
        });
        res.on("data", (chunk: Buffer) => {
          if (keepBody && received < this.#maxResponseBytes) kept.push(chunk);
          received += chunk.length;
          if (received > this.#maxResponseBytes) {
            // Enough: the status is what counts. Dropping the connection stops the rest.
            settle(answer());
            req.destroy();
          }
        });
        res.on("end", () => settle(answer()));
        // Either way the answer broke off after its headers (Node reports it as an "aborted" error).
        const brokenOff = (cause?: unknown) =>
          settle(
            new OutboundFailure("connection", "the connection closed before the answer was complete", {
              cause,
            }),
          );
        res.on("error", brokenOff);
        res.on("close", () => {
          if (!res.complete) brokenOff();
        });
      });
      if (request.body === null) req.end();
      else req.end(request.body);
    });
  }
}

/** Thrown from the lookup hook: a host name resolved to an address the policy refuses. */
class RefusedAddressError extends Error {
  constructor(readonly addressClass: IpAddressClass) {
    super(`the host name resolves to ${describeAddressClass(addressClass)}`);
    this.name = "RefusedAddressError";
  }
}

/** `resolve`, refusing the whole answer when any address in it is refused (each may be tried in turn). */
function guardedLookup(resolve: LookupFunction, policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const entries = typeof address === "string" ? [address] : address.map((entry) => entry.address);
      for (const entry of entries) {
        const refused = isIpAddress(entry) ? addressRefusal(entry, policy) : "reserved";
        if (refused !== null) return callback(new RefusedAddressError(refused), address, family);
      }
      callback(null, address, family);
    });
  };
}

function refusal(addressClass: IpAddressClass, subject: string): OutboundFailure {
  return new OutboundFailure(
    "address-refused",
    `${subject} ${describeAddressClass(addressClass)}, which the hub does not call`,
  );
}

function answerOf(res: IncomingMessage, target: URL): OutboundResponse {
  const status = res.statusCode ?? 0;
  const location = status >= 300 && status < 400 ? (res.headers.location ?? null) : null;
  return {
    status,
    location: location === null ? null : absoluteLocation(location, target),
    retryAfterSeconds: retryAfterSecondsOf(res.headers["retry-after"]),
  };
}

/** The redirect target as an absolute URL when it reads as one, cut to a length fit for a log line. */
function absoluteLocation(location: string, base: URL): string {
  let absolute = location;
  try {
    absolute = new URL(location, base).href;
  } catch {
    // Reported as sent: it is information for the subscriber, not something the hub follows.
  }
  return absolute.slice(0, MAX_LOCATION_LENGTH);
}

function retryAfterSecondsOf(value: string | undefined): number | null {
  if (value === undefined || !/^\s*\d{1,9}\s*$/.test(value)) return null;
  return Number(value.trim());
}

const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT|UNABLE_TO_|HOSTNAME_MISMATCH|EPROTO$)/;

const CONNECTION_MESSAGES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "the connection was refused",
  ECONNRESET: "the connection was reset",
  EPIPE: "the connection was closed while sending",
  ENOTFOUND: "the host name does not resolve",
  EAI_AGAIN: "the host name could not be resolved (DNS failure)",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
};

/** An error from node:http, the agent or the lookup hook, as a failure with a short message. */
function failureOf(error: unknown): OutboundFailure {
  if (error instanceof OutboundFailure) return error;
  if (error instanceof RefusedAddressError) {
    return refusal(error.addressClass, "the host name resolves to");
  }
  const code = (error as { code?: unknown }).code;
  const codeText = typeof code === "string" ? code : "";
  const message = error instanceof Error ? error.message : "";
  // request-filtering-agent's own refusal (a plain Error naming the address, which is not repeated).
  if (codeText === "" && / is not allowed\. /.test(message)) {
    return new OutboundFailure("address-refused", "the host's address is one the hub does not call", {
      cause: error,
    });
  }
  if (codeText === "ETIMEDOUT") {
    return new OutboundFailure("timeout", "the connection timed out", { cause: error });
  }
  if (codeText === "HPE_HEADER_OVERFLOW") {
    return new OutboundFailure(
      "response-too-large",
      `the answer's headers exceed ${MAX_HEADER_BYTES} bytes`,
      { cause: error },
    );
  }
  if (codeText.startsWith("HPE_")) {
    return new OutboundFailure("connection", "the answer is not valid HTTP", { cause: error });
  }
  if (TLS_CODE.test(codeText)) {
    return new OutboundFailure("tls", `the TLS handshake failed (${codeText})`, { cause: error });
  }
  const known = CONNECTION_MESSAGES[codeText];
  return new OutboundFailure(
    "connection",
    known ?? `the connection failed${codeText === "" ? "" : ` (${codeText})`}`,
    { cause: error },
  );
}
