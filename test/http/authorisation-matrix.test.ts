/**
 * The tenant walls, route by route: every operation of the API, called by its rightful caller and by every
 * kind of wrong one. One named test per (route × caller).
 *
 * The owner is an institution ("A"). It lists a card bureau as its processor; another institution ("B"),
 * a card bureau A does not list, a service provider, the operator, and tokens that are revoked, expired,
 * unknown, malformed or missing are the other callers. Every test starts from fresh data of A (a person
 * with a status and a card, a person without a card, a spare token), so tests do not depend on each other.
 *
 * For every refused request the test also checks that
 * - the data is unchanged (re-read by the owner, the operator and the other tenants), and
 * - the answer is byte for byte the answer to the same request about an identifier nobody holds, so that
 *   a refusal never tells whether a person, card or status exists elsewhere.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { HTTPMethods, InjectOptions, LightMyRequestResponse } from "fastify";
import { decodeJwt } from "jose";
import {
  generateHolderKey,
  type HolderKey,
  presentCredential,
  receiveCredential,
} from "../../src/credentials/holder-wallet.ts";
import { PRE_AUTHORIZED_GRANT } from "../../src/credentials/openid4vci/credential-offer.ts";
import {
  enrolledStudent,
  inProcessNetwork,
  offer,
  preAuthorizedCodeOf,
  VERIFIER,
} from "../support/credential-scenario.ts";
import {
  CANTEEN,
  CARD_BUREAU,
  cardPayload,
  OTHER_UNIVERSITY,
  personPayload,
  UNIVERSITY,
} from "../support/fixtures.ts";
import { ADMIN_TOKEN, fixedClock, startTestHub, type TestHub } from "../support/test-hub.ts";

const ESCR = "/esc-rest/api/v2";
const A = UNIVERSITY.id;
const B = OTHER_UNIVERSITY.id;
/** A card bureau that no organisation lists among its processors. */
const UNLISTED_BUREAU = {
  id: "BE0123456789",
  kind: "card-bureau",
  name: "Imprimerie Sans Mandat",
  country: "BE",
};
/** A well-formed PIC that no organisation has. */
const UNKNOWN_ORGANISATION = "123123123";
const OPERATOR_ID = "operator";

type Authenticated = "owner" | "bureau" | "other" | "unlistedBureau" | "serviceProvider" | "operator";
type Unauthenticated = "revoked" | "expired" | "unknownToken" | "malformed" | "none";
type Caller = Authenticated | Unauthenticated;

const AUTHENTICATED: readonly Authenticated[] = [
  "owner",
  "bureau",
  "other",
  "unlistedBureau",
  "serviceProvider",
  "operator",
];
const UNAUTHENTICATED_CODES: Readonly<Record<Unauthenticated, string>> = {
  revoked: "TOKEN_REVOKED",
  expired: "TOKEN_EXPIRED",
  unknownToken: "TOKEN_INVALID",
  malformed: "UNAUTHENTICATED",
  none: "UNAUTHENTICATED",
};
const CALLERS: readonly Caller[] = [
  ...AUTHENTICATED,
  ...(Object.keys(UNAUTHENTICATED_CODES) as Unauthenticated[]),
];

const LABELS: Readonly<Record<Caller, string>> = {
  owner: "the owner",
  bureau: "the owner's card bureau",
  other: "another institution",
  unlistedBureau: "an unlisted card bureau",
  serviceProvider: "a service provider",
  operator: "the operator",
  revoked: "a revoked token",
  expired: "an expired token",
  unknownToken: "an unknown token",
  malformed: "a non-Bearer Authorization header",
  none: "no token",
};

/** The organisation behind each caller (the owner's, for tokens that do not authenticate). */
const ORGANISATION_OF: Readonly<Record<Caller, string>> = {
  owner: A,
  bureau: CARD_BUREAU.id,
  other: B,
  unlistedBureau: UNLISTED_BUREAU.id,
  serviceProvider: CANTEEN.id,
  operator: OPERATOR_ID,
  revoked: A,
  expired: A,
  unknownToken: A,
  malformed: A,
  none: A,
};
/** The organisation a caller names when it acts: itself, except that the listed bureau acts for A. */
const actsAs = (caller: Caller): string => (caller === "bureau" ? A : ORGANISATION_OF[caller]);

/** What one test's request may touch. */
interface Ctx {
  /** Unique in the run; ESIs carry it so that list searches find exactly this test's data. */
  readonly tag: string;
  /** A search term that matches this test's first person (and its card) and nothing else. */
  readonly search: string;
  /** A person linked to A, with an enrolled status at A, consent to credential issuance and a card issued by A. */
  readonly esi: string;
  /** A person linked to A, without a card (for deletion). */
  readonly bareEsi: string;
  /** An ESI nobody holds yet (for creation). */
  readonly newEsi: string;
  /** An ESI nobody holds, ever. */
  readonly unknownEsi: string;
  readonly escn: string;
  /** An ESCN with A's PIC that no card has yet (for creation). */
  readonly newEscn: string;
  /** An ESCN with A's PIC that no card has, ever. */
  readonly unknownEscn: string;
  /** The organisation the /v1/organisations routes are about: A. */
  readonly orgId: string;
  /** A spare token of A (for revocation). */
  readonly tokenId: string;
  readonly spareToken: string;
  /** An organisation identifier nobody has yet (for onboarding). */
  readonly newOrgId: string;
  /** The feed's position before this test's data: its events come after it. */
  readonly feedStart: number;
  /** A webhook subscription of A, following the card, with one dead delivery. */
  readonly subscriptionId: string;
  readonly deliveryId: string;
  /** A credential offer of the card, with the pre-authorized code and transaction code it was made with. */
  readonly offerId: string;
  readonly preAuthorizedCode: string;
  readonly txCode: string;
  /** A presentation of the credential issued in `before`, for VERIFIER with this test's tag as nonce. */
  readonly presentation: string;
  /** A run of one of A's connectors, as `GET /v1/connectors/runs/{id}` names it. */
  readonly runId: string;
}

/** The same request about identifiers that exist nowhere. */
function unknownCtx(ctx: Ctx): Ctx {
  return {
    ...ctx,
    esi: ctx.unknownEsi,
    bareEsi: ctx.unknownEsi,
    escn: ctx.unknownEscn,
    orgId: UNKNOWN_ORGANISATION,
    tokenId: randomUUID(),
    subscriptionId: randomUUID(),
    deliveryId: "999999999",
    offerId: randomUUID(),
    preAuthorizedCode: randomUUID(),
    runId: "999999999",
  };
}

type Check = (res: LightMyRequestResponse, ctx: Ctx, caller: Caller) => void | Promise<void>;

interface Outcome {
  readonly status: number;
  /** The error code, for a refusal. */
  readonly code?: string;
  /** A refusal in OAuth's format (`{error, error_description}`), as the OpenID4VCI endpoints answer. */
  readonly oauth?: boolean;
  /** For a success: what the answer and the data afterwards must show. */
  readonly check?: Check;
}

interface RouteCase {
  /** Method and route template as registered, e.g. `GET /v1/cards/:escn`. */
  readonly route: string;
  /** What distinguishes two cases of one route. */
  readonly variant?: string;
  /** Public routes need no token: every caller gets `outcomes.owner`. */
  readonly public?: boolean;
  readonly url: (ctx: Ctx, caller: Caller) => string;
  /** A JSON body, or a form (`URLSearchParams`) for the token endpoint. */
  readonly payload?: (ctx: Ctx, caller: Caller) => object;
  readonly outcomes: Readonly<Record<Authenticated, Outcome>>;
  /** A server-sent event stream: its successful answers never end, so they are read over HTTP and cut. */
  readonly stream?: boolean;
  /** The case needs a credential offer and a presentation in its data. */
  readonly credentials?: boolean;
}

const ok = (status: number, check?: Check): Outcome => (check ? { status, check } : { status });
const refused = (status: number, code: string): Outcome => ({ status, code });
const oauthRefused = (status: number, error: string): Outcome => ({ status, code: error, oauth: true });
/** A card CSV of one row, setting the card INACTIVE (which a dry run must not do). */
const cardCsv = (escn: string, esi: string) =>
  new CsvBody(
    "cardNumber,personIdentifier,issuerIdentifier,cardType,cardStatusType,issuedAt,expiresAt\n" +
      `${escn},${esi},${A},SMART_PASSIVE,INACTIVE,2026-09-01,2030-08-31\n`,
  );
const FORBIDDEN = refused(403, "FORBIDDEN");
const SCOPE_MISSING = refused(403, "SCOPE_MISSING");
const PERSON_NOT_FOUND = refused(404, "PERSON_NOT_FOUND");
const CARD_NOT_FOUND = refused(404, "CARD_NOT_FOUND");
const STATUS_NOT_FOUND = refused(404, "STUDENT_STATUS_NOT_FOUND");
const ORGANISATION_NOT_FOUND = refused(404, "ORGANISATION_NOT_FOUND");

const e = encodeURIComponent;

// ---------------------------------------------------------------------------------------------------------
// The hub, its callers and the per-test data.

let hub: TestHub;
const clock = fixedClock("2026-10-01T08:00:00.000Z");
const tokens = {} as Record<Exclude<Caller, "malformed" | "none">, string>;
let counter = 0;
/** A credential of A's, issued in `before` to a student no case touches, and the wallet key it is bound to. */
let credential = { value: "", holderKey: undefined as HolderKey | undefined, statusList: "" };

/** A CSV file as a request body, sent as `text/csv`. */
class CsvBody {
  constructor(readonly text: string) {}
}

/** A file uploaded as `multipart/form-data`, in the part `file`, as `curl -F file=@students.csv` sends it. */
class MultipartBody {
  static readonly BOUNDARY = "openesc-matrix-boundary";
  constructor(readonly csv: string) {}

  bytes(): string {
    const b = MultipartBody.BOUNDARY;
    return `--${b}\r\nContent-Disposition: form-data; name="file"; filename="students.csv"\r\nContent-Type: text/csv\r\n\r\n${this.csv}\r\n--${b}--\r\n`;
  }
}

async function call(
  caller: Caller,
  method: string,
  url: string,
  payload?: object,
): Promise<LightMyRequestResponse> {
  const options: InjectOptions & { token?: string } = { method: method as HTTPMethods, url };
  if (payload instanceof CsvBody) {
    options.payload = payload.text;
    options.headers = { "content-type": "text/csv" };
  } else if (payload instanceof MultipartBody) {
    options.payload = payload.bytes();
    options.headers = { "content-type": `multipart/form-data; boundary=${MultipartBody.BOUNDARY}` };
  } else if (payload instanceof URLSearchParams) {
    options.payload = payload.toString();
    options.headers = { "content-type": "application/x-www-form-urlencoded" };
  } else if (payload !== undefined) options.payload = payload;
  if (caller === "malformed") {
    options.headers = {
      ...options.headers,
      authorization: `Basic ${Buffer.from(`${A}:secret`).toString("base64")}`,
    };
  } else if (caller !== "none") {
    options.token = tokens[caller];
  }
  return hub.request(options);
}

