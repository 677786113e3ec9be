/**
 * Academic levels, as the ESC Router defines them (`academicLevel` on a person's organisation link). The
 * keys are part of the ESC-R wire format and are matched exactly (upper case, no aliases).
 */
import { InvalidValueError } from "./errors.ts";

export const ACADEMIC_LEVELS = ["BACHELOR", "MASTER", "DOCTORATE"] as const;

export type AcademicLevel = (typeof ACADEMIC_LEVELS)[number];

/** Human labels, after the ESC Router's OpenAPI document. */
export const ACADEMIC_LEVEL_LABELS: Readonly<Record<AcademicLevel, string>> = {
  BACHELOR: "Bachelor's degree",
  MASTER: "Master's degree",
  DOCTORATE: "Doctorate",
};

/** Reads an academic level; throws `ACADEMIC_LEVEL_INVALID` listing the allowed values. */
export function parseAcademicLevel(value: unknown, field = "academicLevel"): AcademicLevel {
  if (isAcademicLevel(value)) return value;
  const allowed = `must be one of ${ACADEMIC_LEVELS.join(", ")}`;
  const reason =
    typeof value === "string" && isAcademicLevel(value.toUpperCase())
      ? `${allowed} (upper case: ${value.toUpperCase()})`
      : allowed;
  throw new InvalidValueError("ACADEMIC_LEVEL_INVALID", field, reason);
}

export function isAcademicLevel(value: unknown): value is AcademicLevel {
  return typeof value === "string" && (ACADEMIC_LEVELS as readonly string[]).includes(value);
}
