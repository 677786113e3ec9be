import { Type } from "typebox";
import { SOURCE_KINDS } from "../../connectors/sources/open-configured-source.ts";
import { data } from "./data-annotation.ts";
import { literals, nullable, ref } from "./schema-helpers.ts";

/** Schemas of imports and connectors (`/v1/imports`, `/v1/connectors`). */

const run = (description: string, extra: object = {}) => ({
  description,
  ...extra,
  ...data("connectorRun.record"),
});
const count = (what: string) => Type.Integer({ minimum: 0, ...run(what) });

/** A run's counts, as the record of a run and the answer to an upload both give them. */
const counts = {
  rows: count("Items read: records and rows refused alike"),
  created: count("Records of students new to the organisation"),
  updated: count("Records that changed something"),
  unchanged: count("Records already as the hub holds them"),
  missing: count("Students the connector found before and not this time (never for an upload)"),
  ended: count("Students whose status was ended after the grace period (never for an upload)"),
  rejected: count("Rows refused, each with a problem"),
};

export const ConnectorRun = Type.Object(
  {
    id: Type.Integer(run("The run's number")),
    connector: Type.String(run("The connector's name; `upload` for a file sent to POST /v1/imports")),
    source: Type.String(
      run("What it read: `upload:csv`, `csv:students.csv`, `ldap://host/base`, `sql:postgres://host/db`"),
    ),
    state: literals(
      ["running", "completed", "failed"],
      run("`running` until it ends; a run whose process died stays `running`"),
    ),
    startedAt: Type.String({ format: "date-time", ...run("When it started") }),
    finishedAt: nullable(Type.String({ format: "date-time" }), run("When it ended; null while running")),
    ...counts,
    error: nullable(Type.String(), run("Why it failed (never a secret of the source); null otherwise")),
  },
  { $id: "ConnectorRun", description: "One run of a connector or of an upload: counts only, never a row" },
);

const outcome = (description: string, extra: object = {}) => ({
  description,
  ...extra,
  ...data("upload.outcome"),
});

export const ImportResult = Type.Object(
  {
    runId: nullable(
      Type.Integer(),
      run("The run's number (GET /v1/connectors/runs/{id}); null for a dry run, which records nothing"),
    ),
    dryRun: Type.Boolean(outcome("Whether it only compared: nothing was written")),
    state: literals(
      ["completed", "failed"],
      run("`failed` when the file broke off or the store failed: the batches before stay written"),
    ),
    error: nullable(Type.String(), run("Why it failed; null when it completed")),
    ...counts,
    problems: Type.Array(
      Type.Object({
        row: Type.Integer(
          outcome("The data row (a CSV's, from 1 after the header) or line; 0 for the header"),
        ),
        field: Type.String(outcome("The column or the JSON pointer at fault; empty for the row as a whole")),
        reason: Type.String(outcome("Why: the rule broken")),
        locator: nullable(Type.String(), outcome("Where, beyond the row: `header`, `line 7`")),
      }),
      outcome("The first 1,000 rows refused, in file order"),
    ),
    problemsTruncated: Type.Boolean(outcome("Whether more rows were refused than `problems` lists")),
  },
  { $id: "ImportResult", description: "What an upload did" },
);

export const Connector = Type.Object(
  {
    name: Type.String(configured("The connector's name, which its runs are recorded under")),
    source: literals(SOURCE_KINDS, configured("The kind of its source")),
    everyMinutes: nullable(
      Type.Integer({ minimum: 1 }),
      configured("Minutes between two runs; null when the hub does not run it (only `openesc sync` does)"),
    ),
    graceDays: Type.Integer(
      configured("Days a student may be missing from the source before their status is ended"),
    ),
    lastRun: nullable(ref("ConnectorRun"), run("Its latest run, running or ended; null before the first")),
  },
  { $id: "Connector", description: "A connector of the hub's sync configuration (OPENESC_SYNC_CONFIG)" },
);

function configured(description: string) {
  return { description, ...data("connector.configuration") };
}

export const CONNECTOR_SCHEMAS = [ConnectorRun, ImportResult, Connector];
