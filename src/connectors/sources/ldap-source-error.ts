import { ResultCodeError } from "ldapts";

/** Why a directory could not be read at all. */
export type LdapFailure = "unreachable" | "timeout" | "tls" | "bind-refused" | "search-failed";

/**
 * The directory could not be read: the whole run stops (records already handed out are not a complete
 * picture, so nothing may be concluded from who is missing). The message names the server, the step and
 * the bind DN, never the password.
 */
export class LdapSourceError extends Error {
  readonly failure: LdapFailure;

  constructor(failure: LdapFailure, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "LdapSourceError";
    this.failure = failure;
  }
}

/** What a failure message may say about the source (and nothing secret). */
export interface LdapFailureContext {
  readonly url: string;
  readonly bindDn: string | null;
  readonly baseDn: string;
  readonly timeoutMs: number;
  /** Read so far, for a search stopped half-way. */
  readonly entries: number;
  readonly pages: number;
}

export type LdapStep = "StartTLS" | "bind" | "search";

/** An LDAP client's failure as one clear sentence: which server, which step, why. */
export function ldapSourceError(
  error: unknown,
  step: LdapStep,
  context: LdapFailureContext,
): LdapSourceError {
  const server = `the directory at ${context.url}`;
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
  if (error instanceof ResultCodeError) {
    const why = resultText(error);
    if (step === "bind") {
      return new LdapSourceError(
        "bind-refused",
        `${server} refused the bind as "${context.bindDn}": ${why}`,
        error,
      );
    }
    if (step === "StartTLS") return new LdapSourceError("tls", `${server} refused StartTLS: ${why}`, error);
    const read = `after ${context.entries} entries in ${context.pages} pages`;
    // OpenLDAP caps a paged search's total at the account's size limit (500 by default) unless told otherwise.
    const hint =
      error.code === 4 || error.code === 11
        ? "; the bind account needs a higher limit for paged searches (OpenLDAP: size.prtotal)"
        : error.code === 32 && context.bindDn === null
          ? "; an anonymous search may not see it (give bindDn)"
          : "";
    return new LdapSourceError(
      "search-failed",
      `${server} stopped the search under "${context.baseDn}" ${read}: ${why}${hint}`,
      error,
    );
  }
  if (/timed out|timeout/i.test(message) || code === "ETIMEDOUT") {
    return new LdapSourceError(
      "timeout",
      `${server} did not answer the ${step} within ${context.timeoutMs} ms`,
      error,
    );
  }
  if (typeof code === "string" && (/CERT|SELF_SIGNED|UNABLE_TO_/.test(code) || code.startsWith("ERR_TLS"))) {
    return new LdapSourceError(
      "tls",
      `${server}: TLS failed (${code}: ${message}); is its CA trusted (tls.ca)?`,
      error,
    );
  }
  return new LdapSourceError("unreachable", `cannot reach ${server} (${step}): ${message}`, error);
}

/**
 * An LDAP result in words: its name and code, with the server's diagnostic when it sent one
 * (`invalid credentials (LDAP result 49)`, `size limit exceeded (LDAP result 4)`). ldapts leaves the message
 * empty when the server gave no diagnostic, so the name comes from the error's class.
 */
function resultText(error: ResultCodeError): string {
  const name = error.name
    .replace(/Error$/, "")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase();
  const known = name !== "" && name !== "result code";
  const diagnostic = error.message.replace(/\s*Code: 0x[0-9a-f]+$/i, "").trim();
  if (!known) return `${diagnostic || "error"} (LDAP result ${error.code})`;
  const extra = diagnostic !== "" && !diagnostic.toLowerCase().startsWith(name) ? `: ${diagnostic}` : "";
  return `${name} (LDAP result ${error.code}${extra})`;
}