async function must(
  status: number,
  pending: Promise<LightMyRequestResponse>,
): Promise<LightMyRequestResponse> {
  const res = await pending;
  assert.equal(res.statusCode, status, `${res.statusCode} ${res.body}`);
  return res;
}

function tick(): void {
  clock.set(new Date(clock.now().getTime() + 1000).toISOString());
}

const ENROLLED = { state: "enrolled", validFrom: "2026-09-01", validUntil: "2027-08-31" };
const SUSPENDED = { state: "suspended", validFrom: "2026-09-01", validUntil: "2027-08-31" };
const CONSENT = { wordingVersion: "2026-11" };

async function fresh(options: { subscription?: boolean; credentials?: boolean } = {}): Promise<Ctx> {
  counter += 1;
  const tag = `${counter}z`;
  const esiOf = (kind: string) => `urn:schac:personalUniqueCode:int:esi:fr:${kind}${tag}`;
  const esi = esiOf("p");
  const bareEsi = esiOf("b");
  const feedStart = await hub.services.storage.read.outbox.latestPosition();
  await must(201, call("owner", "POST", `${ESCR}/persons`, personPayload(esi, A)));
  await must(201, call("owner", "POST", `${ESCR}/persons`, personPayload(bareEsi, A)));
  await must(201, call("owner", "PUT", `/v1/student-statuses/${A}/${e(esi)}`, ENROLLED));
  await must(201, call("owner", "PUT", `/v1/persons/${e(esi)}/consents/credential-issuance`, CONSENT));
  const card = await must(201, call("owner", "POST", `${ESCR}/cards`, cardPayload(esi, A)));
  const generated = await must(
    200,
    call("none", "GET", `${ESCR}/cards/generate-escn?prefix=7&pic=${A}&numberOfESCN=2`),
  );
  const [newEscn, unknownEscn] = generated.json<string[]>();
  assert.ok(newEscn && unknownEscn);
  const spare = await must(
    201,
    call("owner", "POST", `/v1/organisations/${A}/tokens`, { name: `spare ${tag}` }),
  );
  // Only the cases about subscriptions pay for one.
  let subscriptionId = "";
  let deliveryId = 0;
  if (options.subscription) {
    const subscription = await must(
      201,
      call("owner", "POST", "/v1/subscriptions", {
        url: `https://hooks.example.org/${tag}`,
        cards: [card.json().cardNumber],
      }),
    );
    subscriptionId = subscription.json().id;
    deliveryId = await deadDelivery(subscriptionId);
  }
  // Only the cases about credentials pay for an offer and a presentation.
  let offered = { id: "", code: "", txCode: "" };
  let presentation = "";
  if (options.credentials) {
    const made = await offer(hub, { token: tokens.owner, escn: card.json().cardNumber, esi });
    offered = { id: made["id"] ?? "", code: preAuthorizedCodeOf(made), txCode: made["txCode"] ?? "" };
    presentation = await presentCredential(credential.value, {
      holderKey: credential.holderKey as HolderKey,
      audience: VERIFIER,
      nonce: tag,
      now: () => clock.now(),
    });
  }
  const run = await hub.services.storage.transaction((tx) =>
    tx.connectorRuns.start({
      connector: "sis",
      organisationId: A,
      source: "csv:students.csv",
      startedAt: clock.now().toISOString(),
    }),
  );
  // Any write the request under test makes gets a later timestamp than the data above.
  tick();
  return {
    tag,
    search: e(`:p${tag}`),
    esi,
    bareEsi,
    newEsi: esiOf("n"),
    unknownEsi: esiOf("u"),
    escn: card.json().cardNumber,
    newEscn,
    unknownEscn,
    orgId: A,
    tokenId: spare.json().id,
    spareToken: spare.json().token,
    newOrgId: `museum-${counter}`,
    feedStart,
    subscriptionId,
    deliveryId: String(deliveryId),
    offerId: offered.id,
    preAuthorizedCode: offered.code,
    txCode: offered.txCode,
    presentation,
    runId: String(run.id),
  };
}

/** A delivery of the newest event to the subscription, failed for good (what redelivery acts on). */
async function deadDelivery(subscriptionId: string): Promise<number> {
  const storage = hub.services.storage;
  const [event] = await storage.read.outbox.findByPositions([await storage.read.outbox.latestPosition()]);
  assert.ok(event);
  const at = clock.now().toISOString();
  return storage.transaction(async (tx) => {
    await tx.deliveries.enqueue([
      {
        subscriptionId,
        eventId: event.id,
        position: event.position,
        subjectKey: "k",
        projection: "full",
        createdAt: at,
      },
    ]);
    const [delivery] = (await tx.deliveries.list(subscriptionId, "pending", { after: 0, limit: 1 })).items;
    assert.ok(delivery);
    await tx.deliveries.markFailed(delivery.id, {
      at,
      status: 400,
      error: "answered 400",
      nextAttemptAt: null,
    });
    return delivery.id;
  });
}

/** Reads the start of a server-sent event stream over HTTP, then hangs up. */
async function openStream(
  caller: Caller,
  url: string,
): Promise<{ status: number; type: string; start: string }> {
  const address = hub.app.server.address() as AddressInfo;
  const abort = new AbortController();
  const res = await fetch(`http://127.0.0.1:${address.port}${url}`, {
    headers: { authorization: `Bearer ${tokens[caller as Authenticated]}` },
    signal: abort.signal,
  });
  const reader = res.body?.getReader();
  const first = reader ? await reader.read() : undefined;
  abort.abort();
  await reader?.cancel().catch(() => undefined);
  return {
    status: res.status,
    type: String(res.headers.get("content-type")),
    start: Buffer.from(first?.value ?? []).toString(),
  };
}

let sharedCtx: Ctx | undefined;
/** Data for requests that change nothing. */
async function shared(): Promise<Ctx> {
  sharedCtx ??= await fresh({ subscription: true, credentials: true });
  return sharedCtx;
}

/** Everything a wrong caller might have changed, as each tenant and the operator read it. */
async function snapshot(ctx: Ctx): Promise<string[]> {
  const reads: [Caller, string][] = [
    ["owner", `${ESCR}/persons/${e(ctx.esi)}`],
    ["owner", `${ESCR}/persons/${e(ctx.bareEsi)}`],
    ["owner", `${ESCR}/persons/${e(ctx.newEsi)}`],
    ["owner", `/v1/persons/${e(ctx.esi)}`],
    ["owner", `/v1/persons/${e(ctx.esi)}/consents`],
    ["other", `${ESCR}/persons/${e(ctx.esi)}`],
    ["unlistedBureau", `${ESCR}/persons/${e(ctx.esi)}`],
    ["owner", `${ESCR}/cards/${ctx.escn}`],
    ["owner", `${ESCR}/cards/${ctx.newEscn}`],
    ["owner", `/v1/cards/${ctx.escn}`],
    ["owner", `${ESCR}/cards?search=${ctx.search}&size=100`],
    ["other", `${ESCR}/cards?search=${ctx.search}&size=100`],
    ["unlistedBureau", `${ESCR}/cards?search=${ctx.search}&size=100`],
    ["owner", `/v1/student-statuses/${A}/${e(ctx.esi)}`],
    ["other", `/v1/student-statuses/${B}/${e(ctx.esi)}`],
    ["operator", `/v1/organisations/${A}`],
    ["operator", `/v1/organisations/${ctx.newOrgId}`],
    ["operator", `/v1/organisations/${A}/tokens`],
    ["owner", `/v1/organisations/${A}/issuer-keys`],
    ["none", `${ESCR}/cards/${ctx.escn}/status`],
    ...(ctx.subscriptionId === ""
      ? []
      : ([
          ["owner", `/v1/subscriptions/${ctx.subscriptionId}`],
          ["owner", `/v1/subscriptions/${ctx.subscriptionId}/cards`],
          ["owner", `/v1/subscriptions/${ctx.subscriptionId}/deliveries`],
        ] as [Caller, string][])),
  ];
  const answers = await Promise.all(reads.map(([caller, url]) => call(caller, "GET", url)));
  return answers.map((res, i) => `${reads[i]?.[1]} → ${res.statusCode} ${res.body}`);
}

/** Every item of a /v1 listing, following `next`. */
async function allItems(first: LightMyRequestResponse, caller: Caller, url: string) {
  const items = [...first.json().items];
  let next: string | null = first.json().next;
  while (next !== null) {
    const page = await must(200, call(caller, "GET", `${url}&after=${next}`));
    items.push(...page.json().items);
    next = page.json().next;
  }
  return items;
}

function assertRefusal(res: LightMyRequestResponse, url: string, outcome: Outcome): void {
  assert.equal(res.statusCode, outcome.status, res.body);
  if (outcome.oauth) {
    // RFC 6749 §5.2 / RFC 6750 §3: what a wallet branches on, never cached.
    assert.match(String(res.headers["content-type"]), /^application\/json/);
    assert.equal(res.headers["cache-control"], "no-store");
    if (res.statusCode === 401)
      assert.equal(res.headers["www-authenticate"], `Bearer error="${outcome.code}"`);
    assert.deepEqual(Object.keys(res.json()).sort(), ["error", "error_description"]);
    assert.equal(res.json().error, outcome.code);
    return;
  }
  if (res.statusCode === 401) assert.equal(res.headers["www-authenticate"], 'Bearer realm="openesc"');
  const body = res.json();
  if (url.startsWith("/esc-rest/")) {
    assert.match(String(res.headers["content-type"]), /^application\/json/);
    assert.deepEqual(Object.keys(body).sort(), ["code", "message"]);
  } else {
    assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
    assert.equal(body.status, outcome.status);
    assert.equal(body.type, `urn:openesc:problem:${outcome.code}`);
  }
  assert.equal(body.code, outcome.code);
}

// ---------------------------------------------------------------------------------------------------------
// Checks of successful answers.

const onlyLinkOf = (body: { organisations: { organisation: { identifier: string } }[] }, id: string) =>
  assert.deepEqual(
    body.organisations.map((o) => o.organisation.identifier),
    [id],
  );

const checkOwnersPerson: Check = (res, ctx) => {
  const body = res.json();
  assert.equal(body.identifier, ctx.esi);
  assert.equal(body.fullName, "Jeanne Exemple");
  assert.equal(body.organisationCount, 1);
  onlyLinkOf(body, A);
  assert.equal(body.organisations[0].contactPoint.email, "jeanne@example.org");
};

const checkOwnersCard: Check = (res, ctx) => {
  const body = res.json();
  assert.equal(body.cardNumber, ctx.escn);
  assert.deepEqual(body.person, { identifier: ctx.esi, fullName: "Jeanne Exemple" });
  assert.equal(body.issuer.identifier, A);
  // The holder has not consented to sharing their card status with service providers.
  assert.equal(body.hasOwnerAuthorization, false);
};

const PUBLIC_STATUS_FIELDS = [
  "cardNumber",
  "expiresAt",
  "issuedAt",
  "issuerIdentifier",
  "issuerName",
  "status",
];

async function publicStatus(escn: string) {
  return call("none", "GET", `${ESCR}/cards/${escn}/status`);
}

// ---------------------------------------------------------------------------------------------------------
// The matrix.

