import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Card, InactiveReason } from "../../src/domain/card.ts";
import {
  cardVerdict,
  isExpired,
  publicCardStatus,
  VERDICT_STATUS_LIST_VALUE,
  type Verdict,
} from "../../src/domain/card-verdict.ts";
import { type IsoDate, parseIsoDate } from "../../src/domain/iso-date.ts";
import type { Organisation } from "../../src/domain/organisation.ts";
import type { StudentStatus, StudentStatusState } from "../../src/domain/student-status.ts";

const d = (text: string): IsoDate => parseIsoDate(text);

const TODAY = d("2026-10-15");
const UNIVERSITY = "999888777";
const OTHER_UNIVERSITY = "111222333";
const STUDENT_SERVICE = "555666777";
const UNRELATED = "444444444";

type VerdictCard = Pick<Card, "status" | "inactiveReason" | "expiresAt" | "issuerId">;
type Issuer = Pick<Organisation, "id" | "serves">;
type Status = Pick<StudentStatus, "organisationId" | "state" | "validFrom" | "validUntil">;

const university: Issuer = { id: UNIVERSITY, serves: [] };
const studentService: Issuer = { id: STUDENT_SERVICE, serves: [UNIVERSITY, OTHER_UNIVERSITY] };

function card(overrides: Partial<VerdictCard> = {}): VerdictCard {
  return {
    status: "ACTIVE",
    inactiveReason: null,
    expiresAt: d("2027-08-31"),
    issuerId: UNIVERSITY,
    ...overrides,
  };
}

function inactive(reason: InactiveReason, issuerId = UNIVERSITY): VerdictCard {
  return card({ status: "INACTIVE", inactiveReason: reason, issuerId });
}

function status(
  state: StudentStatusState,
  organisationId = UNIVERSITY,
  validFrom = "2026-09-01",
  validUntil: string | null = "2027-08-31",
): Status {
  return {
    organisationId,
    state,
    validFrom: d(validFrom),
    validUntil: validUntil === null ? null : d(validUntil),
  };
}

interface Row {
  readonly name: string;
  readonly card: VerdictCard;
  readonly issuer: Issuer;
  readonly statuses: readonly Status[];
  readonly expected: Verdict;
}

const ROWS: readonly Row[] = [
  // valid
  {
    name: "ACTIVE card, holder enrolled at the issuer today",
    card: card(),
    issuer: university,
    statuses: [status("enrolled")],
    expected: "valid",
  },
  {
    name: "ACTIVE card, enrolled with an open-ended status",
    card: card(),
    issuer: university,
    statuses: [status("enrolled", UNIVERSITY, "2020-01-01", null)],
    expected: "valid",
  },
  {
    name: "ACTIVE card, status starts today",
    card: card(),
    issuer: university,
    statuses: [status("enrolled", UNIVERSITY, "2026-10-15", "2027-08-31")],
    expected: "valid",
  },
  {
    name: "ACTIVE card, status ends today (last day included)",
    card: card(),
    issuer: university,
    statuses: [status("enrolled", UNIVERSITY, "2026-09-01", "2026-10-15")],
    expected: "valid",
  },
  {
    name: "student-service card, holder enrolled at an institution it serves",
    card: card({ issuerId: STUDENT_SERVICE }),
    issuer: studentService,
    statuses: [status("enrolled", OTHER_UNIVERSITY)],
    expected: "valid",
  },
  {
    name: "student-service card, holder enrolled at the student service itself",
    card: card({ issuerId: STUDENT_SERVICE }),
    issuer: studentService,
    statuses: [status("enrolled", STUDENT_SERVICE)],
    expected: "valid",
  },
  {
    name: "enrolled at the issuer, ended elsewhere: the issuer's status decides",
    card: card(),
    issuer: university,
    statuses: [status("ended", UNRELATED), status("enrolled")],
    expected: "valid",
  },
  {
    name: "card valid on its last day",
    card: card({ expiresAt: TODAY }),
    issuer: university,
    statuses: [status("enrolled")],
    expected: "valid",
  },

  // suspended
  {
    name: "INACTIVE suspended card, holder enrolled",
    card: inactive("suspended"),
    issuer: university,
    statuses: [status("enrolled")],
    expected: "suspended",
  },
  {
    name: "INACTIVE suspended card, holder's status suspended too",
    card: inactive("suspended"),
    issuer: university,
    statuses: [status("suspended")],
    expected: "suspended",
  },
  {
    name: "ACTIVE card, holder's status at the issuer suspended",
    card: card(),
    issuer: university,
    statuses: [status("suspended")],
    expected: "suspended",
  },
  {
    name: "student-service card, holder suspended at a served institution",
    card: card({ issuerId: STUDENT_SERVICE }),
    issuer: studentService,
    statuses: [status("suspended", UNIVERSITY)],
    expected: "suspended",
  },

  // invalid
  {
    name: "no status at all",
    card: card(),
    issuer: university,
    statuses: [],
    expected: "invalid",
  },
  {
    name: "status ended",
    card: card(),
    issuer: university,
    statuses: [status("ended")],
    expected: "invalid",
  },
  {
    name: "enrolled only at another, unrelated organisation",
    card: card(),
    issuer: university,
    statuses: [status("enrolled", UNRELATED)],
    expected: "invalid",
  },
  {
    name: "suspended only at another, unrelated organisation",
    card: card(),
    issuer: university,
    statuses: [status("suspended", UNRELATED)],
    expected: "invalid",
  },
  {
    name: "student-service card, enrolled at an institution it does not serve",
    card: card({ issuerId: STUDENT_SERVICE }),
    issuer: studentService,
    statuses: [status("enrolled", UNRELATED)],
    expected: "invalid",
  },
  {
    name: "a university's card does not borrow the status at a student service",
    card: card(),
    issuer: university,
    statuses: [status("enrolled", STUDENT_SERVICE)],
    expected: "invalid",
  },
  {
    name: "status not yet in effect (starts tomorrow)",
    card: card(),
    issuer: university,
    statuses: [status("enrolled", UNIVERSITY, "2026-10-16", "2027-08-31")],
    expected: "invalid",
  },
  {
    name: "status ended yesterday",
    card: card(),
    issuer: university,
    statuses: [status("enrolled", UNIVERSITY, "2026-09-01", "2026-10-14")],
    expected: "invalid",
  },
  {
    name: "suspension ended yesterday, no other status",
    card: card(),
    issuer: university,
    statuses: [status("suspended", UNIVERSITY, "2026-09-01", "2026-10-14")],
    expected: "invalid",
  },
  {
    name: "card expired yesterday, holder enrolled",
    card: card({ expiresAt: d("2026-10-14") }),
    issuer: university,
    statuses: [status("enrolled")],
    expected: "invalid",
  },
  {
    name: "card expired and suspended: time dominates",
    card: { ...inactive("suspended"), expiresAt: d("2026-10-14") },
    issuer: university,
    statuses: [status("suspended")],
    expected: "invalid",
  },
  {
    name: "INACTIVE suspended card, holder has no status",
    card: inactive("suspended"),
    issuer: university,
    statuses: [],
    expected: "invalid",
  },
  {
    name: "INACTIVE suspended card, holder's status ended",
    card: inactive("suspended"),
    issuer: university,
    statuses: [status("ended")],
    expected: "invalid",
  },
  ...(["lost", "stolen", "replaced", "damaged", "withdrawn", "unspecified"] as const).flatMap(
    (reason): Row[] => [
      {
        name: `INACTIVE ${reason}, holder enrolled`,
        card: inactive(reason),
        issuer: university,
        statuses: [status("enrolled")],
        expected: "invalid",
      },
      {
        name: `INACTIVE ${reason}, holder suspended`,
        card: inactive(reason),
        issuer: university,
        statuses: [status("suspended")],
        expected: "invalid",
      },
    ],
  ),
];

