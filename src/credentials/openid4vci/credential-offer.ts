/**
 * The Credential Offer of OpenID4VCI 1.0 (§4.1) for the pre-authorized code flow, how it reaches a wallet
 * (deep link, QR code), and the secrets the flow hands out.
 *
 * The offer travels by reference: the QR code holds only `credential_offer_uri`, which keeps it small
 * enough to scan and keeps the pre-authorized code out of screenshots of the link's text.
 *
 * @example
 * const code = newPreAuthorizedCode();
 * const txCode = newTxCode();
 * const offer = credentialOfferDocument({ issuer, configurationIds: [ESC_CONFIGURATION_ID],
 *   preAuthorizedCode: code, txCode: { length: txCode.length, description: "Sent to you by e-mail" } });
 * const svg = await offerQrSvg(offerDeepLink(`${issuer}/credential-offers/${offerId}`));
 */

import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import QRCode from "qrcode";

export const PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/** Bounds on transaction code length: shorter is guessable, longer nobody types. */
export const TX_CODE_MIN_LENGTH = 4;
export const TX_CODE_MAX_LENGTH = 12;

export interface CredentialOfferInput {
  /** The Credential Issuer Identifier. */
  issuer: string;
  /** Keys of `credential_configurations_supported`; at least one, no repeats. */
  configurationIds: readonly string[];
  preAuthorizedCode: string;
  /** Present when the wallet must send a transaction code, which the holder gets another way. */
  txCode?: { length: number; description?: string };
}

export interface CredentialOfferDocument {
  credential_issuer: string;
  credential_configuration_ids: string[];
  grants: {
    [PRE_AUTHORIZED_GRANT]: {
      "pre-authorized_code": string;
      tx_code?: { input_mode: "numeric"; length: number; description?: string };
    };
  };
}

/** The Credential Offer object (§4.1.1), as served at `credential_offer_uri`. */
export function credentialOfferDocument(input: CredentialOfferInput): CredentialOfferDocument {
  const { issuer, configurationIds, preAuthorizedCode, txCode } = input;
  if (!URL.canParse(issuer)) throw new TypeError(`issuer must be an absolute URL, got "${issuer}"`);
  if (configurationIds.length === 0 || new Set(configurationIds).size !== configurationIds.length) {
    throw new TypeError("configurationIds must be non-empty and without repeats");
  }
  if (preAuthorizedCode === "") throw new TypeError("preAuthorizedCode must not be empty");
  const grant: CredentialOfferDocument["grants"][typeof PRE_AUTHORIZED_GRANT] = {
    "pre-authorized_code": preAuthorizedCode,
  };
  if (txCode) {
    assertTxCodeLength(txCode.length);
    // §4.1.1: the description "MUST NOT exceed 300 characters".
    if (txCode.description !== undefined && txCode.description.length > 300) {
      throw new TypeError("txCode.description must not exceed 300 characters");
    }
    grant.tx_code = {
      input_mode: "numeric",
      length: txCode.length,
      ...(txCode.description === undefined ? {} : { description: txCode.description }),
    };
  }
  return {
    credential_issuer: issuer,
    credential_configuration_ids: [...configurationIds],
    grants: { [PRE_AUTHORIZED_GRANT]: grant },
  };
}

/** The link that opens a wallet on an offer passed by reference (§4.1.3, §12.1.2). */
export function offerDeepLink(offerUri: string): string {
  let url: URL;
  try {
    url = new URL(offerUri);
  } catch {
    throw new TypeError(`offerUri must be an absolute URL, got "${offerUri}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("offerUri must use https");
  return `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(offerUri)}`;
}

const QR_OPTIONS = { errorCorrectionLevel: "M", margin: 4 } as const;

/** `text` as a QR code: error correction M, a 4-module quiet zone, a scalable SVG document. */
export function offerQrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { ...QR_OPTIONS, type: "svg" });
}

/** `text` as a QR code in a PNG `data:` URL, for an `<img>` where SVG is awkward (e-mail). */
export function offerQrPngDataUrl(text: string): Promise<string> {
  return QRCode.toDataURL(text, { ...QR_OPTIONS, type: "image/png", scale: 6 });
}

/** A single-use pre-authorized code: 256 random bits, base64url. */
export function newPreAuthorizedCode(): string {
  return randomBytes(32).toString("base64url");
}

/** A bearer access token for the credential endpoint: 256 random bits, base64url. */
export function newAccessToken(): string {
  return randomBytes(32).toString("base64url");
}

/** A numeric transaction code; each digit uniform and independent (`crypto.randomInt`, no modulo bias). */
export function newTxCode(length = 6): string {
  assertTxCodeLength(length);
  let code = "";
  for (let i = 0; i < length; i++) code += String(randomInt(10));
  return code;
}

/**
 * What the store keeps instead of a secret: SHA-256, base64url. Unsalted and fast on purpose, because
 * pre-authorized codes and access tokens carry 256 random bits, beyond any search.
 *
 * A transaction code does not: 6 digits are a million guesses, so its hash would give it away to anyone
 * who reads the store. What protects it is the attempt limit on the offer (and the offer's short life),
 * not the hash. To keep it out of reach of a store reader too, hash it with the pre-authorized code the
 * wallet presents alongside it: `secretHash(`${preAuthorizedCode}.${txCode}`)`.
 */
export function secretHash(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("base64url");
}

/** Whether two secrets (or two hashes) are equal, in time that depends on neither value nor length. */
export function sameSecret(a: string, b: string): boolean {
  const digestA = createHash("sha256").update(a, "utf8").digest();
  const digestB = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(digestA, digestB);
}

function assertTxCodeLength(length: number): void {
  if (!Number.isInteger(length) || length < TX_CODE_MIN_LENGTH || length > TX_CODE_MAX_LENGTH) {
    throw new TypeError(
      `tx code length must be an integer from ${TX_CODE_MIN_LENGTH} to ${TX_CODE_MAX_LENGTH}`,
    );
  }
}
