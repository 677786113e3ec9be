import type { SqlEngine } from "./sql-connection.ts";
import { SqlSourceError } from "./sql-source-error.ts";

/** Words a read statement starts with (after any opening parentheses). */
const READ_STARTS = new Set(["select", "with", "table", "values"]);
/**
 * Words that only a write needs: data-modifying statements (also inside `WITH`), `SELECT … INTO` (a new
 * table on PostgreSQL, a file or variables on MariaDB, where the read-only transaction does not stop a
 * file) and `FOR UPDATE`. A column spelt like one of them must be quoted.
 */
const WRITE_WORDS = new Set(["insert", "update", "delete", "merge", "into"]);
/** Words before `share` in a locking clause (`FOR SHARE`, `FOR KEY SHARE`, `LOCK IN SHARE MODE`). */
const LOCK_BEFORE_SHARE = new Set(["for", "key", "in"]);

type Token =
  | { readonly kind: "word"; readonly text: string }
  | { readonly kind: "identifier"; readonly text: string }
  | { readonly kind: "literal" }
  | { readonly kind: "symbol"; readonly text: string; readonly at: number };

/**
 * The first layer of the read-only guarantee: refuses, before anything is sent, what is not one read
 * statement, and returns the statement to run. Accepted: one statement (trailing semicolons allowed)
 * starting with SELECT, WITH, TABLE or VALUES, with none of the words only a write needs; or the name of a
 * view or table (`students_for_esc`, `sis.students_for_esc`), read as `SELECT * FROM` it, quoted.
 *
 * It reads the text as the engine's lexer would (strings, quoted names, comments, dollar quotes) but does
 * not parse SQL: a function with side effects passes it. The read-only transaction is the second layer,
 * and the database's own refusal of several statements in one query a third.
 */
export function readOnlyStatement(query: string, engine: SqlEngine): string {
  const all = tokens(query, engine);
  const end = all.findIndex((token) => token.kind === "symbol" && token.text === ";");
  const statement = end === -1 ? all : all.slice(0, end);
  if (end !== -1 && all.slice(end).some((token) => token.kind !== "symbol" || token.text !== ";")) {
    throw refused("must be a single statement (a semicolon is followed by more)");
  }
  if (statement.length === 0) throw refused("is empty");
  const words = statement.flatMap((token) => (token.kind === "word" ? [token.text.toLowerCase()] : []));
  const write = words.find((word) => WRITE_WORDS.has(word));
  if (write !== undefined) throw refused(`must only read: ${write.toUpperCase()} is not accepted`);
  if (words.some((word, i) => word === "share" && LOCK_BEFORE_SHARE.has(words[i - 1] ?? ""))) {
    throw refused("must only read: a locking clause (FOR SHARE, LOCK IN SHARE MODE) is not accepted");
  }
  const first = statement.find((token) => token.kind !== "symbol" || token.text !== "(");
  if (first?.kind === "word" && READ_STARTS.has(first.text.toLowerCase())) {
    const cut = all[end];
    return (cut?.kind === "symbol" ? query.slice(0, cut.at) : query).trim();
  }
  const name = qualifiedName(statement, engine);
  if (name !== null) return `SELECT * FROM ${name}`;
  throw refused("must be a SELECT (or WITH, TABLE, VALUES) statement, or the name of a view or table");
}

function refused(reason: string): SqlSourceError {
  return new SqlSourceError("not-read-only", `query ${reason}`);
}

/** `name`, `schema.name` or `db.schema.name`, each part bare or quoted, quoted for the engine; else null. */
function qualifiedName(statement: readonly Token[], engine: SqlEngine): string | null {
  if (statement.length % 2 === 0 || statement.length > 5) return null;
  const parts: string[] = [];
  for (const [i, token] of statement.entries()) {
    if (i % 2 === 1) {
      if (token.kind !== "symbol" || token.text !== ".") return null;
    } else if (token.kind === "identifier") {
      parts.push(token.text);
    } else if (token.kind === "word" && !/^[0-9]/.test(token.text)) {
      // PostgreSQL folds a bare name to lower case; quoting it as typed would name another object.
      parts.push(engine === "postgres" ? token.text.toLowerCase() : token.text);
    } else {
      return null;
    }
  }
  const quote = engine === "postgres" ? '"' : "`";
  return parts.map((part) => quote + part.split(quote).join(quote + quote) + quote).join(".");
}

