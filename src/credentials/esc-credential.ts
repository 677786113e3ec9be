/**
 * The European Student Card as an SD-JWT VC (`vct` `eu.europa.ec.eudi.esc.1`, after the EWC draft schema
 * `ds016-european-student-card`, with the student-status claims the hub adds).
 *
 * Only `issuer` is always visible: a verifier learns which organisation vouches for the card even when
 * the holder reveals nothing else. Every other claim is selectively disclosable, and a random number of
 * decoy digests hides how many claims the card holds (a claim with no value is left out entirely).
 *
 * @example
 * const sdJwt = await issueEscCredential({ issuer: "https://hub.example.org/orgs/999888777", signer,
 *   claims, holderJwk, status: { uri, idx }, issuedAt: now, expiresAt });
 */
import { createPublicKey, type JsonWebKey, type KeyObject, randomBytes } from "node:crypto";
import type { CryptoKey, JWK } from "jose";
import { issueSdJwt } from "./sd-jwt.ts";

export const ESC_VCT = "eu.europa.ec.eudi.esc.1";
export const SD_JWT_VC_TYPE = "dc+sd-jwt";

/** What the hub knows about a card and its holder; every value plain, dates as YYYY-MM-DD. */
export interface EscCredentialClaims {
  /** The ESCN. */
  cardNumber: string;
  /** Card issue date, YYYY-MM-DD. */
  issuedAt: string;
  /** Card expiry date, YYYY-MM-DD. */
  expiresAt: string;
  displayName: string | null;
  fullName: string;
  /** The issuing organisation's name; the one claim that is always visible. */
  issuer: string;
  /** The verification URL the card's QR code holds (public URL + "/v/" + ESCN). */
  qrCode: string;
  /** Name of the institution where the holder is a student. */
  institution: string;
  /** The institution's PIC. */
  institutionId: string;
  /** ISO 3166-1 alpha-2 code of the institution's country. */
  country: string | null;
  /** BACHELOR, MASTER or DOCTORATE. */
  academicLevel: string | null;
  /** Last day of the student status, YYYY-MM-DD. */
  validUntil: string | null;
  /** European Student Identifier (urn:schac:personalUniqueCode:int:esi:…). */
  esi: string;
}

/** The issuing organisation's signing key, its `kid` in the issuer metadata and its `x5c` chain. */
export interface EscCredentialSigner {
  key: KeyObject | CryptoKey;
  alg: "ES256" | "EdDSA";
  kid: string;
  /** Leaf first, base64 DER; an empty chain leaves `x5c` out of the header. */
  x5c: string[];
}

export interface IssueEscCredentialInput {
  /** `iss`: the issuer identifier URL, under which `/.well-known/jwt-vc-issuer` publishes the keys. */
  issuer: string;
  signer: EscCredentialSigner;
  claims: EscCredentialClaims;
  /** The wallet's public key, bound as `cnf.jwk`. */
  holderJwk: JWK;
  /** The credential's entry in a Token Status List. */
  status: { uri: string; idx: number };
  /** `iat` and `nbf`. */
  issuedAt: Date;
  /** `exp`. */
  expiresAt: Date;
  /** Randomness for salts and decoys (tests); `crypto.randomBytes` when absent. */
  random?: (n: number) => Uint8Array;
}

/** Every claim of {@link EscCredentialClaims} except `issuer`. */
export const ESC_DISCLOSABLE_CLAIMS: readonly string[] = Object.freeze([
  "cardNumber",
  "issuedAt",
  "expiresAt",
  "displayName",
  "fullName",
  "qrCode",
  "institution",
  "institutionId",
  "country",
  "academicLevel",
  "validUntil",
  "esi",
]);

const MIN_DECOYS = 2;
const EXTRA_DECOYS = 4;

/** Issues the card as a compact SD-JWT VC without key binding (it ends in `~`). */
export async function issueEscCredential(input: IssueEscCredentialInput): Promise<string> {
  const { issuer, signer, claims, status, issuedAt, expiresAt } = input;
  const random = input.random ?? ((n: number) => randomBytes(n));
  if (typeof issuer !== "string" || !URL.canParse(issuer)) throw new TypeError("issuer must be a URL");
  if (!(issuedAt instanceof Date) || !(expiresAt instanceof Date) || !(expiresAt > issuedAt)) {
    throw new TypeError("expiresAt must be a date after issuedAt");
  }
  if (!Number.isSafeInteger(status.idx) || status.idx < 0 || !URL.canParse(status.uri)) {
    throw new TypeError("status needs a URL and a non-negative index");
  }
  const iat = Math.floor(issuedAt.getTime() / 1000);
  const payload: Record<string, unknown> = {
    iss: issuer,
    iat,
    nbf: iat,
    exp: Math.floor(expiresAt.getTime() / 1000),
    vct: ESC_VCT,
    cnf: { jwk: holderPublicJwk(input.holderJwk) },
    status: { status_list: { idx: status.idx, uri: status.uri } },
    issuer: claims.issuer,
  };
  const disclosable: string[] = [];
  for (const name of ESC_DISCLOSABLE_CLAIMS) {
    const value = claims[name as keyof EscCredentialClaims];
    if (value === null || value === undefined) continue;
    payload[name] = value;
    disclosable.push(name);
  }
  const { sdJwt } = await issueSdJwt({
    header: {
      typ: SD_JWT_VC_TYPE,
      alg: signer.alg,
      kid: signer.kid,
      ...(signer.x5c.length > 0 ? { x5c: signer.x5c } : {}),
    },
    claims: payload,
    disclosable,
    key: signer.key,
    // A fixed number would let a verifier count the claims left out for having no value.
    decoys: MIN_DECOYS + ((random(1)[0] ?? 0) % (EXTRA_DECOYS + 1)),
    random,
  });
  return sdJwt;
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/** The holder key's public members only, after checking it is a P-256 or Ed25519 public key. */
function holderPublicJwk(jwk: JWK): JWK {
  if (typeof jwk !== "object" || jwk === null) throw new TypeError("holderJwk must be a JWK");
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) {
    throw new TypeError("holderJwk holds private key material; give the wallet's public key");
  }
  const publicJwk =
    jwk.kty === "EC" && jwk.crv === "P-256"
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
      : jwk.kty === "OKP" && jwk.crv === "Ed25519"
        ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x }
        : undefined;
  if (publicJwk === undefined) throw new TypeError("holderJwk must be an EC P-256 or OKP Ed25519 key");
  try {
    // Refuses coordinates that are missing, mis-sized or not on the curve.
    createPublicKey({ key: publicJwk as JsonWebKey, format: "jwk" });
  } catch (cause) {
    throw new TypeError("holderJwk is not a valid public key", { cause });
  }
  return publicJwk;
}
