import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  type JsonWebKey as NodeJsonWebKey,
} from "node:crypto";
import { type JWK, SignJWT } from "jose";
import { PRE_AUTHORIZED_GRANT } from "./openid4vci/credential-offer.ts";
import { ESC_CONFIGURATION_ID, wellKnownUrl } from "./openid4vci/issuer-metadata.ts";
import { PROOF_JWT_TYP } from "./openid4vci/proof-jwt.ts";
import { presentSdJwt } from "./sd-jwt.ts";

/** A holder key as a wallet keeps it: the private JWK (with `alg`), never sent anywhere. */
export interface HolderKey {
  readonly alg: "ES256" | "EdDSA";
  readonly privateKey: KeyObject;
  /** The public half, as it goes into a key proof and then the credential's `cnf`. */
  readonly publicJwk: JWK;
}

/** One HTTP exchange as the wallet needs it; the global `fetch` by default. */
export type WalletFetch = (
  url: string,
  init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string },
) => Promise<{ status: number; text(): Promise<string> }>;

/** Something the issuer refused, with its OAuth error code when it gave one. */
export class WalletError extends Error {
  override readonly name = "WalletError";
  constructor(
    message: string,
    readonly error?: string,
  ) {
    super(message);
  }
}

export function generateHolderKey(alg: HolderKey["alg"] = "ES256"): HolderKey {
  const { privateKey } =
    alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519");
  return holderKeyOf(privateKey, alg);
}

/** Reads a private JWK (as `exportHolderKey` writes it). */
export function importHolderKey(jwk: JWK): HolderKey {
  const privateKey = createPrivateKey({ key: jwk as NodeJsonWebKey, format: "jwk" });
  const alg = jwk.kty === "OKP" ? "EdDSA" : "ES256";
  return holderKeyOf(privateKey, alg);
}

export function exportHolderKey(key: HolderKey): JWK {
  return { ...(key.privateKey.export({ format: "jwk" }) as JWK), alg: key.alg };
}

function holderKeyOf(privateKey: KeyObject, alg: HolderKey["alg"]): HolderKey {
  const publicJwk = createPublicKey(privateKey).export({ format: "jwk" }) as JWK;
  return { alg, privateKey, publicJwk };
}

export interface ReceiveOptions {
  /** The offer: an `openid-credential-offer://` deep link, a `credential_offer_uri`, or the offer's JSON. */
  readonly offer: string;
  /** The transaction code the institution handed over, when the offer asks for one. */
  readonly txCode?: string;
  readonly holderKey: HolderKey;
  readonly fetch?: WalletFetch;
  readonly now?: () => Date;
}

/**
 * Receives a credential the way a wallet does (OpenID4VCI 1.0, pre-authorized code flow): reads the offer,
 * the issuer's metadata, trades the code for an access token, gets a nonce, proves possession of the
 * holder key, and returns the credential (an SD-JWT VC bound to that key). A small, honest wallet for
 * trying the hub and for tests; a real one also keeps credentials safe and asks before presenting.
 */
