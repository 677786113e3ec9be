import type { IsoDate } from "./iso-date.ts";

/** Whether a person is a student of an organisation: the fact every verifier needs and ESC-R v2 lacks. */
export const STUDENT_STATUS_STATES = ["enrolled", "suspended", "ended"] as const;
export type StudentStatusState = (typeof STUDENT_STATUS_STATES)[number];

export interface StudentStatus {
  readonly personId: number;
  readonly esi: string;
  readonly organisationId: string;
  readonly state: StudentStatusState;
  readonly validFrom: IsoDate;
  /** Last day the status holds; null when open-ended. */
  readonly validUntil: IsoDate | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

/** Whether the status's validity window covers `today` (both ends inclusive). */
export function isInEffect(status: Pick<StudentStatus, "validFrom" | "validUntil">, today: IsoDate): boolean {
  return status.validFrom <= today && (status.validUntil === null || today <= status.validUntil);
}
