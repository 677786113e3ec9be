import { isAbsolute, resolve } from "node:path";
import type { Source } from "../source-record.ts";
import { FILE_FORMATS, type FileFormat, openSource } from "./open-file-source.ts";

export const SOURCE_KINDS = ["csv", "jsonl", "ldap", "sql"] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** A source as a sync configuration names it: its kind and that kind's options (`path` for files). */
export interface SourceConfig {
  readonly kind: SourceKind;
  readonly [option: string]: unknown;
}

/** A source that cannot be opened as configured: a wrong option, or a kind this installation lacks. */
export class SourceConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SourceConfigError";
  }
}

/** What the modules of the directory and database sources export: a class taking its options. */
type SourceClass = new (options: Record<string, unknown>) => Source;

/** The module and export of each kind loaded on demand. */
const LAZY_SOURCES: Readonly<Record<"ldap" | "sql", { module: string; name: string }>> = {
  ldap: { module: "./ldap-source.ts", name: "LdapSource" },
  sql: { module: "./sql-source.ts", name: "SqlSource" },
};

/**
 * Opens the source a sync configuration describes. Files (`csv`, `jsonl`) take `path`, relative to
 * `baseDir` (the configuration's folder); the directory and database sources are loaded only when a
 * connector uses them, so that one whose module (or driver) is missing fails only that connector.
 *
 * ```ts
 * const source = await openConfiguredSource({ kind: "csv", path: "students.csv", delimiter: ";" }, "/etc/openesc");
 * ```
 */
export async function openConfiguredSource(config: SourceConfig, baseDir = process.cwd()): Promise<Source> {
  const { kind, ...options } = config;
  if ((FILE_FORMATS as readonly string[]).includes(kind)) {
    const { path, ...rest } = options;
    if (typeof path !== "string" || path === "") {
      throw new SourceConfigError(`a ${kind} source needs "path", the file to read`);
    }
    const file = isAbsolute(path) ? path : resolve(baseDir, path);
    return openSource(file, kind as FileFormat, kind === "csv" ? rest : {});
  }
  const lazy = LAZY_SOURCES[kind as keyof typeof LAZY_SOURCES];
  if (!lazy)
    throw new SourceConfigError(`unknown source kind "${String(kind)}": one of ${SOURCE_KINDS.join(", ")}`);
  let loaded: Record<string, unknown>;
  try {
    // A specifier in a variable: the module may not be part of this installation.
    const specifier = new URL(lazy.module, import.meta.url).href;
    loaded = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new SourceConfigError(`${kind} sources are not available yet in this installation`, {
      cause: error,
    });
  }
  const SourceType = loaded[lazy.name];
  if (typeof SourceType !== "function") {
    throw new SourceConfigError(`${kind} sources are not available yet in this installation`);
  }
  try {
    return new (SourceType as SourceClass)(options);
  } catch (error) {
    throw new SourceConfigError(
      `the ${kind} source cannot be set up: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
