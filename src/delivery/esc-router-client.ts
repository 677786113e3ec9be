import type { Card } from "../domain/card.ts";
import type { MirrorOperation } from "../domain/mirror-job.ts";
import type { PersonLink } from "../domain/person.ts";
import type { OutboundHttp, OutboundResponse } from "../ports/outbound-http.ts";
import type { MirrorTarget } from "./mirror-targets.ts";

/** What a router answered: the status, and its `{code, message}` when the body was one. */
export interface RouterAnswer extends OutboundResponse {
  readonly code: string | null;
  readonly message: string | null;
}

export interface EscRouterClientOptions {
  /** Longest one call may take, connection to last byte. */
  readonly timeoutMs: number;
  readonly userAgent: string;
}

/** The longest router message kept: enough for any sentence, not for a page of HTML. */
const MAX_MESSAGE = 500;

/**
 * The write operations of the ESC Router V2 API, as a client of a production router calls them: the write
 * views (`PersonUpdateView`, `CardUpdateView`) as JSON, `Authorization: Bearer <token>`, paths under the
 * router's base URL. A call that gets no answer rejects with the port's `OutboundFailure`.
 *
 * ```ts
 * const answer = await client.send(target, "PUT", `/api/v2/cards/${escn}`, cardUpdateView(card));
 * if (answer.status === 404) await client.send(target, "POST", "/api/v2/cards", cardUpdateView(card));
 * ```
 */
export class EscRouterClient {
  readonly #http: OutboundHttp;
  readonly #options: EscRouterClientOptions;

  constructor(http: OutboundHttp, options: EscRouterClientOptions) {
    this.#http = http;
    this.#options = options;
  }

  async send(
    target: MirrorTarget,
    method: MirrorOperation,
    path: string,
    body: object | null,
  ): Promise<RouterAnswer> {
    const headers: Record<string, string> = {
      authorization: target.authorization(),
      accept: "application/json",
      "user-agent": this.#options.userAgent,
    };
    if (body !== null) headers["content-type"] = "application/json";
    const answer = await this.#http.request(method, `${target.url}${path}`, {
      headers,
      body: body === null ? null : JSON.stringify(body),
      timeoutMs: this.#options.timeoutMs,
    });
    return { ...answer, ...errorOf(answer.body) };
  }
}

/** The path of a person or card of the V2 API, or of its collection when `id` is null. */
export function routerPath(kind: "persons" | "cards", id: string | null): string {
  return id === null ? `/api/v2/${kind}` : `/api/v2/${kind}/${encodeURIComponent(id)}`;
}

/** ESC-R's `{code, message}` error body, when the body is one (a proxy's HTML page is not). */
function errorOf(body: string): { code: string | null; message: string | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { code: null, message: null };
  }
  if (typeof parsed !== "object" || parsed === null) return { code: null, message: null };
  const { code, message } = parsed as Record<string, unknown>;
  return {
    code: typeof code === "string" || typeof code === "number" ? String(code).slice(0, 100) : null,
    message: typeof message === "string" ? message.slice(0, MAX_MESSAGE) : null,
  };
}

/**
 * The person as ESC-R's `PersonUpdateView`, with only the organisation's own link: what it knows of the
 * student, never another organisation's.
 */
export function personUpdateView(esi: string, link: PersonLink): object {
  return {
    identifier: esi,
    identifierCode: "ESI",
    fullName: link.fullName,
    personOrganisationUpdateViews: [
      withoutNulls({
        organisationIdentifier: link.organisationId,
        academicLevel: link.academicLevel,
        email: link.email,
        phone: link.phone,
        fax: link.fax,
      }),
    ],
  };
}

/** The card as ESC-R's `CardUpdateView` (an INACTIVE card's reason has no field there). */
export function cardUpdateView(card: Card): object {
  return withoutNulls({
    cardNumber: card.escn,
    cardStatusType: card.status,
    cardType: card.cardType,
    issuedAt: card.issuedAt,
    expiresAt: card.expiresAt,
    issuerIdentifier: card.issuerId,
    personIdentifier: card.esi,
    displayName: card.displayName,
    processorIdentifier: card.processorId,
  });
}

/** Optional fields are left out rather than sent as null, which some clients of ESC-R mishandle. */
function withoutNulls(record: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== null));
}
