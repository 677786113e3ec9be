import { SOURCE_KINDS, type SourceConfig } from "../connectors/sources/open-configured-source.ts";

/** One connector of `openesc sync`'s configuration. */
export interface ConnectorConfig {
  /** Recorded with each run; who the connector saw is remembered under it. */
  readonly name: string;
  /** The organisation (PIC) whose students the source lists. */
  readonly organisation: string;
  readonly source: SourceConfig;
  /** Days a student may be missing from the source before being ended (default 30). */
  readonly graceDays: number;
  /** Records per transaction (default 500). */
  readonly batchSize: number;
}

export interface SyncConfig {
  readonly connectors: readonly ConnectorConfig[];
}

/** A configuration that cannot be used, with the place and the reason. */
export class SyncConfigError extends Error {
  constructor(where: string, reason: string) {
    super(`${where}: ${reason}`);
    this.name = "SyncConfigError";
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Reads the JSON of `openesc sync <config.json>`, checks it whole and freezes it:
 *
 * ```json
 * { "connectors": [
 *   { "name": "sis", "organisation": "999888777", "graceDays": 30,
 *     "source": { "kind": "csv", "path": "students.csv", "delimiter": ";" } } ] }
 * ```
 *
 * A source's own options are checked by the source when it is opened.
 */
export function parseSyncConfig(text: string): SyncConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SyncConfigError("the configuration", `is not JSON (${(error as Error).message})`);
  }
  if (!isObject(json) || !Array.isArray(json["connectors"]) || json["connectors"].length === 0) {
    throw new SyncConfigError("the configuration", 'must be an object with "connectors", a non-empty list');
  }
  const names = new Set<string>();
  const connectors = json["connectors"].map((raw: unknown, i: number): ConnectorConfig => {
    const where = `connectors[${i}]`;
    if (!isObject(raw)) throw new SyncConfigError(where, "must be an object");
    const { name, organisation, source, graceDays = 30, batchSize = 500 } = raw;
    if (typeof name !== "string" || !NAME.test(name)) {
      throw new SyncConfigError(`${where}.name`, "must be 1 to 64 letters, digits, '.', '_' or '-'");
    }
    if (names.has(name)) throw new SyncConfigError(`${where}.name`, `"${name}" is named twice`);
    names.add(name);
    if (typeof organisation !== "string" || organisation.trim() === "") {
      throw new SyncConfigError(`${where}.organisation`, "must be the organisation's identifier (PIC)");
    }
    if (!isObject(source) || !(SOURCE_KINDS as readonly unknown[]).includes(source["kind"])) {
      throw new SyncConfigError(`${where}.source.kind`, `must be one of ${SOURCE_KINDS.join(", ")}`);
    }
    if (!Number.isSafeInteger(graceDays) || (graceDays as number) < 0) {
      throw new SyncConfigError(`${where}.graceDays`, "must be a whole number of days");
    }
    if (!Number.isSafeInteger(batchSize) || (batchSize as number) < 1) {
      throw new SyncConfigError(`${where}.batchSize`, "must be a whole number from 1");
    }
    return Object.freeze({
      name,
      organisation: organisation.trim(),
      source: Object.freeze({ ...source }) as SourceConfig,
      graceDays: graceDays as number,
      batchSize: batchSize as number,
    });
  });
  return Object.freeze({ connectors: Object.freeze(connectors) });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
