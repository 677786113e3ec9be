import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import type { FastifyInstance } from "fastify";
import { DATA_KEYWORD } from "../schemas/data-annotation.ts";

/**
 * Two validators, on purpose. Bodies are checked as sent: no type coercion ("12" stays a string and
 * fails where a number is due) and no silent removal of unknown fields, so the native API can reject
 * them (its schemas say `additionalProperties: false`) while the ESC-R part, whose schemas do not,
 * ignores them as the original does. Query strings and path parameters are text by nature, so there
 * numbers are coerced.
 */
export function installValidators(app: FastifyInstance, schemas: readonly object[]): void {
  const make = (coerceTypes: boolean) => {
    const ajv = new Ajv({
      allErrors: true,
      coerceTypes,
      useDefaults: true,
      removeAdditional: false,
      strict: false,
    });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    ajv.addKeyword({ keyword: "example" });
    // Names a response property's entry in the data map; an annotation, checked at start-up, not per request.
    ajv.addKeyword({ keyword: DATA_KEYWORD, schemaType: "string" });
    for (const schema of schemas) ajv.addSchema(schema);
    return ajv;
  };
  const bodies = make(false);
  const parameters = make(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === "body" ? bodies : parameters).compile(schema as object),
  );
}