/** Outcomes of a person or card operation that only the owner and its bureau may perform. */
function ownerAndBureau(
  success: Outcome,
  wrongTenant: Outcome,
  extra: Partial<Record<Authenticated, Outcome>> = {},
): Record<Authenticated, Outcome> {
  return {
    owner: success,
    bureau: success,
    other: wrongTenant,
    unlistedBureau: wrongTenant,
    serviceProvider: FORBIDDEN,
    operator: FORBIDDEN,
    ...extra,
  };
}

/** Outcomes of an operation on A's organisation record, which A and the operator may perform. */
function ownerAndOperator(success: Outcome, others: Outcome): Record<Authenticated, Outcome> {
  return {
    owner: success,
    bureau: others,
    other: others,
    unlistedBureau: others,
    serviceProvider: others,
    operator: success,
  };
}

const SUBSCRIPTION_NOT_FOUND = refused(404, "SUBSCRIPTION_NOT_FOUND");
const ISSUER_OF_A = `https://hub.example.org/issuers/${A}`;

/**
 * Imports, connectors and runs are an institution's (or a student-service organisation's) own: another
 * institution has its own; card bureaus, service providers and the operator have none.
 */
function connectorsOwnerOnly(success: Outcome, otherInstitution: Outcome): Record<Authenticated, Outcome> {
  return {
    owner: success,
    bureau: FORBIDDEN,
    other: otherInstitution,
    unlistedBureau: FORBIDDEN,
    serviceProvider: FORBIDDEN,
    operator: FORBIDDEN,
  };
}

/** An issuer's keys are its own: another institution finds no such organisation; others lack the scope. */
function issuerOnly(success: Outcome): Record<Authenticated, Outcome> {
  return {
    owner: success,
    bureau: SCOPE_MISSING,
    other: ORGANISATION_NOT_FOUND,
    unlistedBureau: SCOPE_MISSING,
    serviceProvider: SCOPE_MISSING,
    operator: SCOPE_MISSING,
  };
}

/** A subscription is its organisation's alone: any other answers as if it did not exist. */
function subscriptionOwnerOnly(success: Outcome): Record<Authenticated, Outcome> {
  return {
    owner: success,
    bureau: SUBSCRIPTION_NOT_FOUND,
    other: SUBSCRIPTION_NOT_FOUND,
    unlistedBureau: SUBSCRIPTION_NOT_FOUND,
    serviceProvider: SUBSCRIPTION_NOT_FOUND,
    operator: SCOPE_MISSING,
  };
}

const MIRROR_NOT_FOUND = refused(404, "MIRROR_NOT_FOUND");
/** Where A's persons and cards are mirrored (nothing is sent: no delivery runs in this suite). */
const MIRROR_URL = "https://esc-router.example/esc-rest";
/** A card of A's that A's router refused, seeded in the store. */
const MIRROR_REFUSED_ESCN = "3e506370-826a-103d-bf76-001999888777";

/** A mirror is its organisation's: others, card bureaus included, have none; those without student data are refused. */
function mirrorOwnerOnly(success: Outcome): Record<Authenticated, Outcome> {
  return {
    owner: success,
    bureau: MIRROR_NOT_FOUND,
    other: MIRROR_NOT_FOUND,
    unlistedBureau: MIRROR_NOT_FOUND,
    serviceProvider: FORBIDDEN,
    operator: FORBIDDEN,
  };
}

/** A card of A's, refused by A's router: what the mirror's report and refusals show. */
async function seedMirrorRefusal(): Promise<void> {
  const at = clock.now().toISOString();
  await hub.services.storage.transaction(async (tx) => {
    await tx.mirrorJobs.enqueue([
      {
        organisationId: A,
        kind: "card",
        subject: MIRROR_REFUSED_ESCN,
        subjectKey: MIRROR_REFUSED_ESCN,
        position: 1,
        queuedAt: at,
      },
    ]);
    const [job] = await tx.mirrorJobs.claimDue({
      now: at,
      holder: "seed",
      until: at,
      limit: 1,
      organisationIds: [A],
    });
    assert.ok(job);
    await tx.mirrorJobs.settle(job.id, job.position, {
      state: "refused",
      at,
      status: 400,
      operation: "POST",
      code: "PROCESSOR_UNKNOWN",
      message: "B12345678 is not a registered card bureau",
    });
  });
}

function everyone(outcome: Outcome): Record<Authenticated, Outcome> {
  return {
    owner: outcome,
    bureau: outcome,
    other: outcome,
    unlistedBureau: outcome,
    serviceProvider: outcome,
    operator: outcome,
  };
}

const emptyEscPage: Check = (res) => {
  assert.equal(res.json().page.totalElements, 0);
  assert.deepEqual(res.json().content, []);
};

