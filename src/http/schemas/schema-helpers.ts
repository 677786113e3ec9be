import { Type } from "typebox";

/** Small builders the schema files share. */

/** A reference to a shared schema by its `$id`, as the validators and the API document resolve it. */
export const ref = (id: string, options: object = {}) => Type.Unsafe<unknown>({ $ref: `${id}#`, ...options });

/** Request objects of the native API refuse unknown fields. */
export const strict = { additionalProperties: false } as const;

export const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(
  schema: T,
  options: Record<string, unknown> = {},
) => Type.Union([schema, Type.Null()], options);

export const literals = (values: readonly string[], options: Record<string, unknown> = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