describe("cardVerdict: the state model as a table", () => {
  for (const row of ROWS) {
    it(`${row.name} → ${row.expected}`, () => {
      assert.equal(cardVerdict(row.card, row.issuer, row.statuses, TODAY), row.expected);
    });
  }

  it("does not depend on the order of the holder's statuses", () => {
    for (const row of ROWS) {
      const reversed = [...row.statuses].reverse();
      assert.equal(cardVerdict(row.card, row.issuer, reversed, TODAY), row.expected, row.name);
    }
  });
});

describe("expiry at midnight", () => {
  const expiring = card({ expiresAt: d("2027-08-31") });
  const enrolledOpenEnded = [status("enrolled", UNIVERSITY, "2026-09-01", null)];

  it("a card is valid and ACTIVE through its expiresAt day", () => {
    assert.equal(isExpired(expiring, d("2027-08-31")), false);
    assert.equal(publicCardStatus(expiring, d("2027-08-31")), "ACTIVE");
    assert.equal(cardVerdict(expiring, university, enrolledOpenEnded, d("2027-08-31")), "valid");
  });

  it("the next day it is EXPIRED and invalid", () => {
    assert.equal(isExpired(expiring, d("2027-09-01")), true);
    assert.equal(publicCardStatus(expiring, d("2027-09-01")), "EXPIRED");
    assert.equal(cardVerdict(expiring, university, enrolledOpenEnded, d("2027-09-01")), "invalid");
  });

  it("expiry crosses month and year boundaries", () => {
    const newYear = card({ expiresAt: d("2026-12-31") });
    assert.equal(publicCardStatus(newYear, d("2026-12-31")), "ACTIVE");
    assert.equal(publicCardStatus(newYear, d("2027-01-01")), "EXPIRED");
    const leap = card({ expiresAt: d("2028-02-29") });
    assert.equal(publicCardStatus(leap, d("2028-02-29")), "ACTIVE");
    assert.equal(publicCardStatus(leap, d("2028-03-01")), "EXPIRED");
  });
});

describe("publicCardStatus", () => {
  it("shows the stored status while the card has not expired", () => {
    assert.equal(publicCardStatus(card(), TODAY), "ACTIVE");
    assert.equal(publicCardStatus(inactive("lost"), TODAY), "INACTIVE");
    assert.equal(publicCardStatus(inactive("suspended"), TODAY), "INACTIVE");
  });

  it("shows EXPIRED for an expired card, whatever its stored status", () => {
    const yesterday = d("2026-10-14");
    assert.equal(publicCardStatus(card({ expiresAt: yesterday }), TODAY), "EXPIRED");
    assert.equal(publicCardStatus({ ...inactive("stolen"), expiresAt: yesterday }, TODAY), "EXPIRED");
  });
});

describe("status-list values", () => {
  it("are 0 valid, 1 invalid, 2 suspended (two bits)", () => {
    assert.deepEqual(VERDICT_STATUS_LIST_VALUE, { valid: 0, invalid: 1, suspended: 2 });
    for (const value of Object.values(VERDICT_STATUS_LIST_VALUE)) assert.ok(value >= 0 && value < 4);
  });

  it("give every verdict its own value", () => {
    const values = Object.values(VERDICT_STATUS_LIST_VALUE);
    assert.equal(new Set(values).size, values.length);
  });
});
