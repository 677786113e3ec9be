import { SOURCE_KINDS, type SourceConfig } from "./sources/open-configured-source.ts";
import { UPLOAD_CONNECTOR } from "./upload-connector.ts";

/** One connector of a sync configuration (`openesc sync <file>`, `OPENESC_SYNC_CONFIG`). */
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
  /**
   * Minutes between two runs when the hub runs the connector on a schedule (`OPENESC_SYNC_CONFIG`); null
   * when only `openesc sync` runs it.
   */
  readonly everyMinutes: number | null;
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
/** The longest schedule: a week, as for the retention job. */
export const MAX_EVERY_MINUTES = 10_080;

/**
 * Reads the JSON of `openesc sync <config.json>` (and of `OPENESC_SYNC_CONFIG`), checks it whole and
 * freezes it:
 *
 * ```json
 * { "connectors": [
 *   { "name": "sis", "organisation": "999888777", "graceDays": 30, "everyMinutes": 60,
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
    // The parser's message may quote the text, secrets included: only where it broke is said.
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new SyncConfigError(
      "the configuration",
      `is not JSON${at === undefined ? "" : ` (at character ${at})`}`,
    );
  }
  if (!isObject(json) || !Array.isArray(json["connectors"]) || json["connectors"].length === 0) {
    throw new SyncConfigError("the configuration", 'must be an object with "connectors", a non-empty list');
  }
  const names = new Set<string>();
  const connectors = json["connectors"].map((raw: unknown, i: number): ConnectorConfig => {
    const where = `connectors[${i}]`;
    if (!isObject(raw)) throw new SyncConfigError(where, "must be an object");
    const { name, organisation, source, graceDays = 30, batchSize = 500, everyMinutes = null } = raw;
    if (typeof name !== "string" || !NAME.test(name)) {
      throw new SyncConfigError(`${where}.name`, "must be 1 to 64 letters, digits, '.', '_' or '-'");
    }
    if (name === UPLOAD_CONNECTOR) {
      throw new SyncConfigError(`${where}.name`, `"${name}" is the name of the imports uploaded to the API`);
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
    if (
      everyMinutes !== null &&
      (!Number.isSafeInteger(everyMinutes) ||
        (everyMinutes as number) < 1 ||
        (everyMinutes as number) > MAX_EVERY_MINUTES)
    ) {
      throw new SyncConfigError(
        `${where}.everyMinutes`,
        `must be a whole number of minutes from 1 to ${MAX_EVERY_MINUTES}`,
      );
    }
    return Object.freeze({
      name,
      organisation: organisation.trim(),
      source: Object.freeze({ ...source }) as SourceConfig,
      graceDays: graceDays as number,
      batchSize: batchSize as number,
      everyMinutes: everyMinutes as number | null,
    });
  });
  return Object.freeze({ connectors: Object.freeze(connectors) });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
