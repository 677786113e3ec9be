import {
  hasControlCharacters,
  RECORD_FIELDS,
  type RecordField,
  type RecordFields,
  recordFromFields,
} from "../record-fields.ts";
import type { RecordOrigin, SourceItem } from "../source-record.ts";
import { UNDECODABLE } from "./text-encoding.ts";

/** Whether a value read from a file holds a control character, a line break or an undecodable byte. */
export function isGarbled(value: string): boolean {
  return hasControlCharacters(value) || value.includes(UNDECODABLE);
}

/**
 * {@link recordFromFields} (which refuses control characters and line breaks in any field), after the
 * check only a file needs: no byte the file's encoding could not decode.
 */
export function checkedRecord(
  fields: RecordFields,
  origin: RecordOrigin,
  rename: (field: RecordField) => string,
): SourceItem {
  for (const field of RECORD_FIELDS) {
    const value = fields[field];
    if (typeof value !== "string") continue;
    if (value.includes(UNDECODABLE)) {
      return {
        problem: {
          origin,
          field: rename(field),
          reason: "has bytes that are not text in the file's encoding",
        },
      };
    }
  }
  return recordFromFields(fields, origin, rename);
}
