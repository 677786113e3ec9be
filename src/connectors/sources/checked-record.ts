import { RECORD_FIELDS, type RecordField, type RecordFields, recordFromFields } from "../record-fields.ts";
import type { RecordOrigin, SourceItem } from "../source-record.ts";
import { UNDECODABLE } from "./text-encoding.ts";

/**
 * Control characters, line breaks included, tab excepted: no field of a record is multi-line text, and a
 * line break inside a quoted CSV value or a JSON string is a copy-paste accident, not a name.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** Whether a value read from a file holds a control character, a line break or an undecodable byte. */
export function isGarbled(value: string): boolean {
  return CONTROL.test(value) || value.includes(UNDECODABLE);
}

/**
 * {@link recordFromFields}, after the checks every file source makes on the text it read: no control
 * characters or line breaks in any field, and no byte the file's encoding could not decode.
 */
export function checkedRecord(
  fields: RecordFields,
  origin: RecordOrigin,
  rename: (field: RecordField) => string,
): SourceItem {
  for (const field of RECORD_FIELDS) {
    const value = fields[field];
    if (typeof value !== "string") continue;
    if (CONTROL.test(value)) {
      return {
        problem: {
          origin,
          field: rename(field),
          reason: "must not contain control characters or line breaks",
        },
      };
    }
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