const CASES: readonly RouteCase[] = [
  // ---- ESC-R persons
  {
    route: "GET /esc-rest/api/v2/persons",
    url: (ctx) => `${ESCR}/persons?search=${ctx.search}&size=100`,
    outcomes: ownerAndBureau(
      ok(200, (res, ctx) => {
        const body = res.json();
        assert.deepEqual(
          body.content.map((p: { identifier: string }) => p.identifier),
          [ctx.esi],
        );
        onlyLinkOf(body.content[0], A);
      }),
      ok(200, emptyEscPage),
    ),
  },
  {
    route: "POST /esc-rest/api/v2/persons",
    variant: "(a new ESI, linked to the owner)",
    url: () => `${ESCR}/persons`,
    payload: (ctx) => personPayload(ctx.newEsi, A),
    outcomes: ownerAndBureau(
      ok(201, async (res, ctx) => {
        assert.equal(res.json().identifier, ctx.newEsi);
        onlyLinkOf(res.json(), A);
        await must(200, call("owner", "GET", `${ESCR}/persons/${e(ctx.newEsi)}`));
      }),
      FORBIDDEN,
    ),
  },
  {
    route: "POST /esc-rest/api/v2/persons",
    variant: "(the owner's ESI, linked to the caller)",
    url: () => `${ESCR}/persons`,
    payload: (ctx, caller) => ({
      identifier: ctx.esi,
      fullName: "Jan Kowalski",
      personOrganisationUpdateViews: [
        { organisationIdentifier: actsAs(caller), academicLevel: "BACHELOR", email: "jan@example.pl" },
      ],
    }),
    outcomes: ownerAndBureau(
      refused(409, "PERSON_EXISTS"),
      // Linking itself to a student A already holds: the answer shows only the caller's own link.
      ok(201, async (res, ctx, caller) => {
        const body = res.json();
        assert.equal(body.identifier, ctx.esi);
        assert.equal(body.organisationCount, 1);
        onlyLinkOf(body, ORGANISATION_OF[caller]);
        assert.equal(body.fullName, "Jan Kowalski");
        assert.doesNotMatch(res.body, /Jeanne|jeanne@example\.org|MASTER/);
        // …and A still sees only its own link.
        const mine = await must(200, call("owner", "GET", `${ESCR}/persons/${e(ctx.esi)}`));
        checkOwnersPerson(mine, ctx, "owner");
        assert.doesNotMatch(mine.body, /Kowalski|jan@example\.pl/);
      }),
    ),
  },
  {
    route: "GET /esc-rest/api/v2/persons/:esi",
    url: (ctx) => `${ESCR}/persons/${e(ctx.esi)}`,
    outcomes: ownerAndBureau(ok(200, checkOwnersPerson), PERSON_NOT_FOUND),
  },
  {
    route: "PUT /esc-rest/api/v2/persons/:esi",
    variant: "(linking the owner)",
    url: (ctx) => `${ESCR}/persons/${e(ctx.esi)}`,
    payload: (ctx) => personPayload(ctx.esi, A, { fullName: "Jeanne Renommée" }),
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx) => {
        assert.equal(res.json().fullName, "Jeanne Renommée");
        const reread = await must(200, call("owner", "GET", `${ESCR}/persons/${e(ctx.esi)}`));
        assert.equal(reread.json().fullName, "Jeanne Renommée");
      }),
      FORBIDDEN,
    ),
  },
  {
    route: "PUT /esc-rest/api/v2/persons/:esi",
    variant: "(linking the caller)",
    url: (ctx) => `${ESCR}/persons/${e(ctx.esi)}`,
    payload: (ctx, caller) => personPayload(ctx.esi, actsAs(caller), { fullName: "Jeanne Renommée" }),
    outcomes: ownerAndBureau(
      ok(200, (res) => assert.equal(res.json().fullName, "Jeanne Renommée")),
      PERSON_NOT_FOUND,
    ),
  },
  {
    route: "DELETE /esc-rest/api/v2/persons/:esi",
    url: (ctx) => `${ESCR}/persons/${e(ctx.bareEsi)}`,
    outcomes: ownerAndBureau(
      ok(204, async (_res, ctx) => {
        await must(404, call("owner", "GET", `${ESCR}/persons/${e(ctx.bareEsi)}`));
      }),
      PERSON_NOT_FOUND,
    ),
  },
  // ---- ESC-R cards
  {
    route: "GET /esc-rest/api/v2/cards",
    url: (ctx) => `${ESCR}/cards?search=${ctx.search}&size=100`,
    outcomes: ownerAndBureau(
      ok(200, (res, ctx) => {
        const body = res.json();
        assert.deepEqual(
          body.content.map((c: { cardNumber: string }) => c.cardNumber),
          [ctx.escn],
        );
        assert.equal(body.content[0].person.fullName, "Jeanne Exemple");
      }),
      ok(200, emptyEscPage),
    ),
  },
  {
    route: "POST /esc-rest/api/v2/cards",
    variant: "(issuer: the owner)",
    url: () => `${ESCR}/cards`,
    payload: (ctx) => cardPayload(ctx.esi, A, { cardNumber: ctx.newEscn }),
    outcomes: ownerAndBureau(
      ok(201, async (res, ctx, caller) => {
        assert.equal(res.json().cardNumber, ctx.newEscn);
        assert.equal(res.json().processor?.identifier, caller === "bureau" ? CARD_BUREAU.id : undefined);
        await must(200, call("owner", "GET", `${ESCR}/cards/${ctx.newEscn}`));
      }),
      FORBIDDEN,
    ),
  },
  {
    route: "POST /esc-rest/api/v2/cards",
    variant: "(issuer: the caller, holder: the owner's student)",
    url: () => `${ESCR}/cards`,
    payload: (ctx, caller) => cardPayload(ctx.esi, actsAs(caller)),
    outcomes: ownerAndBureau(
      ok(201, (res, ctx) => assert.equal(res.json().person.identifier, ctx.esi)),
      // B's card for a student it is not linked to: the same 400 as for an ESI nobody holds.
      refused(400, "PERSON_NOT_LINKED"),
      { unlistedBureau: refused(400, "PIC_INVALID") },
    ),
  },
  {
    route: "GET /esc-rest/api/v2/cards/:escn",
    url: (ctx) => `${ESCR}/cards/${ctx.escn}`,
    outcomes: ownerAndBureau(ok(200, checkOwnersCard), CARD_NOT_FOUND),
  },
  {
    route: "PUT /esc-rest/api/v2/cards/:escn",
    url: (ctx) => `${ESCR}/cards/${ctx.escn}`,
    payload: (ctx) => cardPayload(ctx.esi, A, { cardStatusType: "INACTIVE", displayName: "J. E." }),
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx) => {
        assert.equal(res.json().cardStatusType.key, "INACTIVE");
        assert.equal((await publicStatus(ctx.escn)).json().status, "INACTIVE");
      }),
      CARD_NOT_FOUND,
    ),
  },
  {
    route: "DELETE /esc-rest/api/v2/cards/:escn",
    url: (ctx) => `${ESCR}/cards/${ctx.escn}`,
    outcomes: ownerAndBureau(
      ok(204, async (_res, ctx) => {
        await must(404, call("owner", "GET", `${ESCR}/cards/${ctx.escn}`));
        await must(404, publicStatus(ctx.escn));
      }),
      CARD_NOT_FOUND,
    ),
  },
  {
    route: "GET /esc-rest/api/v2/cards/csv-config",
    url: () => `${ESCR}/cards/csv-config`,
    outcomes: ownerAndBureau(
      ok(200, (res) =>
        assert.deepEqual(Object.keys(res.json()).slice(0, 2), ["cardNumber", "personIdentifier"]),
      ),
      // The columns are the same for everyone who manages cards.
      ok(200, (res) => assert.equal(res.json().cardNumber, 0)),
    ),
  },
  {
    route: "POST /esc-rest/api/v2/cards/validate-csv",
    variant: "(UPDATE of the owner's card)",
    url: () => `${ESCR}/cards/validate-csv?operation=UPDATE`,
    payload: (ctx) => cardCsv(ctx.escn, ctx.esi),
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx) => {
        assert.deepEqual(res.json(), { valid: true, rows: 1, errors: [] });
        // A dry run: the card is as it was.
        const card = await must(200, call("owner", "GET", `${ESCR}/cards/${ctx.escn}`));
        assert.equal(card.json().cardStatusType.key, "ACTIVE");
      }),
      // Another organisation's card is reported exactly as a card nobody has.
      ok(200, async (res, ctx, caller) => {
        assert.equal(res.json().valid, false);
        const control = await call(
          caller,
          "POST",
          `${ESCR}/cards/validate-csv?operation=UPDATE`,
          cardCsv(ctx.unknownEscn, ctx.esi),
        );
        assert.equal(res.body, control.body);
        assert.ok(!res.body.includes(ctx.esi));
      }),
    ),
  },
  // ---- ESC-R public operations: no token needed, and a token (even a bad one) changes nothing.
  {
    route: "GET /esc-rest/api/v2/cards/:escn/status",
    public: true,
    url: (ctx) => `${ESCR}/cards/${ctx.escn}/status`,
    outcomes: everyone(
      ok(200, (res, ctx) => {
        const body = res.json();
        assert.deepEqual(Object.keys(body).sort(), PUBLIC_STATUS_FIELDS);
        assert.equal(body.cardNumber, ctx.escn);
        assert.equal(body.status, "ACTIVE");
        assert.equal(body.issuerIdentifier, A);
        assert.ok(!res.body.includes(ctx.esi));
        assert.doesNotMatch(res.body, /Jeanne|jeanne@example\.org/);
      }),
    ),
  },
  {
    route: "GET /esc-rest/api/v2/cards/:escn/qr",
    public: true,
    url: (ctx) => `${ESCR}/cards/${ctx.escn}/qr`,
    outcomes: everyone(
      ok(200, (res) => {
        assert.match(String(res.headers["content-type"]), /^image\/svg\+xml/);
        assert.match(res.body, /<svg/);
      }),
    ),
  },
  {
    route: "GET /esc-rest/api/v2/cards/generate-escn",
    public: true,
    url: () => `${ESCR}/cards/generate-escn?prefix=1&pic=${A}`,
    outcomes: everyone(
      ok(200, (res) => {
        const escns = res.json();
        assert.equal(escns.length, 1);
        assert.match(escns[0], new RegExp(`-001${A}$`));
      }),
    ),
  },
  // ---- Operations endpoints
  {
    route: "GET /healthz",
    public: true,
    url: () => "/healthz",
    outcomes: everyone(ok(200, (res) => assert.deepEqual(res.json(), { status: "ok" }))),
  },
  {
    route: "GET /readyz",
    public: true,
    url: () => "/readyz",
    outcomes: everyone(ok(200, (res) => assert.equal(res.json().status, "ready"))),
  },
  // ---- /v1 organisations and tokens
  {
    route: "GET /v1/me",
    url: () => "/v1/me",
    outcomes: everyone(
      ok(200, (res, _ctx, caller) => {
        const body = res.json();
        assert.equal(body.organisation.id, ORGANISATION_OF[caller]);
        assert.deepEqual(
          body.actingFor,
          caller === "bureau" ? [CARD_BUREAU.id, A] : [ORGANISATION_OF[caller]],
        );
      }),
    ),
  },
  {
    route: "POST /v1/organisations",
    url: () => "/v1/organisations",
    payload: (ctx) => ({
      id: ctx.newOrgId,
      kind: "service-provider",
      name: "Musée d'exemple",
      country: "BE",
    }),
    outcomes: {
      ...everyone(FORBIDDEN),
      operator: ok(201, async (res, ctx) => {
        assert.equal(res.json().id, ctx.newOrgId);
        await must(200, call("operator", "GET", `/v1/organisations/${ctx.newOrgId}`));
      }),
    },
  },
  {
    route: "GET /v1/organisations",
    url: () => "/v1/organisations?limit=100",
    outcomes: everyone(
      ok(200, (res, _ctx, caller) => {
        const ids = res.json().items.map((o: { id: string }) => o.id);
        if (caller === "operator") {
          for (const id of [OPERATOR_ID, A, B, CARD_BUREAU.id, UNLISTED_BUREAU.id, CANTEEN.id])
            assert.ok(ids.includes(id), id);
        } else {
          assert.deepEqual(ids, [ORGANISATION_OF[caller]]);
        }
      }),
    ),
  },
  {
    route: "GET /v1/organisations/:id",
    url: (ctx) => `/v1/organisations/${ctx.orgId}`,
    outcomes: ownerAndOperator(
      ok(200, (res) => {
        assert.equal(res.json().id, A);
        assert.deepEqual(res.json().processors, [CARD_BUREAU.id]);
      }),
      ORGANISATION_NOT_FOUND,
    ),
  },
  {
    route: "PATCH /v1/organisations/:id",
    url: (ctx) => `/v1/organisations/${ctx.orgId}`,
    payload: (ctx) => ({ website: `https://www.univ-saint-valentin.fr/${ctx.tag}` }),
    outcomes: ownerAndOperator(
      ok(200, async (res, ctx) => {
        const website = `https://www.univ-saint-valentin.fr/${ctx.tag}`;
        assert.equal(res.json().website, website);
        const reread = await must(200, call("operator", "GET", `/v1/organisations/${A}`));
        assert.equal(reread.json().website, website);
      }),
      ORGANISATION_NOT_FOUND,
    ),
  },
  {
    route: "POST /v1/organisations/:id/tokens",
    url: (ctx) => `/v1/organisations/${ctx.orgId}/tokens`,
    payload: () => ({ name: "made in the matrix" }),
    outcomes: ownerAndOperator(
      ok(201, async (res) => {
        assert.equal(res.json().organisationId, A);
        assert.match(res.json().token, /^oesc_/);
        const me = await must(200, hub.request({ method: "GET", url: "/v1/me", token: res.json().token }));
        assert.equal(me.json().organisation.id, A);
      }),
      FORBIDDEN,
    ),
  },
  {
    route: "GET /v1/organisations/:id/tokens",
    url: (ctx) => `/v1/organisations/${ctx.orgId}/tokens`,
    outcomes: ownerAndOperator(
      ok(200, (res, ctx) => {
        const items = res.json().items;
        assert.ok(items.some((t: { id: string }) => t.id === ctx.tokenId));
        assert.ok(items.every((t: { organisationId: string }) => t.organisationId === A));
        assert.ok(!res.body.includes(ctx.spareToken), "a token list shows no secret");
        assert.doesNotMatch(res.body, /"(token|hash)"/);
      }),
      FORBIDDEN,
    ),
  },
  {
    route: "DELETE /v1/organisations/:id/tokens/:tokenId",
    url: (ctx) => `/v1/organisations/${ctx.orgId}/tokens/${ctx.tokenId}`,
    outcomes: ownerAndOperator(
      ok(200, async (res, ctx) => {
        assert.equal(res.json().id, ctx.tokenId);
        assert.notEqual(res.json().revokedAt, null);
        const after = await hub.request({ method: "GET", url: "/v1/me", token: ctx.spareToken });
        assert.equal(after.statusCode, 401);
        assert.equal(after.json().code, "TOKEN_REVOKED");
      }),
      FORBIDDEN,
    ),
  },
  // ---- /v1 persons
  {
    route: "GET /v1/persons",
    url: () => "/v1/persons?limit=100",
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx, caller) => {
        const items = await allItems(res, caller, "/v1/persons?limit=100");
        const mine = items.filter((p: { esi: string }) => p.esi === ctx.esi);
        assert.equal(mine.length, 1);
        assert.deepEqual(
          mine[0].links.map((l: { organisationId: string }) => l.organisationId),
          [A],
        );
      }),
      ok(200, async (res, ctx, caller) => {
        const items = await allItems(res, caller, "/v1/persons?limit=100");
        assert.ok(!items.some((p: { esi: string }) => p.esi === ctx.esi || p.esi === ctx.bareEsi));
      }),
    ),
  },
  {
    route: "GET /v1/persons/:esi",
    url: (ctx) => `/v1/persons/${e(ctx.esi)}`,
    outcomes: ownerAndBureau(
      ok(200, (res, ctx) => {
        assert.equal(res.json().esi, ctx.esi);
        assert.deepEqual(res.json().links, [
          {
            organisationId: A,
            fullName: "Jeanne Exemple",
            academicLevel: "MASTER",
            email: "jeanne@example.org",
          },
        ]);
      }),
      PERSON_NOT_FOUND,
    ),
  },
  // ---- /v1 rights of the data subject: through the student's institution (card bureaus have no part in it)
  {
    route: "GET /v1/persons/:esi/export",
    url: (ctx) => `/v1/persons/${e(ctx.esi)}/export`,
    outcomes: ownerAndBureau(
      ok(200, (res, ctx) => {
        assert.match(String(res.headers["content-disposition"]), /^attachment;/);
        const body = res.json();
        assert.equal(body.format, "openesc-person-export/1");
        assert.equal(body.exportedBy, A);
        assert.equal(body.person.esi, ctx.esi);
        assert.deepEqual(
          body.links.map((l: { organisationId: string; fullName: string }) => [l.organisationId, l.fullName]),
          [[A, "Jeanne Exemple"]],
        );
        assert.deepEqual(
          body.studentStatuses.map((s: { state: string }) => s.state),
          ["enrolled"],
        );
        assert.deepEqual(
          body.cards.map((c: { escn: string }) => c.escn),
          [ctx.escn],
        );
        const trail = body.auditTrail as { action: string; subject: string; organisationId: string }[];
        assert.ok(
          trail.some((t) => t.action === "create" && t.subject === ctx.escn && t.organisationId === A),
        );
        assert.equal(trail.at(-1)?.action, "export");
      }),
      PERSON_NOT_FOUND,
      { bureau: FORBIDDEN, unlistedBureau: FORBIDDEN },
    ),
  },
  {
    route: "POST /v1/persons/:esi/erasure",
    url: (ctx) => `/v1/persons/${e(ctx.esi)}/erasure`,
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx) => {
        assert.deepEqual(res.json(), {
          cardsDeleted: 1,
          statusesDeleted: 1,
          linksDeleted: 1,
          personDeleted: true,
        });
        await must(404, call("owner", "GET", `/v1/persons/${e(ctx.esi)}`));
        await must(404, call("owner", "GET", `/v1/student-statuses/${A}/${e(ctx.esi)}`));
        await must(404, call("owner", "GET", `${ESCR}/cards/${ctx.escn}`));
        await must(404, publicStatus(ctx.escn));
        // The other person of the owner is untouched.
        await must(200, call("owner", "GET", `/v1/persons/${e(ctx.bareEsi)}`));
      }),
      PERSON_NOT_FOUND,
      { bureau: FORBIDDEN, unlistedBureau: FORBIDDEN },
    ),
  },
  // ---- /v1 student statuses
  {
    route: "GET /v1/student-statuses",
    url: () => "/v1/student-statuses?limit=100",
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx, caller) => {
        const items = await allItems(res, caller, "/v1/student-statuses?limit=100");
        const mine = items.filter((s: { esi: string }) => s.esi === ctx.esi);
        assert.deepEqual(
          mine.map((s: { organisationId: string; state: string }) => [s.organisationId, s.state]),
          [[A, "enrolled"]],
        );
      }),
      ok(200, async (res, ctx, caller) => {
        const items = await allItems(res, caller, "/v1/student-statuses?limit=100");
        assert.ok(!items.some((s: { esi: string }) => s.esi === ctx.esi));
      }),
    ),
  },
  {
    route: "GET /v1/student-statuses",
    variant: "(filtered on the owner)",
    url: () => `/v1/student-statuses?limit=100&organisation=${A}`,
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx, caller) => {
        const items = await allItems(res, caller, `/v1/student-statuses?limit=100&organisation=${A}`);
        assert.ok(items.some((s: { esi: string }) => s.esi === ctx.esi));
        assert.ok(items.every((s: { organisationId: string }) => s.organisationId === A));
      }),
      ok(200, (res) => assert.deepEqual(res.json(), { items: [], next: null })),
    ),
  },
  {
    route: "GET /v1/student-statuses/:organisationId/:esi",
    variant: "(the owner's status)",
    url: (ctx) => `/v1/student-statuses/${A}/${e(ctx.esi)}`,
    outcomes: ownerAndBureau(
      ok(200, (res, ctx) => {
        assert.equal(res.json().esi, ctx.esi);
        assert.equal(res.json().organisationId, A);
        assert.equal(res.json().state, "enrolled");
      }),
      STATUS_NOT_FOUND,
    ),
  },
  {
    route: "GET /v1/student-statuses/:organisationId/:esi",
    variant: "(the owner's student at the caller)",
    url: (ctx, caller) => `/v1/student-statuses/${actsAs(caller)}/${e(ctx.esi)}`,
    outcomes: ownerAndBureau(
      ok(200, (res) => assert.equal(res.json().state, "enrolled")),
      STATUS_NOT_FOUND,
    ),
  },
  {
    route: "PUT /v1/student-statuses/:organisationId/:esi",
    variant: "(the owner's status)",
    url: (ctx) => `/v1/student-statuses/${A}/${e(ctx.esi)}`,
    payload: () => SUSPENDED,
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx) => {
        assert.equal(res.json().state, "suspended");
        const card = await must(200, call("owner", "GET", `/v1/cards/${ctx.escn}`));
        assert.equal(card.json().verdict, "suspended");
      }),
      PERSON_NOT_FOUND,
      // A card bureau reads statuses but never sets them.
      { bureau: SCOPE_MISSING, unlistedBureau: SCOPE_MISSING },
    ),
  },
  {
    route: "PUT /v1/student-statuses/:organisationId/:esi",
    variant: "(the owner's student at the caller)",
    url: (ctx, caller) => `/v1/student-statuses/${actsAs(caller)}/${e(ctx.esi)}`,
    payload: () => SUSPENDED,
    outcomes: ownerAndBureau(
      ok(200, (res) => assert.equal(res.json().state, "suspended")),
      PERSON_NOT_FOUND,
      {
        bureau: SCOPE_MISSING,
        unlistedBureau: SCOPE_MISSING,
      },
    ),
  },
  // ---- /v1 cards
  {
    route: "GET /v1/cards",
    url: () => "/v1/cards?limit=100",
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx, caller) => {
        const items = await allItems(res, caller, "/v1/cards?limit=100");
        assert.equal(items.filter((c: { escn: string }) => c.escn === ctx.escn).length, 1);
      }),
      ok(200, async (res, ctx, caller) => {
        const items = await allItems(res, caller, "/v1/cards?limit=100");
        assert.ok(
          !items.some((c: { escn: string; esi: string }) => c.escn === ctx.escn || c.esi === ctx.esi),
        );
      }),
    ),
  },
  {
    route: "GET /v1/cards/:escn",
    url: (ctx) => `/v1/cards/${ctx.escn}`,
    outcomes: ownerAndBureau(
      ok(200, (res, ctx) => {
        assert.equal(res.json().escn, ctx.escn);
        assert.equal(res.json().esi, ctx.esi);
        assert.equal(res.json().issuerId, A);
        assert.equal(res.json().verdict, "valid");
      }),
      CARD_NOT_FOUND,
    ),
  },
  {
    route: "PATCH /v1/cards/:escn",
    url: (ctx) => `/v1/cards/${ctx.escn}`,
    payload: () => ({ status: "INACTIVE", inactiveReason: "lost" }),
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx) => {
        assert.equal(res.json().status, "INACTIVE");
        assert.equal(res.json().inactiveReason, "lost");
        assert.equal((await publicStatus(ctx.escn)).json().status, "INACTIVE");
      }),
      CARD_NOT_FOUND,
    ),
  },
  // ---- /v1 imports and connectors: each institution or student-service organisation its own
  {
    route: "POST /v1/imports",
    url: () => "/v1/imports",
    payload: (ctx) => new MultipartBody(`esi,fullName\n${ctx.esi},Renamed ${ctx.tag}\n`),
    outcomes: connectorsOwnerOnly(
      ok(200, async (res, ctx) => {
        assert.deepEqual([res.json().state, res.json().updated, res.json().created], ["completed", 1, 0]);
        const person = await must(200, call("owner", "GET", `/v1/persons/${e(ctx.esi)}`));
        assert.equal(person.json().links[0].fullName, `Renamed ${ctx.tag}`);
      }),
      // Another institution imports for itself: a link of its own, A's untouched, and an answer that does
      // not tell that A holds the student.
      ok(200, async (res, ctx) => {
        assert.deepEqual([res.json().updated, res.json().created], [0, 1]);
        const person = await must(200, call("owner", "GET", `/v1/persons/${e(ctx.esi)}`));
        assert.deepEqual(
          person.json().links.map((l: { fullName: string }) => l.fullName),
          ["Jeanne Exemple"],
        );
        const theirs = await must(200, call("other", "GET", `/v1/persons/${e(ctx.esi)}`));
        assert.deepEqual(
          theirs.json().links.map((l: { organisationId: string }) => l.organisationId),
          [B],
        );
      }),
    ),
  },
  {
    route: "GET /v1/connectors",
    url: () => "/v1/connectors",
    outcomes: connectorsOwnerOnly(
      ok(200, (res) => assert.deepEqual(res.json(), { items: [] })),
      ok(200, (res) => assert.deepEqual(res.json(), { items: [] })),
    ),
  },
  {
    route: "GET /v1/connectors/runs",
    url: () => "/v1/connectors/runs?limit=100",
    outcomes: connectorsOwnerOnly(
      ok(200, (res, ctx) => assert.equal(res.json().items[0].id, Number(ctx.runId))),
      ok(200, (res) =>
        assert.ok(res.json().items.every((r: { connector: string }) => r.connector === "upload")),
      ),
    ),
  },
  {
    route: "GET /v1/connectors/runs/:id",
    url: (ctx) => `/v1/connectors/runs/${ctx.runId}`,
    outcomes: connectorsOwnerOnly(
      ok(200, (res, ctx) => {
        assert.equal(res.json().id, Number(ctx.runId));
        assert.equal(res.json().connector, "sis");
      }),
      refused(404, "CONNECTOR_RUN_NOT_FOUND"),
    ),
  },
  // ---- /v1 audit trail: for the organisations that hold student data, about their own students and cards
  {
    route: "GET /v1/audit",
    url: () => "/v1/audit?limit=100",
    outcomes: ownerAndBureau(
      ok(200, (res) => assert.ok(res.json().items.length > 0)),
      ok(200, async (res, ctx, caller) => {
        const items = await allItems(res, caller, "/v1/audit?limit=100");
        assert.ok(
          items.every((x: { organisationId: string }) => x.organisationId === ORGANISATION_OF[caller]),
        );
        assert.ok(!items.some((x: { subject: string }) => x.subject === ctx.escn));
      }),
    ),
  },
  {
    route: "GET /v1/audit",
    variant: "(one student: esi)",
    url: (ctx) => `/v1/audit?limit=100&esi=${e(ctx.esi)}`,
    outcomes: ownerAndBureau(
      ok(200, (res, ctx) => {
        const items = res.json().items as { organisationId: string; action: string; subject: string }[];
        assert.ok(items.every((x) => x.subject === ctx.escn || /^\d+$/.test(x.subject)));
        assert.ok(
          items.some((x) => x.subject === ctx.escn && x.action === "create" && x.organisationId === A),
        );
        assert.doesNotMatch(res.body, /personId|Jeanne|jeanne@example\.org/);
      }),
      PERSON_NOT_FOUND,
    ),
  },
  {
    route: "GET /v1/audit",
    variant: "(one card: escn)",
    url: (ctx) => `/v1/audit?limit=100&escn=${ctx.escn}`,
    outcomes: ownerAndBureau(
      ok(200, (res, ctx) => {
        const items = res.json().items as { organisationId: string; action: string; subject: string }[];
        assert.ok(items.every((x) => x.subject === ctx.escn));
        assert.ok(items.some((x) => x.action === "create" && x.organisationId === A));
      }),
      CARD_NOT_FOUND,
    ),
  },
  // ---- /v1 consents: recorded through the student's institution only (card bureaus have no part in it)
  {
    route: "GET /v1/consent-wordings",
    public: true,
    url: () => "/v1/consent-wordings",
    outcomes: everyone(
      ok(200, (res) => {
        assert.deepEqual(
          res
            .json()
            .items.map((w: { purpose: string }) => w.purpose)
            .sort(),
          ["credential-issuance", "display-name-publication", "status-sharing"],
        );
      }),
    ),
  },
  {
    route: "GET /v1/persons/:esi/consents",
    url: (ctx) => `/v1/persons/${e(ctx.esi)}/consents`,
    outcomes: ownerAndBureau(
      ok(200, (res, ctx) => {
        assert.deepEqual(
          res
            .json()
            .items.map((c: { esi: string; purpose: string; state: string; recordedBy: string }) => [
              c.esi,
              c.purpose,
              c.state,
              c.recordedBy,
            ]),
          [[ctx.esi, "credential-issuance", "given", A]],
        );
      }),
      PERSON_NOT_FOUND,
      { bureau: FORBIDDEN, unlistedBureau: FORBIDDEN },
    ),
  },
  {
    route: "PUT /v1/persons/:esi/consents/:purpose",
    url: (ctx) => `/v1/persons/${e(ctx.esi)}/consents/status-sharing`,
    payload: () => CONSENT,
    outcomes: ownerAndBureau(
      ok(201, async (res, ctx) => {
        assert.equal(res.json().state, "given");
        const card = await must(200, call("owner", "GET", `${ESCR}/cards/${ctx.escn}`));
        assert.equal(card.json().hasOwnerAuthorization, true);
      }),
      PERSON_NOT_FOUND,
      { bureau: FORBIDDEN, unlistedBureau: FORBIDDEN },
    ),
  },
  {
    route: "DELETE /v1/persons/:esi/consents/:purpose",
    url: (ctx) => `/v1/persons/${e(ctx.esi)}/consents/credential-issuance`,
    outcomes: ownerAndBureau(
      ok(200, async (res, ctx) => {
        assert.equal(res.json().state, "withdrawn");
        const reread = await must(200, call("owner", "GET", `/v1/persons/${e(ctx.esi)}/consents`));
        assert.equal(reread.json().items[0].state, "withdrawn");
      }),
      PERSON_NOT_FOUND,
      { bureau: FORBIDDEN, unlistedBureau: FORBIDDEN },
    ),
  },
  // ---- Webhook subscriptions and the event feed: each organisation has its own; the operator has none.
  {
    route: "POST /v1/subscriptions",
    url: () => "/v1/subscriptions",
    payload: (ctx) => ({ url: `https://hooks.example.org/new-${ctx.tag}`, types: ["card.updated"] }),
    outcomes: {
      ...everyone(
        ok(201, async (res, ctx, caller) => {
          assert.match(res.json().secret, /^whsec_/);
          const mine = await must(200, call(caller, "GET", "/v1/subscriptions?limit=100"));
          assert.ok(mine.json().items.some((s: { id: string }) => s.id === res.json().id));
          const owners = await must(200, call("owner", "GET", "/v1/subscriptions?limit=100"));
          const ownerHasIt = owners.json().items.some((s: { id: string }) => s.id === res.json().id);
          assert.equal(ownerHasIt, caller === "owner", ctx.tag);
        }),
      ),
      operator: SCOPE_MISSING,
    },
  },
  {
    route: "GET /v1/subscriptions",
    url: () => "/v1/subscriptions?limit=100",
    outcomes: {
      ...everyone(
        ok(200, async (res, ctx, caller) => {
          const items = await allItems(res, caller, "/v1/subscriptions?limit=100");
          assert.equal(
            items.some((s: { id: string }) => s.id === ctx.subscriptionId),
            caller === "owner",
          );
          assert.ok(items.every((s: Record<string, unknown>) => s["secret"] === undefined));
        }),
      ),
      operator: SCOPE_MISSING,
    },
  },
  {
    route: "GET /v1/subscriptions/:id",
    url: (ctx) => `/v1/subscriptions/${ctx.subscriptionId}`,
    outcomes: subscriptionOwnerOnly(
      ok(200, (res, ctx) => {
        const body = res.json();
        assert.equal(body.id, ctx.subscriptionId);
        assert.equal(body.cards, 1);
        assert.equal(body.deliveries.dead, 1);
        assert.equal(body.secret, undefined);
      }),
    ),
  },
  {
    route: "PATCH /v1/subscriptions/:id",
    url: (ctx) => `/v1/subscriptions/${ctx.subscriptionId}`,
    payload: () => ({ state: "paused", url: "https://attacker.example/steal" }),
    outcomes: subscriptionOwnerOnly(
      ok(200, async (res, ctx) => {
        assert.equal(res.json().state, "paused");
        const reread = await must(200, call("owner", "GET", `/v1/subscriptions/${ctx.subscriptionId}`));
        assert.equal(reread.json().url, "https://attacker.example/steal");
      }),
    ),
  },
  {
    route: "DELETE /v1/subscriptions/:id",
    url: (ctx) => `/v1/subscriptions/${ctx.subscriptionId}`,
    outcomes: subscriptionOwnerOnly(
      ok(204, async (_res, ctx) => {
        await must(404, call("owner", "GET", `/v1/subscriptions/${ctx.subscriptionId}`));
      }),
    ),
  },
  {
    route: "POST /v1/subscriptions/:id/cards",
    url: (ctx) => `/v1/subscriptions/${ctx.subscriptionId}/cards`,
    payload: (ctx) => ({ add: [ctx.newEscn], remove: [ctx.escn] }),
    outcomes: subscriptionOwnerOnly(
      ok(200, async (res, ctx) => {
        assert.deepEqual(res.json(), { added: 1, removed: 1, cards: 1 });
        const cards = await must(200, call("owner", "GET", `/v1/subscriptions/${ctx.subscriptionId}/cards`));
        assert.deepEqual(cards.json().items, [ctx.newEscn]);
      }),
    ),
  },
  {
    route: "GET /v1/subscriptions/:id/cards",
    url: (ctx) => `/v1/subscriptions/${ctx.subscriptionId}/cards`,
    outcomes: subscriptionOwnerOnly(ok(200, (res, ctx) => assert.deepEqual(res.json().items, [ctx.escn]))),
  },
  {
    route: "GET /v1/subscriptions/:id/deliveries",
    url: (ctx) => `/v1/subscriptions/${ctx.subscriptionId}/deliveries`,
    outcomes: subscriptionOwnerOnly(
      ok(200, (res, ctx) => {
        const [delivery] = res.json().items;
        assert.equal(delivery.id, Number(ctx.deliveryId));
        assert.equal(delivery.state, "dead");
      }),
    ),
  },
  {
    route: "POST /v1/subscriptions/:id/redeliver",
    url: (ctx) => `/v1/subscriptions/${ctx.subscriptionId}/redeliver`,
    outcomes: subscriptionOwnerOnly(ok(200, (res) => assert.equal(res.json().redelivered, 1))),
  },
  {
    route: "POST /v1/subscriptions/:id/deliveries/:deliveryId/redeliver",
    url: (ctx) => `/v1/subscriptions/${ctx.subscriptionId}/deliveries/${ctx.deliveryId}/redeliver`,
    outcomes: subscriptionOwnerOnly(
      ok(200, async (res, ctx) => {
        assert.equal(res.json().redelivered, 1);
        const pending = await must(
          200,
          call("owner", "GET", `/v1/subscriptions/${ctx.subscriptionId}/deliveries?state=pending`),
        );
        assert.equal(pending.json().items.length, 1);
      }),
    ),
  },
  {
    route: "GET /v1/events",
    url: (ctx) => `/v1/events?after=${ctx.feedStart}&limit=100`,
    outcomes: {
      ...everyone(
        ok(200, (res, ctx, caller) => {
          const subjects = res.json().items.map((e: { subject: string }) => e.subject);
          // The owner sees this test's events; nobody else sees any (the bureau only those of cards it processes).
          const sees = caller === "owner";
          assert.equal(subjects.includes(ctx.escn), sees, `${caller}: ${res.body}`);
          if (caller !== "owner") assert.ok(!res.body.includes(ctx.esi), `${caller} saw the ESI`);
        }),
      ),
      operator: SCOPE_MISSING,
    },
  },
  {
    route: "GET /v1/events/stream",
    stream: true,
    url: (ctx) => `/v1/events/stream?after=${ctx.feedStart}`,
    outcomes: { ...everyone(ok(200)), operator: SCOPE_MISSING },
  },
  {
    route: "GET /asyncapi.json",
    public: true,
    url: () => "/asyncapi.json",
    outcomes: everyone(ok(200, (res) => assert.equal(res.json().asyncapi, "3.0.0"))),
  },
  // ---- Credentials on the native API: the card's issuer offers it, and manages its own signing keys.
  {
    route: "POST /v1/credential-offers",
    url: () => "/v1/credential-offers",
    payload: (ctx) => ({ escn: ctx.escn }),
    outcomes: {
      owner: ok(201, async (res) => {
        const made = res.json();
        assert.match(made.credentialOfferUri, new RegExp(`^${ISSUER_OF_A}/credential-offers/`));
        assert.match(made.txCode, /^[0-9]{6}$/);
        await must(200, call("none", "GET", new URL(made.credentialOfferUri).pathname));
      }),
      // A card bureau prints the owner's cards but issues no credentials.
      bureau: SCOPE_MISSING,
      other: CARD_NOT_FOUND,
      unlistedBureau: SCOPE_MISSING,
      serviceProvider: SCOPE_MISSING,
      operator: SCOPE_MISSING,
    },
  },
  {
    route: "GET /v1/organisations/:id/issuer-keys",
    url: (ctx) => `/v1/organisations/${ctx.orgId}/issuer-keys`,
    outcomes: issuerOnly(
      ok(200, (res) => {
        const items = res.json().items as { state: string; publicJwk: Record<string, unknown> }[];
        assert.equal(items.filter((k) => k.state === "active").length, 1);
        assert.ok(items.every((k) => k.publicJwk["d"] === undefined));
        assert.doesNotMatch(res.body, /sealed|privateKey/i);
      }),
    ),
  },
  {
    route: "POST /v1/organisations/:id/issuer-keys",
    url: (ctx) => `/v1/organisations/${ctx.orgId}/issuer-keys`,
    payload: () => ({}),
    outcomes: issuerOnly(
      ok(201, async (res) => {
        const made = res.json();
        assert.equal(made.state, "active");
        const listed = await must(200, call("owner", "GET", `/v1/organisations/${A}/issuer-keys`));
        const active = listed.json().items.filter((k: { state: string }) => k.state === "active");
        assert.deepEqual(
          active.map((k: { kid: string }) => k.kid),
          [made.kid],
        );
      }),
    ),
  },
  {
    route: "POST /v1/credential-verifications",
    public: true,
    credentials: true,
    url: () => "/v1/credential-verifications",
    payload: (ctx) => ({ presentation: ctx.presentation, audience: VERIFIER, nonce: ctx.tag }),
    outcomes: everyone(
      ok(200, (res) => {
        const body = res.json();
        assert.equal(body.valid, true, res.body);
        assert.equal(body.issuer, ISSUER_OF_A);
        assert.doesNotMatch(res.body, /Jeanne|wallet-holder/);
      }),
    ),
  },
  // ---- The mirror to an ESC Router: A's own, which only A sees.
  {
    route: "GET /v1/mirror",
    url: () => "/v1/mirror",
    outcomes: mirrorOwnerOnly(
      ok(200, (res) => {
        const body = res.json();
        assert.equal(body.organisation, A);
        assert.equal(body.url, MIRROR_URL);
        assert.ok(body.refused >= 1, res.body);
        assert.doesNotMatch(res.body, /router-token/);
      }),
    ),
  },
  {
    route: "GET /v1/mirror/refusals",
    url: () => "/v1/mirror/refusals?limit=100",
    outcomes: mirrorOwnerOnly(
      ok(200, (res) => {
        const subjects = res.json().items.map((r: { subject: string }) => r.subject);
        assert.ok(subjects.includes(MIRROR_REFUSED_ESCN), res.body);
      }),
    ),
  },
  // ---- What each issuer publishes, and the OpenID4VCI endpoints: no API token; one changes nothing.
  ...(
    [
      ["jwt-vc-issuer", (body: { issuer: string; jwks: { keys: unknown[] } }) => body.jwks.keys.length > 0],
      [
        "openid-credential-issuer",
        (body: { credential_endpoint: string }) => body.credential_endpoint === `${ISSUER_OF_A}/credential`,
      ],
      [
        "oauth-authorization-server",
        (body: { token_endpoint: string }) => body.token_endpoint === `${ISSUER_OF_A}/token`,
      ],
    ] as [string, (body: never) => boolean][]
  ).map(
    ([kind, holds]): RouteCase => ({
      route: `GET /.well-known/${kind}/issuers/:organisationId`,
      public: true,
      url: () => `/.well-known/${kind}/issuers/${A}`,
      outcomes: everyone(ok(200, (res) => assert.ok(holds(res.json() as never), res.body))),
    }),
  ),
  {
    route: "GET /issuers/ca.pem",
    public: true,
    url: () => "/issuers/ca.pem",
    outcomes: everyone(ok(200, (res) => assert.match(res.body, /^-----BEGIN CERTIFICATE-----\n/))),
  },
  {
    route: "GET /issuers/:organisationId/status-lists/:listId",
    public: true,
    url: () => credential.statusList,
    outcomes: everyone(
      ok(200, (res) => {
        assert.equal(res.headers["content-type"], "application/statuslist+jwt");
        assert.equal(decodeJwt(res.body).sub, `https://hub.example.org${credential.statusList}`);
      }),
    ),
  },
  {
    route: "GET /issuers/:organisationId/credential-offers/:offerId",
    public: true,
    credentials: true,
    url: (ctx) => `/issuers/${A}/credential-offers/${ctx.offerId}`,
    outcomes: everyone(
      ok(200, (res, ctx) => {
        const body = res.json();
        assert.equal(body.credential_issuer, ISSUER_OF_A);
        const code = body.grants[PRE_AUTHORIZED_GRANT]["pre-authorized_code"];
        assert.ok(code && code !== ctx.preAuthorizedCode, "a fresh pre-authorized code");
      }),
    ),
  },
  {
    route: "POST /issuers/:organisationId/nonce",
    public: true,
    url: () => `/issuers/${A}/nonce`,
    outcomes: everyone(ok(200, (res) => assert.match(res.json().c_nonce, /^[\w-]{32,}$/))),
  },
  {
    route: "POST /issuers/:organisationId/token",
    public: true,
    credentials: true,
    url: () => `/issuers/${A}/token`,
    payload: (ctx) =>
      new URLSearchParams({
        grant_type: PRE_AUTHORIZED_GRANT,
        "pre-authorized_code": ctx.preAuthorizedCode,
        tx_code: ctx.txCode,
      }),
    outcomes: everyone(
      ok(200, (res) => {
        assert.equal(res.json().token_type, "Bearer");
        assert.ok(res.json().access_token);
      }),
    ),
  },
  {
    // An API token, of whatever organisation, is not the access token the token endpoint gives.
    route: "POST /issuers/:organisationId/credential",
    public: true,
    url: () => `/issuers/${A}/credential`,
    payload: () => ({ credential_configuration_id: "eu.europa.ec.eudi.esc.1", proofs: { jwt: ["a.b.c"] } }),
    outcomes: everyone(oauthRefused(401, "invalid_token")),
  },
];