export async function receiveCredential(
  options: ReceiveOptions,
): Promise<{ credential: string; issuer: string }> {
  const http = options.fetch ?? globalFetch;
  const now = options.now ?? (() => new Date());
  const offer = await readOffer(options.offer, http);
  const issuer = offer.credential_issuer;
  const grant = offer.grants?.[PRE_AUTHORIZED_GRANT];
  if (typeof issuer !== "string" || !grant || typeof grant["pre-authorized_code"] !== "string") {
    throw new WalletError("the offer has no pre-authorized code grant");
  }
  if (grant.tx_code && options.txCode === undefined) {
    throw new WalletError(`the offer needs its transaction code (${grant.tx_code.length ?? "?"} digits)`);
  }
  const metadata = await getJson(http, wellKnownUrl("openid-credential-issuer", issuer));
  const server = await getJson(http, wellKnownUrl("oauth-authorization-server", issuer));
  const form = new URLSearchParams({
    grant_type: PRE_AUTHORIZED_GRANT,
    "pre-authorized_code": grant["pre-authorized_code"],
    ...(options.txCode !== undefined ? { tx_code: options.txCode } : {}),
  });
  const token = await post(
    http,
    String(server["token_endpoint"]),
    {
      "content-type": "application/x-www-form-urlencoded",
    },
    form.toString(),
  );
  const nonce = await post(http, String(metadata["nonce_endpoint"]), {}, undefined);
  const proof = await new SignJWT({ aud: issuer, nonce: nonce["c_nonce"] })
    .setProtectedHeader({ typ: PROOF_JWT_TYP, alg: options.holderKey.alg, jwk: options.holderKey.publicJwk })
    .setIssuedAt(Math.floor(now().getTime() / 1000))
    .sign(options.holderKey.privateKey);
  const answer = await post(
    http,
    String(metadata["credential_endpoint"]),
    { "content-type": "application/json", authorization: `Bearer ${String(token["access_token"])}` },
    JSON.stringify({ credential_configuration_id: ESC_CONFIGURATION_ID, proofs: { jwt: [proof] } }),
  );
  const credential = (answer["credentials"] as { credential?: unknown }[] | undefined)?.[0]?.credential;
  if (typeof credential !== "string") throw new WalletError("the credential endpoint answered no credential");
  return { credential, issuer };
}

export interface PresentOptions {
  readonly holderKey: HolderKey;
  /** The verifier's identifier and its fresh nonce: the key binding names both. */
  readonly audience: string;
  readonly nonce: string;
  /** Claim names to disclose; every claim when absent. */
  readonly disclose?: readonly string[];
  readonly now?: () => Date;
}

/** A presentation of `credential` for one verifier: the chosen disclosures and a key binding JWT. */
export function presentCredential(credential: string, options: PresentOptions): Promise<string> {
  const chosen = options.disclose ? new Set(options.disclose) : undefined;
  return presentSdJwt(credential, {
    disclose: (name) => chosen === undefined || (name !== undefined && chosen.has(name)),
    holderKey: options.holderKey.privateKey,
    holderAlg: options.holderKey.alg,
    aud: options.audience,
    nonce: options.nonce,
    iat: Math.floor((options.now ?? (() => new Date()))().getTime() / 1000),
  });
}

interface Offer {
  credential_issuer?: unknown;
  grants?: Record<string, { "pre-authorized_code"?: unknown; tx_code?: { length?: number } } | undefined>;
}

async function readOffer(text: string, http: WalletFetch): Promise<Offer> {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) return JSON.parse(trimmed) as Offer;
  if (trimmed.startsWith("openid-credential-offer://")) {
    const params = new URL(trimmed.replace("openid-credential-offer://", "https://wallet.invalid/"))
      .searchParams;
    const byValue = params.get("credential_offer");
    if (byValue !== null) return JSON.parse(byValue) as Offer;
    const uri = params.get("credential_offer_uri");
    if (uri === null) throw new WalletError("the deep link carries no offer");
    return (await getJson(http, uri)) as Offer;
  }
  return (await getJson(http, trimmed)) as Offer;
}

async function getJson(http: WalletFetch, url: string): Promise<Record<string, unknown>> {
  return answerOf(await http(url, { method: "GET", headers: { accept: "application/json" } }), url);
}

async function post(
  http: WalletFetch,
  url: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<Record<string, unknown>> {
  const init = { method: "POST" as const, headers: { accept: "application/json", ...headers } };
  return answerOf(await http(url, body === undefined ? init : { ...init, body }), url);
}

async function answerOf(response: { status: number; text(): Promise<string> }, url: string) {
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new WalletError(`${url} answered ${response.status} without JSON`);
  }
  if (response.status >= 400) {
    const error = typeof body["error"] === "string" ? body["error"] : undefined;
    // OAuth errors (the issuer endpoints) or problem details (the hub's own API).
    const said = body["error_description"] ?? body["detail"] ?? body["message"] ?? text;
    throw new WalletError(`${url} answered ${response.status}: ${error ?? ""} ${String(said)}`.trim(), error);
  }
  return body;
}

const globalFetch: WalletFetch = async (url, init) => {
  const response = await fetch(url, { ...init, redirect: "error", signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: () => response.text() };
};
