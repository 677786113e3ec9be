import { randomBytes } from "node:crypto";
import { type CryptoKey, decodeJwt, decodeProtectedHeader, importJWK, type JWK, SignJWT } from "jose";
import jsQRModule from "jsqr";
import {
  generateHolderKey,
  type HolderKey,
  presentCredential,
  receiveCredential,
  type WalletFetch,
} from "../../src/credentials/holder-wallet.ts";
import { PRE_AUTHORIZED_GRANT } from "../../src/credentials/openid4vci/credential-offer.ts";
import { PROOF_JWT_TYP } from "../../src/credentials/openid4vci/proof-jwt.ts";
import type { VerifierFetch } from "../../src/credentials/presentation-verifier.ts";
import { verifyStatusListToken } from "../../src/credentials/token-status-list.ts";
import { cardPayload, ESI, personPayload, UNIVERSITY } from "./fixtures.ts";
import type { TestHub } from "./test-hub.ts";

// jsqr is CommonJS that also sets `default`; under NodeNext the default import is the module object.
const jsQR = jsQRModule.default;

/*
 * What the credential tests share: a student the university may issue a credential to (enrolled, with a
 * valid card and consent to credential issuance), and the hub's HTTP reached in process by a wallet and a
 * verifier through the public URLs they find in offers, metadata and credentials.
 */

/** Settings for credential tests: a one-second status list ttl and fast event loops. */
export const CREDENTIAL_HUB_ENV: Readonly<Record<string, string>> = {
  OPENESC_STATUS_LIST_TTL_SECONDS: "1",
  OPENESC_EVENT_POLL_MS: "50",
};

/** The verifier the presentations of the credential tests are made for. */
export const VERIFIER = "https://canteen.example.org";
/** The issuer identifier of the university of the fixtures, as the test hubs publish it. */
export const ISSUER = `https://hub.example.org/issuers/${UNIVERSITY.id}`;

export interface Student {
  readonly token: string;
  readonly escn: string;
  readonly esi: string;
}

/**
 * A university (the fixtures' one unless `university` says otherwise) with a student: enrolled until 2030,
 * an active card, consent to credential issuance.
 */
export async function enrolledStudent(
  hub: TestHub,
  options: { token?: string; esi?: string; consent?: boolean; university?: { id: string } } = {},
): Promise<Student> {
  const university = options.university ?? UNIVERSITY;
  const token = options.token ?? (await hub.onboard(university));
  const esi = options.esi ?? ESI;
  await ok(hub, 201, {
    method: "POST",
    url: "/esc-rest/api/v2/persons",
    token,
    payload: personPayload(esi, university.id),
  });
  await ok(hub, [200, 201], {
    method: "PUT",
    url: `/v1/student-statuses/${university.id}/${encodeURIComponent(esi)}`,
    token,
    payload: { state: "enrolled", validFrom: "2026-09-01", validUntil: "2030-08-31" },
  });
  const card = await ok(hub, 201, {
    method: "POST",
    url: "/esc-rest/api/v2/cards",
    token,
    payload: cardPayload(esi, university.id),
  });
  if (options.consent !== false) await giveConsent(hub, token, esi);
  return { token, esi, escn: String(card["cardNumber"]).toLowerCase() };
}

export async function giveConsent(hub: TestHub, token: string, esi: string): Promise<void> {
  await ok(hub, [200, 201], {
    method: "PUT",
    url: `/v1/persons/${encodeURIComponent(esi)}/consents/credential-issuance`,
    token,
    payload: { wordingVersion: "2026-11" },
  });
}

/** The institution's offer for the student's card, as `POST /v1/credential-offers` answers it. */
export async function offer(hub: TestHub, student: Student, txCode = true): Promise<Record<string, string>> {
  return (await ok(hub, 201, {
    method: "POST",
    url: "/v1/credential-offers",
    token: student.token,
    payload: { escn: student.escn, txCode },
  })) as Record<string, string>;
}

/** A credential of the student's card, received by the hub's wallet for `holderKey` (a new ES256 key by default). */
export async function issuedCredential(
  hub: TestHub,
  student: Student,
  holderKey: HolderKey = generateHolderKey(),
): Promise<{ credential: string; holderKey: HolderKey }> {
  const made = await offer(hub, student);
  const { credential } = await receiveCredential({
    offer: made["credentialOfferUri"] ?? "",
    txCode: made["txCode"] ?? "",
    holderKey,
    fetch: inProcessNetwork(hub).wallet,
  });
  return { credential, holderKey };
}

/** The issuer-signed JWT of an SD-JWT VC, decoded without checks: its header and payload. */
export function decodeCredential(credential: string): {
  header: ReturnType<typeof decodeProtectedHeader>;
  payload: ReturnType<typeof decodeJwt> & { status: { status_list: { idx: number; uri: string } } };
} {
  const jwt = credential.split("~")[0] ?? "";
  return { header: decodeProtectedHeader(jwt), payload: decodeJwt(jwt) as never };
}

/**
 * The value of the credential's entry in the status list the hub serves now, read as a verifier reads it:
 * the list token's signature checked with the issuer's published key, its `sub` with the credential's `uri`.
 */
