import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ESC_ROUTER_CARD_CSV_COLUMNS,
  type EscRouterCardCsvColumn,
} from "../../src/connectors/esc-router-csv.ts";
import { CANTEEN, cardPayload, OTHER_UNIVERSITY, personPayload, UNIVERSITY } from "../support/fixtures.ts";
import { fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";

/**
 * ESC-R's card CSV: the column positions (`csv-config`) and the dry run (`validate-csv`), which checks every
 * row as the card write would and writes nothing.
 */
const ESCR = "/esc-rest/api/v2";
const A = UNIVERSITY.id;
const B = OTHER_UNIVERSITY.id;
const esi = (n: string) => `urn:schac:personalUniqueCode:int:esi:fr:csv-${n}`;

type Row = Partial<Record<EscRouterCardCsvColumn, string>>;

/** A card CSV with a header, in the published column order. */
function csv(rows: readonly Row[], delimiter = ","): string {
  const lines = [ESC_ROUTER_CARD_CSV_COLUMNS.join(delimiter)];
  for (const row of rows) lines.push(ESC_ROUTER_CARD_CSV_COLUMNS.map((c) => row[c] ?? "").join(delimiter));
  return `${lines.join("\r\n")}\r\n`;
}

const card = (holder: string, extra: Row = {}): Row => ({
  personIdentifier: holder,
  issuerIdentifier: A,
  cardType: "SMART_PASSIVE",
  cardStatusType: "ACTIVE",
  issuedAt: "2026-09-01",
  expiresAt: "2030-08-31",
  displayName: "J. E.",
  ...extra,
});

interface Validation {
  valid: boolean;
  rows: number;
  errors: { rowNumber: number; fieldName: string; errorMessage: string }[];
}

describe("ESC-R card CSV", () => {
  let hub: TestHub;
  let uni = "";
  let other = "";
  let canteen = "";
  /** A card of A, of B, and an ESCN with A's PIC that no card has. */
  let mine = "";
  let theirs = "";
  let unknown = "";

  const validate = async (operation: string, body: string | Buffer, token = uni, type = "text/csv") => {
    const res = await hub.request({
      method: "POST",
      url: `${ESCR}/cards/validate-csv?operation=${operation}`,
      token,
      headers: { "content-type": type },
      payload: body,
    });
    return res;
  };
  const dryRun = async (operation: string, body: string | Buffer): Promise<Validation> => {
    const res = await validate(operation, body);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Validation>();
  };
  /** What a dry run must leave alone: the cards A sees, and the change feed. */
  const state = async () => {
    const cards = await hub.request({ method: "GET", url: `${ESCR}/cards?size=100`, token: uni });
    return {
      cards: cards.json<{ page: { totalElements: number } }>().page.totalElements,
      feed: await hub.services.storage.read.outbox.latestPosition(),
    };
  };

  before(async () => {
    hub = await startTestHub({ clock: fixedClock("2026-10-01T08:00:00Z") });
    uni = await hub.onboard(UNIVERSITY);
    other = await hub.onboard(OTHER_UNIVERSITY);
    canteen = await hub.onboard(CANTEEN);
    for (const [token, holder, issuer] of [
      [uni, esi("1"), A],
      [uni, esi("2"), A],
      [other, esi("b"), B],
    ] as const) {
      const res = await hub.request({
        method: "POST",
        url: `${ESCR}/persons`,
        token,
        payload: personPayload(holder, issuer),
      });
      assert.equal(res.statusCode, 201, res.body);
    }
    const made = async (token: string, holder: string, issuer: string) => {
      const res = await hub.request({
        method: "POST",
        url: `${ESCR}/cards`,
        token,
        payload: cardPayload(holder, issuer),
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json<{ cardNumber: string }>().cardNumber;
    };
    mine = await made(uni, esi("1"), A);
    theirs = await made(other, esi("b"), B);
    const generated = await hub.request({
      method: "GET",
      url: `${ESCR}/cards/generate-escn?prefix=1&pic=${A}&numberOfESCN=1`,
    });
    unknown = generated.json<string[]>()[0] ?? "";
  });
  after(() => hub?.close());

  it("publishes each column's 0-based position, to a token that manages cards", async () => {
    const res = await hub.request({ method: "GET", url: `${ESCR}/cards/csv-config`, token: uni });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      cardNumber: 0,
      personIdentifier: 1,
      issuerIdentifier: 2,
      cardType: 3,
      cardStatusType: 4,
      issuedAt: 5,
      expiresAt: 6,
      displayName: 7,
      processorIdentifier: 8,
    });
    const anonymous = await hub.request({ method: "GET", url: `${ESCR}/cards/csv-config` });
    assert.equal(anonymous.statusCode, 401);
    const provider = await hub.request({ method: "GET", url: `${ESCR}/cards/csv-config`, token: canteen });
    assert.equal(provider.statusCode, 403);
  });

  it("finds a good CREATE file valid, and writes nothing", async () => {
    const before = await state();
    const body = csv([card(esi("1")), card(esi("2"), { cardNumber: unknown, displayName: "" })], ";");
    assert.deepEqual(await dryRun("CREATE", body), { valid: true, rows: 2, errors: [] });
    assert.deepEqual(await state(), before);
    const res = await hub.request({ method: "GET", url: `${ESCR}/cards/${unknown}`, token: uni });
    assert.equal(res.statusCode, 404, "the dry run created the card");
  });

  it("reports each bad row with its number and column, as the card write would refuse it", async () => {
    const before = await state();
    const body = csv([
      card(esi("1")),
      card(esi("1"), { cardType: "PLASTIC" }),
      card(esi("1"), { expiresAt: "2025-01-01" }),
      card(esi("never-linked")),
      card(esi("1"), { cardNumber: mine }),
      card(esi("1"), { issuerIdentifier: B }),
      card(esi("1"), { processorIdentifier: "B99999999" }),
      card(esi("1"), { cardNumber: unknown }),
      card(esi("1"), { cardNumber: unknown.toUpperCase() }),
    ]).replace(/\r\n$/, `\r\n${esi("1")},too,few\r\n`);
    const result = await dryRun("CREATE", body);
    assert.equal(result.valid, false);
    assert.equal(result.rows, 10);
    assert.deepEqual(
      result.errors.map((e) => [e.rowNumber, e.fieldName]),
      [
        [2, "cardType"],
        [3, "expiresAt"],
        [4, "personIdentifier"],
        [5, "cardNumber"],
        [6, "issuerIdentifier"],
        [7, "processorIdentifier"],
        [9, "cardNumber"],
        [10, ""],
      ],
    );
    const message = (row: number) => result.errors.find((e) => e.rowNumber === row)?.errorMessage;
    assert.match(message(4) ?? "", /no person with this ESI is linked to the issuer/);
    assert.match(message(5) ?? "", /already exists/);
    assert.equal(message(9), "is also on row 8");
    assert.equal(message(10), "has 3 fields where the file has 9 columns");
    assert.deepEqual(await state(), before);
  });

  it("reports another organisation's card exactly as an unknown one, on UPDATE and DELETE", async () => {
    for (const operation of ["UPDATE", "DELETE"]) {
      const result = await dryRun(
        operation,
        csv([card(esi("1"), { cardNumber: theirs }), card(esi("1"), { cardNumber: unknown })]),
      );
      const [held, nobodys] = result.errors;
      assert.equal(result.errors.length, 2, JSON.stringify(result));
      assert.deepEqual(
        { fieldName: held?.fieldName, errorMessage: held?.errorMessage },
        { fieldName: nobodys?.fieldName, errorMessage: nobodys?.errorMessage },
      );
      assert.equal(held?.fieldName, "cardNumber");
      assert.doesNotMatch(JSON.stringify(result), new RegExp(`${theirs}|${B}|${esi("b")}`));
    }
  });

  it("finds the DELETE of an unknown ESCN invalid, and the DELETE of the caller's card valid without deleting it", async () => {
    const before = await state();
    const unknownRow = await dryRun("DELETE", `cardNumber\n${unknown}\n`);
    assert.deepEqual(unknownRow.errors, [
      {
        rowNumber: 1,
        fieldName: "cardNumber",
        errorMessage: "no card with this number is visible to your organisation",
      },
    ]);
    assert.deepEqual(await dryRun("DELETE", `cardNumber\n${mine}\n`), { valid: true, rows: 1, errors: [] });
    assert.deepEqual(await state(), before);
    const still = await hub.request({ method: "GET", url: `${ESCR}/cards/${mine}`, token: uni });
    assert.equal(still.statusCode, 200);
  });

  it("checks an UPDATE as the PUT would: the card's issuer cannot change, the holder must be linked", async () => {
    const update = async (row: Row) => (await dryRun("UPDATE", csv([row]))).errors.map((e) => e.fieldName);
    assert.deepEqual(await update(card(esi("1"), { cardNumber: mine, cardStatusType: "INACTIVE" })), []);
    assert.deepEqual(await update(card(esi("1"), { cardNumber: mine, issuerIdentifier: B })), [
      "issuerIdentifier",
    ]);
    assert.deepEqual(await update(card(esi("b"), { cardNumber: mine })), ["personIdentifier"]);
    assert.deepEqual(await update(card(esi("1"), { cardNumber: "not-an-escn" })), ["cardNumber"]);
    assert.deepEqual(await update(card(esi("1"))), ["cardNumber"]);
    const still = await hub.request({ method: "GET", url: `${ESCR}/cards/${mine}`, token: uni });
    assert.equal(still.json().cardStatusType.key, "ACTIVE");
  });

  it("reads a file without a header in the csv-config order, and windows-1252 or UTF-16 text", async () => {
    const row = ESC_ROUTER_CARD_CSV_COLUMNS.map(
      (c) => card(esi("1"), { displayName: "Renée Lefèvre" })[c] ?? "",
    );
    const text = `${row.join(",")}\n`;
    assert.deepEqual(await dryRun("CREATE", text), { valid: true, rows: 1, errors: [] });
    assert.deepEqual(await dryRun("CREATE", Buffer.from(text, "latin1")), {
      valid: true,
      rows: 1,
      errors: [],
    });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
    assert.deepEqual(await dryRun("CREATE", utf16), { valid: true, rows: 1, errors: [] });
  });

  it("refuses control characters per row, and never echoes one or a formula raw in a message", async () => {
    const formula = '=HYPERLINK("https://evil.example","Click")';
    const result = await dryRun(
      "CREATE",
      csv([
        card(esi("1"), { displayName: "J.\u0007E." }),
        card(esi("1"), { processorIdentifier: `"${formula.replaceAll('"', '""')}"` }),
        card(esi("1"), { displayName: `"${formula.replaceAll('"', '""')}"` }),
      ]),
    );
    assert.deepEqual(
      result.errors.map((e) => [e.rowNumber, e.fieldName]),
      [
        [1, "displayName"],
        [2, "processorIdentifier"],
      ],
    );
    // The formula is data where the card takes any text (row 3); where a message repeats it, it is defused.
    assert.equal(result.errors[1]?.errorMessage, `'${formula} is not a registered card bureau`);
    assert.doesNotMatch(JSON.stringify(result), /\\u0007/);
  });

  it("reports a header naming an unknown column, or lacking one the operation needs, as row 0", async () => {
    const unknownColumn = await dryRun("DELETE", `cardNumber,colour\n${mine},red\n`);
    assert.deepEqual(unknownColumn.errors, [
      { rowNumber: 0, fieldName: "colour", errorMessage: "is not a column of the card CSV" },
    ]);
    const lacking = await dryRun("UPDATE", `personIdentifier,cardNumber\n${esi("1")},${mine}\n`);
    assert.equal(lacking.valid, false);
    assert.deepEqual(
      lacking.errors.map((e) => [e.rowNumber, e.fieldName]),
      [
        [0, "issuerIdentifier"],
        [0, "cardType"],
        [0, "cardStatusType"],
        [0, "issuedAt"],
        [0, "expiresAt"],
      ],
    );
    const open = await dryRun("DELETE", `cardNumber\n${mine}\n"${unknown}\n`);
    assert.deepEqual(open.errors, [
      {
        rowNumber: 0,
        fieldName: "",
        errorMessage: "a quoted value is not closed before the end of the file (line 3)",
      },
    ]);
    assert.deepEqual(await dryRun("CREATE", ""), {
      valid: false,
      rows: 0,
      errors: [{ rowNumber: 0, fieldName: "", errorMessage: "the file has no rows" }],
    });
  });

  it("refuses a body that is not CSV, an unknown operation, a file over the body limit, and callers without card access", async () => {
    const json = await validate("CREATE", JSON.stringify({ cardNumber: mine }), uni, "application/json");
    assert.equal(json.statusCode, 415, json.body);
    assert.equal(json.json().code, "MEDIA_TYPE_UNSUPPORTED");
    const operation = await validate("MERGE", csv([card(esi("1"))]));
    assert.equal(operation.statusCode, 400, operation.body);
    assert.equal(operation.json().code, "VALIDATION_FAILED");
    const large = await validate("CREATE", `cardNumber\n${"x".repeat(hub.config.bodyLimit)}\n`);
    assert.equal(large.statusCode, 413, large.body);
    assert.equal(large.json().code, "BODY_TOO_LARGE");
    const provider = await validate("CREATE", csv([card(esi("1"))]), canteen);
    assert.equal(provider.statusCode, 403, provider.body);
    const anonymous = await hub.request({
      method: "POST",
      url: `${ESCR}/cards/validate-csv?operation=CREATE`,
      headers: { "content-type": "text/csv" },
      payload: csv([card(esi("1"))]),
    });
    assert.equal(anonymous.statusCode, 401);
  });
});
