/**
 * The ESC Routers the hub mirrors organisations to, read once at start-up from a JSON array given inline
 * (`OPENESC_MIRRORS`) or in an owner-only file (`OPENESC_MIRRORS_FILE`), since it holds the routers' tokens:
 *
 * ```json
 * [{ "organisation": "999888777", "url": "https://esc-router.example/esc-rest", "token": "…" }]
 * ```
 *
 * A token never leaves a {@link MirrorTarget} except in the `Authorization` header it makes: the target
 * prints its token as `(set)` in `JSON.stringify` and `util.inspect`, and no message names it.
 */
import { ConfigError } from "../config-error.ts";
import { readOwnerOnlyFile } from "../owner-only-file.ts";

type Env = Readonly<Record<string, string | undefined>>;

const FIELDS = ["organisation", "url", "token"] as const;
const MAX_TOKEN_LENGTH = 4096;

/** One organisation's mirror: where its persons and cards go, and the token the router gave it. */
export class MirrorTarget {
  /** The organisation whose persons and cards are pushed (the router knows it by the same identifier). */
  readonly organisationId: string;
  /** The router's base URL, up to and with its base path (`…/esc-rest`), no trailing slash. */
  readonly url: string;
  readonly #token: string;

  constructor(organisationId: string, url: string, token: string) {
    this.organisationId = organisationId;
    this.url = url;
    this.#token = token;
    Object.freeze(this);
  }

  /** The `Authorization` header value of every call to the router. */
  authorization(): string {
    return `Bearer ${this.#token}`;
  }

  toJSON(): object {
    return { organisation: this.organisationId, url: this.url, token: "(set)" };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `MirrorTarget ${JSON.stringify(this.toJSON())}`;
  }
}

/**
 * The mirrors of the configuration: from `inlineVariable`, or from the file `fileVariable` names (one of
 * them at most); none when neither is set. Throws {@link ConfigError} naming the variable and the entry at
 * fault, never a token.
 */
export function mirrorTargetsOf(env: Env, inlineVariable: string, fileVariable: string): MirrorTarget[] {
  const inline = present(env[inlineVariable]);
  const file = present(env[fileVariable]);
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(inlineVariable, `and ${fileVariable} are both set; set only one of them`);
  }
  if (inline !== undefined) return parseTargets(inline, inlineVariable);
  if (file !== undefined) return parseTargets(readOwnerOnlyFile(file, fileVariable), fileVariable);
  return [];
}

function present(raw: string | undefined): string | undefined {
  return raw === undefined || raw === "" ? undefined : raw;
}

function parseTargets(text: string, variable: string): MirrorTarget[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The text holds tokens: say what is wrong, not where.
    throw new ConfigError(variable, "must be a JSON array of {organisation, url, token} objects");
  }
  if (!Array.isArray(parsed)) {
    throw new ConfigError(variable, "must be a JSON array of {organisation, url, token} objects");
  }
  const seen = new Set<string>();
  return parsed.map((entry: unknown, index) => {
    const target = targetOf(entry, `${variable} entry ${index + 1}`);
    if (seen.has(target.organisationId)) {
      throw new ConfigError(variable, `names the organisation ${target.organisationId} twice`);
    }
    seen.add(target.organisationId);
    return target;
  });
}

function targetOf(entry: unknown, where: string): MirrorTarget {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new ConfigError(where, "must be an object {organisation, url, token}");
  }
  const record = entry as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(
      where,
      `has fields it does not know: ${unknown.join(", ")} (known: ${FIELDS.join(", ")})`,
    );
  }
  const { organisation, url, token } = record;
  if (typeof organisation !== "string" || !/^[A-Za-z0-9._-]{1,100}$/.test(organisation)) {
    throw new ConfigError(where, "organisation must be the organisation's identifier at the hub (its PIC)");
  }
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new ConfigError(
      where,
      `token must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`,
    );
  }
  // It goes into a header: a control character or a space would break it, or split it.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(where, "token must be printable ASCII without spaces");
  }
  return new MirrorTarget(organisation, routerUrlOf(url, where), token);
}

function routerUrlOf(raw: unknown, where: string): string {
  const shape =
    "url must be the router's absolute http(s) base URL, such as https://esc-router.example/esc-rest";
  if (typeof raw !== "string") throw new ConfigError(where, shape);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(where, shape);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(where, shape);
  if (url.username || url.password) {
    throw new ConfigError(where, "url must not carry a user name or password (the token authenticates)");
  }
  if (/[?#]/.test(url.href)) throw new ConfigError(where, "url must not carry a query or a fragment");
  return url.href.replace(/\/+$/, "");
}