export async function servedStatus(hub: TestHub, credential: string): Promise<number> {
  const { uri, idx } = decodeCredential(credential).payload.status.status_list;
  const served = await hub.request({ method: "GET", url: new URL(uri).pathname });
  if (served.statusCode !== 200) throw new Error(`${uri} answered ${served.statusCode}: ${served.body}`);
  const issuer = uri.replace(/\/status-lists\/[0-9]+$/, "");
  const metadata = await hub.request({
    method: "GET",
    url: `/.well-known/jwt-vc-issuer${new URL(issuer).pathname}`,
  });
  const keys = metadata.json<{ jwks: { keys: JWK[] } }>().jwks.keys;
  const { kid, alg } = decodeProtectedHeader(served.body);
  const key = keys.find((k) => k.kid === kid);
  if (!key || !alg) throw new Error(`the list's key ${kid} is not published`);
  const list = await verifyStatusListToken(served.body, {
    key: (await importJWK(key, alg)) as CryptoKey,
    expectedUri: uri,
  });
  return list.list.get(idx);
}

/** What `POST /v1/credential-verifications` says of a presentation of the credential: "valid" or the reason. */
export async function onlineVerdict(hub: TestHub, credential: string, holderKey: HolderKey): Promise<string> {
  const nonce = randomBytes(8).toString("hex");
  const answer = await hub.request({
    method: "POST",
    url: "/v1/credential-verifications",
    payload: {
      presentation: await presentCredential(credential, { holderKey, audience: VERIFIER, nonce }),
      audience: VERIFIER,
      nonce,
    },
  });
  if (answer.statusCode !== 200)
    throw new Error(`verification answered ${answer.statusCode}: ${answer.body}`);
  const body = answer.json<{ valid: boolean; reason?: string }>();
  return body.valid ? "valid" : String(body.reason);
}

/**
 * A `jwt` key proof as a wallet makes it, for the fixtures' issuer by default; `header` adds to or
 * replaces the protected header (`jwk: undefined` leaves the key out).
 */
export function keyProof(
  holderKey: HolderKey,
  claims: { nonce?: string; aud?: string; iat?: number } = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const payload = {
    aud: claims.aud ?? ISSUER,
    iat: claims.iat ?? Math.floor(Date.now() / 1000),
    ...(claims.nonce === undefined ? {} : { nonce: claims.nonce }),
  };
  return new SignJWT(payload)
    .setProtectedHeader({ typ: PROOF_JWT_TYP, alg: holderKey.alg, jwk: holderKey.publicJwk, ...header })
    .sign(holderKey.privateKey);
}

/**
 * Decodes the QR code `qrcode` draws as SVG (one horizontal stroke per run of dark modules) with jsQR, a
 * decoder we did not write; undefined when it reads nothing.
 */
export function decodeQrSvg(svg: string): string | undefined {
  const modules = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)?.[1]);
  const path = /<path stroke="#000000" d="([^"]*)"/.exec(svg)?.[1];
  if (!(modules > 0) || path === undefined) return undefined;
  const scale = 4;
  const size = modules * scale;
  const pixels = new Uint8ClampedArray(size * size * 4).fill(255);
  let x = 0;
  let y = 0;
  for (const [, command, a, b] of path.matchAll(/([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?/g)) {
    if (command === "M") [x, y] = [Number(a), Math.floor(Number(b))];
    else if (command === "m") x += Number(a);
    else {
      for (let px = x * scale; px < (x + Number(a)) * scale; px++) {
        for (let py = y * scale; py < (y + 1) * scale; py++) {
          pixels.fill(0, (py * size + px) * 4, (py * size + px) * 4 + 3);
        }
      }
      x += Number(a);
    }
  }
  return jsQR(pixels, size, size)?.data;
}

/** The pre-authorized code an offer (as `POST /v1/credential-offers` answers it) carries by value. */
export function preAuthorizedCodeOf(made: Record<string, unknown>): string {
  const offer = made["credentialOffer"] as {
    grants?: Record<string, { "pre-authorized_code"?: string } | undefined>;
  };
  const code = offer.grants?.[PRE_AUTHORIZED_GRANT]?.["pre-authorized_code"];
  if (code === undefined) throw new Error("the offer carries no pre-authorized code");
  return code;
}

/** The network as a wallet or a verifier sees it, answered by the test hub in process; counts calls. */
export function inProcessNetwork(hub: TestHub): {
  wallet: WalletFetch;
  verifier: VerifierFetch;
  calls: string[];
} {
  const origin = new URL(hub.config.publicUrl).origin;
  const calls: string[] = [];
  const send = async (
    url: string,
    method: "GET" | "POST",
    headers: Record<string, string>,
    body?: string,
  ) => {
    if (!url.startsWith(`${origin}/`)) throw new Error(`outside the hub: ${url}`);
    calls.push(url);
    const answer = await hub.app.inject({
      method,
      url: url.slice(origin.length),
      headers,
      ...(body === undefined ? {} : { payload: body }),
    });
    return answer;
  };
  return {
    calls,
    wallet: async (url, init) => {
      const answer = await send(url, init.method, init.headers, init.body);
      return { status: answer.statusCode, text: async () => answer.body };
    },
    verifier: async (url, request) => {
      const answer = await send(url, "GET", { accept: request.accept });
      const type = answer.headers["content-type"];
      return {
        status: answer.statusCode,
        contentType: typeof type === "string" ? type : null,
        body: answer.body,
      };
    },
  };
}

async function ok(
  hub: TestHub,
  status: number | number[],
  request: Parameters<TestHub["request"]>[0],
): Promise<Record<string, unknown>> {
  const answer = await hub.request(request);
  if (![status].flat().includes(answer.statusCode)) {
    throw new Error(`${request.method} ${request.url} answered ${answer.statusCode}: ${answer.body}`);
  }
  return answer.body === "" ? {} : (answer.json() as Record<string, unknown>);
}