const methodOf = (c: RouteCase) => c.route.split(" ")[0] ?? "";
const caseName = (c: RouteCase) => (c.variant ? `${c.route} ${c.variant}` : c.route);

function expectedFor(c: RouteCase, caller: Caller): Outcome {
  if (AUTHENTICATED.includes(caller as Authenticated)) return c.outcomes[caller as Authenticated];
  if (c.public) return c.outcomes.owner;
  return refused(401, UNAUTHENTICATED_CODES[caller as Unauthenticated]);
}

/** Organisation routes echo the identifier they were asked about; that is not a leak, so it is blanked. */
function comparable(res: LightMyRequestResponse, route: string): string {
  const body = route.includes("/v1/organisations/")
    ? res.body.replaceAll(A, "<id>").replaceAll(UNKNOWN_ORGANISATION, "<id>")
    : res.body;
  return `${res.statusCode} ${res.headers["content-type"]} ${body}`;
}

describe("authorisation matrix: every route × every caller", () => {
  before(async () => {
    hub = await startTestHub({
      clock,
      env: { OPENESC_MIRRORS: JSON.stringify([{ organisation: A, url: MIRROR_URL, token: "router-token" }]) },
    });
    tokens.owner = await hub.onboard(UNIVERSITY);
    tokens.other = await hub.onboard(OTHER_UNIVERSITY);
    tokens.bureau = await hub.onboard(CARD_BUREAU);
    tokens.unlistedBureau = await hub.onboard(UNLISTED_BUREAU);
    tokens.serviceProvider = await hub.onboard(CANTEEN);
    tokens.operator = ADMIN_TOKEN;
    await seedMirrorRefusal();
    // A lets its card bureau act for it.
    await must(200, call("owner", "PATCH", `/v1/organisations/${A}`, { processors: [CARD_BUREAU.id] }));

    // A token of the owner that A itself revokes…
    const doomed = await must(
      201,
      call("owner", "POST", `/v1/organisations/${A}/tokens`, { name: "doomed" }),
    );
    tokens.revoked = doomed.json().token;
    await must(200, call("revoked", "GET", "/v1/me"));
    await must(200, call("owner", "DELETE", `/v1/organisations/${A}/tokens/${doomed.json().id}`));

    // …and one that expires five seconds from now, which works until the clock moves past it.
    const shortLived = await must(
      201,
      call("owner", "POST", `/v1/organisations/${A}/tokens`, {
        name: "short-lived",
        expiresAt: "2026-10-01T08:00:05Z",
      }),
    );
    tokens.expired = shortLived.json().token;
    await must(200, call("expired", "GET", "/v1/me"));
    clock.set("2026-10-01T09:00:00.000Z");

    tokens.unknownToken = `oesc_${"x".repeat(43)}`;

    // A credential of A's, held by a student no case touches: presented, and its status list read, by cases.
    const holder = await enrolledStudent(hub, {
      token: tokens.owner,
      esi: "urn:schac:personalUniqueCode:int:esi:fr:wallet-holder",
    });
    const holderKey = generateHolderKey();
    const made = await offer(hub, holder);
    const received = await receiveCredential({
      offer: made["credentialOfferUri"] ?? "",
      txCode: made["txCode"] ?? "",
      holderKey,
      fetch: inProcessNetwork(hub).wallet,
      now: () => clock.now(),
    });
    const status = decodeJwt(received.credential.split("~")[0] ?? "")["status"] as {
      status_list: { uri: string };
    };
    credential = {
      value: received.credential,
      holderKey,
      statusList: new URL(status.status_list.uri).pathname,
    };
    // The event stream is read over real HTTP.
    await hub.app.listen({ port: 0, host: "127.0.0.1" });
  });
  after(() => hub.close());

  it("covers every operation of the API document", async () => {
    const doc = (await must(200, call("none", "GET", "/openapi.json"))).json();
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, operations]) =>
      Object.keys(operations).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
    );
    const covered = new Set(CASES.map((c) => c.route));
    assert.deepEqual(
      documented.filter((r) => !covered.has(r)),
      [],
    );
    assert.deepEqual(
      [...covered].filter((r) => !documented.includes(r)),
      [],
    );
  });

  describe("what the matrix implies, spelled out", () => {
    it("another organisation's person, card and status answer byte for byte as unknown ones", async () => {
      const ctx = await fresh();
      const pairs: [string, string][] = [
        [`${ESCR}/persons/${e(ctx.esi)}`, `${ESCR}/persons/${e(ctx.unknownEsi)}`],
        [`/v1/persons/${e(ctx.esi)}`, `/v1/persons/${e(ctx.unknownEsi)}`],
        [`${ESCR}/cards/${ctx.escn}`, `${ESCR}/cards/${ctx.unknownEscn}`],
        [`/v1/cards/${ctx.escn}`, `/v1/cards/${ctx.unknownEscn}`],
        [`/v1/student-statuses/${A}/${e(ctx.esi)}`, `/v1/student-statuses/${A}/${e(ctx.unknownEsi)}`],
      ];
      for (const [held, unknown] of pairs) {
        for (const caller of ["other", "unlistedBureau"] as const) {
          const answer = await call(caller, "GET", held);
          const control = await call(caller, "GET", unknown);
          assert.equal(answer.statusCode, 404, held);
          assert.equal(answer.headers["content-type"], control.headers["content-type"]);
          assert.equal(answer.body, control.body, held);
        }
      }
    });

    it("a second institution sharing the owner's student sees and changes only its own link, on both APIs", async () => {
      const ctx = await fresh();
      const asB = (esi: string, fullName = "Jan Kowalski") => ({
        identifier: esi,
        fullName,
        personOrganisationUpdateViews: [
          { organisationIdentifier: B, academicLevel: "BACHELOR", email: "jan@example.pl" },
        ],
      });
      const ownersView = async () =>
        [
          await must(200, call("owner", "GET", `${ESCR}/persons/${e(ctx.esi)}`)),
          await must(200, call("owner", "GET", `/v1/persons/${e(ctx.esi)}`)),
        ].map((res) => res.body);
      const ownersBefore = await ownersView();

      // B posts the ESI A holds, and a brand-new one: the two answers differ only by the ESI.
      tick();
      const held = await must(201, call("other", "POST", `${ESCR}/persons`, asB(ctx.esi)));
      const brandNew = await must(201, call("other", "POST", `${ESCR}/persons`, asB(ctx.newEsi)));
      assert.equal(held.body.replace(ctx.esi, "<esi>"), brandNew.body.replace(ctx.newEsi, "<esi>"));
      assert.equal(held.json().organisationCount, 1);
      onlyLinkOf(held.json(), B);
      assert.doesNotMatch(held.body, /Jeanne|jeanne@example\.org|MASTER/);
      // So do the native reads, timestamps included: nothing says that A held the student first.
      const heldRead = await must(200, call("other", "GET", `/v1/persons/${e(ctx.esi)}`));
      const newRead = await must(200, call("other", "GET", `/v1/persons/${e(ctx.newEsi)}`));
      assert.equal(heldRead.body.replace(ctx.esi, "<esi>"), newRead.body.replace(ctx.newEsi, "<esi>"));
      assert.deepEqual(heldRead.json().links, [
        { organisationId: B, fullName: "Jan Kowalski", academicLevel: "BACHELOR", email: "jan@example.pl" },
      ]);

      // B renames its link, issues a card, withdraws it and removes its link: A's view never moves.
      tick();
      const renamed = await must(
        200,
        call("other", "PUT", `${ESCR}/persons/${e(ctx.esi)}`, asB(ctx.esi, "J. K.")),
      );
      onlyLinkOf(renamed.json(), B);
      assert.equal(renamed.json().fullName, "J. K.");
      const theirCard = await must(201, call("other", "POST", `${ESCR}/cards`, cardPayload(ctx.esi, B)));
      assert.equal(theirCard.json().person.fullName, "J. K.");
      await must(404, call("owner", "GET", `${ESCR}/cards/${theirCard.json().cardNumber}`));
      await must(404, call("other", "GET", `${ESCR}/cards/${ctx.escn}`));
      assert.deepEqual(await ownersView(), ownersBefore);
      tick();
      await must(204, call("other", "DELETE", `${ESCR}/cards/${theirCard.json().cardNumber}`));
      await must(204, call("other", "DELETE", `${ESCR}/persons/${e(ctx.esi)}`));
      await must(404, call("other", "GET", `${ESCR}/persons/${e(ctx.esi)}`));
      assert.deepEqual(await ownersView(), ownersBefore);
    });

    it("a token limited to read scopes reads the owner's data and writes nothing", async () => {
      const ctx = await fresh();
      const made = await must(
        201,
        call("owner", "POST", `/v1/organisations/${A}/tokens`, {
          name: "read only",
          scopes: ["persons:read", "cards:read", "statuses:read"],
        }),
      );
      const token = made.json().token as string;
      const as = (method: string, url: string, payload?: object) =>
        hub.request({ method: method as HTTPMethods, url, token, ...(payload ? { payload } : {}) });
      await must(200, as("GET", `${ESCR}/persons/${e(ctx.esi)}`));
      await must(200, as("GET", `/v1/cards/${ctx.escn}`));
      await must(200, as("GET", `/v1/student-statuses/${A}/${e(ctx.esi)}`));
      const unchanged = await snapshot(ctx);
      const writes: [string, string, object | undefined][] = [
        ["POST", `${ESCR}/persons`, personPayload(ctx.newEsi, A)],
        ["PUT", `${ESCR}/persons/${e(ctx.esi)}`, personPayload(ctx.esi, A, { fullName: "Changed" })],
        ["DELETE", `${ESCR}/persons/${e(ctx.bareEsi)}`, undefined],
        ["POST", `${ESCR}/cards`, cardPayload(ctx.esi, A, { cardNumber: ctx.newEscn })],
        ["PUT", `${ESCR}/cards/${ctx.escn}`, cardPayload(ctx.esi, A, { cardStatusType: "INACTIVE" })],
        ["DELETE", `${ESCR}/cards/${ctx.escn}`, undefined],
        ["PATCH", `/v1/cards/${ctx.escn}`, { status: "INACTIVE" }],
        ["PUT", `/v1/student-statuses/${A}/${e(ctx.esi)}`, SUSPENDED],
        ["PUT", `/v1/persons/${e(ctx.esi)}/consents/status-sharing`, CONSENT],
        ["DELETE", `/v1/persons/${e(ctx.esi)}/consents/credential-issuance`, undefined],
        ["POST", `/v1/organisations/${A}/tokens`, { name: "escalation" }],
        ["GET", `/v1/organisations/${A}/tokens`, undefined],
        ["DELETE", `/v1/organisations/${A}/tokens/${ctx.tokenId}`, undefined],
        ["POST", "/v1/credential-offers", { escn: ctx.escn }],
        ["GET", `/v1/organisations/${A}/issuer-keys`, undefined],
        ["POST", `/v1/organisations/${A}/issuer-keys`, {}],
      ];
      for (const [method, url, payload] of writes) {
        const res = await as(method, url, payload);
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
        assert.equal(res.json().code, "SCOPE_MISSING", `${method} ${url}`);
      }
      assert.deepEqual(await snapshot(ctx), unchanged);
    });

    it("an organisation revokes only its own tokens, whatever path it names", async () => {
      const ctx = await fresh();
      const theirs = await must(201, call("other", "POST", `/v1/organisations/${B}/tokens`, { name: "B's" }));
      const id = theirs.json().id as string;
      // A names B's token under its own organisation: no such token there.
      const res = await call("owner", "DELETE", `/v1/organisations/${A}/tokens/${id}`);
      assertRefusal(res, "/v1/organisations", refused(404, "TOKEN_NOT_FOUND"));
      const control = await call("owner", "DELETE", `/v1/organisations/${A}/tokens/${randomUUID()}`);
      assert.equal(res.body, control.body);
      // …and under B's: refused before any lookup.
      assertRefusal(await call("owner", "DELETE", `/v1/organisations/${B}/tokens/${id}`), "/v1", FORBIDDEN);
      const me = await hub.request({ method: "GET", url: "/v1/me", token: theirs.json().token });
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json().organisation.id, B);
      // The spare token of A was untouched too.
      await must(200, hub.request({ method: "GET", url: "/v1/me", token: ctx.spareToken }));
    });

    it("the public status shows displayName only once the issuer chooses to, and only the issuer or the operator chooses", async () => {
      const ctx = await fresh();
      // The holder consents; what this test is about is the issuer's choice.
      tick();
      await must(
        201,
        call("owner", "PUT", `/v1/persons/${e(ctx.esi)}/consents/display-name-publication`, CONSENT),
      );
      const shown = async () => (await must(200, publicStatus(ctx.escn))).json().displayName;
      const setShow = (caller: Caller, value: boolean) =>
        call(caller, "PATCH", `/v1/organisations/${A}`, { showDisplayName: value });
      try {
        assert.equal(await shown(), undefined);
        for (const caller of ["other", "bureau", "unlistedBureau", "serviceProvider"] as const) {
          const res = await setShow(caller, true);
          assert.equal(res.statusCode, 404, `${caller}: ${res.body}`);
          assert.equal(res.json().code, "ORGANISATION_NOT_FOUND");
          assert.equal(await shown(), undefined, caller);
        }
        for (const caller of ["revoked", "expired", "none"] as const) {
          await must(401, setShow(caller, true));
          assert.equal(await shown(), undefined, caller);
        }
        await must(200, setShow("owner", true));
        const status = await must(200, publicStatus(ctx.escn));
        assert.equal(status.json().displayName, "Jeanne E.");
        assert.deepEqual(Object.keys(status.json()).sort(), [...PUBLIC_STATUS_FIELDS, "displayName"].sort());
        assert.ok(!status.body.includes(ctx.esi));
        assert.doesNotMatch(status.body, /Jeanne Exemple|jeanne@example\.org/);
        await must(200, setShow("operator", false));
        assert.equal(await shown(), undefined);
      } finally {
        await must(200, setShow("owner", false));
      }
    });

    it("an institution changes only the self-service fields of its own profile", async () => {
      await fresh();
      const before = await must(200, call("operator", "GET", `/v1/organisations/${A}`));
      const res = await call("owner", "PATCH", `/v1/organisations/${A}`, { name: "Université Renommée" });
      assertRefusal(res, "/v1/organisations", FORBIDDEN);
      const res2 = await call("bureau", "PATCH", `/v1/organisations/${CARD_BUREAU.id}`, { processors: [] });
      assert.equal(res2.statusCode, 200, res2.body);
      assert.equal((await call("operator", "GET", `/v1/organisations/${A}`)).body, before.body);
    });

    it("a card bureau loses the owner's persons and cards as soon as the owner stops listing it", async () => {
      const ctx = await fresh();
      await must(200, call("bureau", "GET", `${ESCR}/persons/${e(ctx.esi)}`));
      await must(200, call("bureau", "GET", `${ESCR}/cards/${ctx.escn}`));
      try {
        await must(200, call("owner", "PATCH", `/v1/organisations/${A}`, { processors: [] }));
        assert.deepEqual((await must(200, call("bureau", "GET", "/v1/me"))).json().actingFor, [
          CARD_BUREAU.id,
        ]);
        for (const url of [
          `${ESCR}/persons/${e(ctx.esi)}`,
          `/v1/persons/${e(ctx.esi)}`,
          `${ESCR}/cards/${ctx.escn}`,
          `/v1/cards/${ctx.escn}`,
          `/v1/student-statuses/${A}/${e(ctx.esi)}`,
        ]) {
          const res = await call("bureau", "GET", url);
          assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
        }
        const write = await call("bureau", "POST", `${ESCR}/persons`, personPayload(ctx.newEsi, A));
        assertRefusal(write, ESCR, FORBIDDEN);
      } finally {
        await must(200, call("owner", "PATCH", `/v1/organisations/${A}`, { processors: [CARD_BUREAU.id] }));
      }
      await must(200, call("bureau", "GET", `${ESCR}/persons/${e(ctx.esi)}`));
    });
  });

  for (const c of CASES) {
    describe(caseName(c), () => {
      for (const caller of CALLERS) {
        const expected = expectedFor(c, caller);
        const title = `${caseName(c)} as ${LABELS[caller]} → ${expected.status}${expected.code ? ` ${expected.code}` : ""}`;
        it(title, async () => {
          const ctx = await fresh({
            subscription: c.route.includes("/v1/subscriptions"),
            credentials: c.credentials === true,
          });
          const url = c.url(ctx, caller);
          const payload = c.payload?.(ctx, caller);
          const refusal = expected.status >= 400;
          if (c.stream && !refusal) {
            const opened = await openStream(caller, url);
            assert.equal(opened.status, expected.status);
            assert.match(opened.type, /^text\/event-stream/);
            assert.match(opened.start, /^retry: \d+/);
            return;
          }
          const unchanged = refusal ? await snapshot(ctx) : [];
          const res = await call(caller, methodOf(c), url, payload);
          if (!refusal) {
            assert.equal(res.statusCode, expected.status, res.body);
            await expected.check?.(res, ctx, caller);
            return;
          }
          assertRefusal(res, url, expected);
          assert.deepEqual(await snapshot(ctx), unchanged, "a refused request changed data");
          if (caller === "owner" || caller === "bureau") return;
          // The wrong caller learns nothing: the answer is the one about identifiers nobody holds.
          const unknown = unknownCtx(ctx);
          const control = await call(
            caller,
            methodOf(c),
            c.url(unknown, caller),
            c.payload?.(unknown, caller),
          );
          assert.equal(comparable(res, c.route), comparable(control, c.route));
        });
      }
      if (methodOf(c) !== "GET") return;
      // HEAD answers every GET route and must be as closed as GET.
      for (const caller of CALLERS) {
        const expected = expectedFor(c, caller);
        const title = `HEAD ${caseName(c).slice(4)} as ${LABELS[caller]} → ${expected.status}`;
        it(title, async () => {
          const ctx = await shared();
          const res = await call(caller, "HEAD", c.url(ctx, caller));
          assert.equal(res.statusCode, expected.status);
          assert.equal(res.body, "");
        });
      }
    });
  }
});
