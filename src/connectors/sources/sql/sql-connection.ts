import { SqlSourceError } from "./sql-source-error.ts";

export type SqlEngine = "postgres" | "mariadb";

/** The URL schemes each engine accepts. */
const SCHEMES: Readonly<Record<SqlEngine, readonly string[]>> = {
  postgres: ["postgres:", "postgresql:"],
  mariadb: ["mariadb:", "mysql:"],
};
const DEFAULT_PORTS: Readonly<Record<SqlEngine, number>> = { postgres: 5432, mariadb: 3306 };

/** Where an SQL source connects, read once from its URL. */
export interface SqlConnection {
  readonly engine: SqlEngine;
  /** The URL as given, for a driver that reads URLs itself (`pg`). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly searchParams: URLSearchParams;
  /** `sql:postgres://host:5432/db`: no user, no password. */
  readonly description: string;
  /** `message` with the password masked, for anything built from a driver's words. */
  scrub(message: string): string;
}

/** Reads `postgres://user:pass@host:port/db` or `mariadb://…`; the error never repeats the URL. */
export function parseSqlConnection(engine: SqlEngine, url: string): SqlConnection {
  if (typeof engine !== "string" || !Object.hasOwn(SCHEMES, engine)) {
    throw new SqlSourceError("options", `engine must be one of ${Object.keys(SCHEMES).join(", ")}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // URL's own error carries the input, password included.
    throw new SqlSourceError(
      "options",
      `url must be a ${engine} URL (${SCHEMES[engine][0]}//host:port/database)`,
    );
  }
  if (!SCHEMES[engine].includes(parsed.protocol)) {
    throw new SqlSourceError(
      "options",
      `url must start with ${SCHEMES[engine].join("// or ")}// for ${engine}`,
    );
  }
  const database = decoded(parsed.pathname.replace(/^\//, ""));
  if (database === "" || database.includes("/")) {
    throw new SqlSourceError("options", "url must name one database: …/database");
  }
  // The MariaDB driver is given each setting, not the URL: a parameter would be silently ignored.
  const ignored = [...parsed.searchParams.keys()].filter((key) => key !== "ssl");
  if (engine === "mariadb" && ignored.length > 0) {
    throw new SqlSourceError(
      "options",
      `url: MariaDB takes only the ssl parameter, not ${ignored.join(", ")}`,
    );
  }
  if (engine === "mariadb" && ![null, "true", "false"].includes(parsed.searchParams.get("ssl"))) {
    throw new SqlSourceError("options", "url: ssl must be true or false");
  }
  const host = parsed.hostname === "" ? "localhost" : parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = parsed.port === "" ? DEFAULT_PORTS[engine] : Number(parsed.port);
  const password = decoded(parsed.password);
  const secrets = [password, parsed.password].filter((secret) => secret !== "");
  return {
    engine,
    url,
    host,
    port,
    database,
    user: decoded(parsed.username),
    password,
    searchParams: parsed.searchParams,
    description: `sql:${engine}://${host.includes(":") ? `[${host}]` : host}:${port}/${encodeURIComponent(database)}`,
    scrub: (message) => secrets.reduce((text, secret) => text.split(secret).join("***"), message),
  };
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new SqlSourceError("options", "url has a malformed %-escape");
  }
}