const WORD_CHAR = /[\p{L}\p{N}_$]/u;
const DOLLAR_TAG = /^\$(?:[\p{L}_][\p{L}\p{N}_]*)?\$/u;

/** The query's tokens, as far as telling statements, words and names apart needs. */
function tokens(query: string, engine: SqlEngine): Token[] {
  const postgres = engine === "postgres";
  const out: Token[] = [];
  let i = 0;
  const endOfQuoted = (quote: string, backslashEscapes: boolean, what: string): number => {
    let j = i + 1;
    while (j < query.length) {
      const c = query[j];
      if (backslashEscapes && c === "\\") j += 2;
      else if (c === quote && query[j + 1] === quote) j += 2;
      else if (c === quote) return j + 1;
      else j += 1;
    }
    throw refused(`has an unterminated ${what}`);
  };
  while (i < query.length) {
    const c = query[i] as string;
    const next = query[i + 1];
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === "-" && next === "-" && (postgres || !/\S/.test(query[i + 2] ?? " "))) {
      // MariaDB reads `--` as a comment only when a space or a control character follows.
      const eol = query.indexOf("\n", i);
      i = eol === -1 ? query.length : eol + 1;
    } else if (c === "#" && !postgres) {
      const eol = query.indexOf("\n", i);
      i = eol === -1 ? query.length : eol + 1;
    } else if (c === "/" && next === "*") {
      if (!postgres && /^\/\*M?!/.test(query.slice(i, i + 4))) {
        throw refused("must not hold executable comments (/*! … */)");
      }
      i = endOfComment(query, i, postgres);
    } else if (c === "'") {
      const escapes = !postgres || /(^|[^\p{L}\p{N}_$])[eE]$/u.test(query.slice(Math.max(0, i - 2), i));
      i = endOfQuoted("'", escapes, "string");
      out.push({ kind: "literal" });
    } else if (c === '"' && postgres) {
      const end = endOfQuoted('"', false, "quoted name");
      out.push({ kind: "identifier", text: query.slice(i + 1, end - 1).replaceAll('""', '"') });
      i = end;
    } else if (c === '"') {
      i = endOfQuoted('"', true, "string");
      out.push({ kind: "literal" });
    } else if (c === "`" && !postgres) {
      const end = endOfQuoted("`", false, "quoted name");
      out.push({ kind: "identifier", text: query.slice(i + 1, end - 1).replaceAll("``", "`") });
      i = end;
    } else if (c === "$" && postgres && DOLLAR_TAG.test(query.slice(i))) {
      const tag = (DOLLAR_TAG.exec(query.slice(i)) as RegExpExecArray)[0];
      const close = query.indexOf(tag, i + tag.length);
      if (close === -1) throw refused("has an unterminated dollar-quoted string");
      i = close + tag.length;
      out.push({ kind: "literal" });
    } else if (WORD_CHAR.test(c)) {
      let j = i + 1;
      while (j < query.length && WORD_CHAR.test(query[j] as string)) j += 1;
      out.push({ kind: "word", text: query.slice(i, j) });
      i = j;
    } else {
      out.push({ kind: "symbol", text: c, at: i });
      i += 1;
    }
  }
  return out;
}

/** Past the comment opening at `start`; PostgreSQL's comments nest, MariaDB's do not. */
function endOfComment(query: string, start: number, nested: boolean): number {
  let depth = 0;
  let i = start;
  while (i < query.length) {
    if (query.startsWith("/*", i) && (nested || depth === 0)) {
      depth += 1;
      i += 2;
    } else if (query.startsWith("*/", i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  throw refused("has an unterminated comment");
}
