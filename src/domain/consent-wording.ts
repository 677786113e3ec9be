import type { ConsentPurpose } from "./consent.ts";
import { InvalidValueError } from "./errors.ts";
import { type IsoDate, parseIsoDate } from "./iso-date.ts";

/**
 * The text a student is shown when asked for consent, per purpose, versioned. A consent names the version
 * the student agreed to, so that what they agreed to can always be shown again: versions are only ever
 * added, never changed or removed. A new version gets a new id (the month of its publication, `yyyy-MM`,
 * with a suffix if a month has two) and is appended at the end of its purpose's list; the last one is the
 * current wording, the one institutions should show.
 */
export interface ConsentWording {
  /** Identifier of this version within its purpose, e.g. `2026-11`. */
  readonly version: string;
  /** The day this version was published. */
  readonly publishedAt: IsoDate;
  /** What the student is shown, in English. */
  readonly text: string;
}

const WITHDRAWAL =
  "I can withdraw this consent at any time through my institution; withdrawal takes effect immediately " +
  "and does not affect what was done before it.";

/** Every wording ever published, oldest first, per purpose. */
export const CONSENT_WORDINGS: { readonly [P in ConsentPurpose]: readonly ConsentWording[] } = {
  "status-sharing": [
    {
      version: "2026-11",
      publishedAt: parseIsoDate("2026-11-01"),
      text:
        "I agree that service providers that check my European Student Card, including service providers in " +
        "other countries, may learn from the European Student Card hub whether I am currently a student of my " +
        "institution, so that they can grant me student rights and discounts. They learn whether my card is " +
        "valid and whether I am a student, not my name or contact details. " +
        WITHDRAWAL,
    },
  ],
  "credential-issuance": [
    {
      version: "2026-11",
      publishedAt: parseIsoDate("2026-11-01"),
      text:
        "I agree that my institution issues my European Student Card as a signed digital credential to my " +
        "digital wallet, so that I can prove that I am a student without showing the physical card. The " +
        "credential carries my card's details and the validity of my student status. " +
        WITHDRAWAL,
    },
  ],
  "display-name-publication": [
    {
      version: "2026-11",
      publishedAt: parseIsoDate("2026-11-01"),
      text:
        "I agree that the name printed on my European Student Card is shown to anyone who checks my card " +
        "online by its number or QR code. Without this consent, such a check shows only whether the card is " +
        "valid, its dates and the institution that issued it. " +
        WITHDRAWAL,
    },
  ],
};

/** A purpose's wordings, oldest first. */
export function wordingsOf(purpose: ConsentPurpose): readonly ConsentWording[] {
  return CONSENT_WORDINGS[purpose];
}

/** The wording institutions should show now: the last one published. */
export function currentWording(purpose: ConsentPurpose): ConsentWording {
  const versions = CONSENT_WORDINGS[purpose];
  const last = versions.at(-1);
  if (!last) throw new TypeError(`consent purpose ${purpose} has no wording`);
  return last;
}

export function findWording(purpose: ConsentPurpose, version: string): ConsentWording | undefined {
  return CONSENT_WORDINGS[purpose].find((w) => w.version === version);
}

/** Reads the wording version a consent names; `CONSENT_WORDING_UNKNOWN` unless it is one of the purpose's. */
export function parseWordingVersion(
  purpose: ConsentPurpose,
  value: unknown,
  field = "wordingVersion",
): string {
  if (typeof value === "string" && findWording(purpose, value)) return value;
  const known = CONSENT_WORDINGS[purpose].map((w) => w.version).join(", ");
  throw new InvalidValueError(
    "CONSENT_WORDING_UNKNOWN",
    field,
    `is not a wording of the consent to ${purpose}; known versions: ${known}`,
  );
}
