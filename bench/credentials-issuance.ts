/**
 * Credentials issued per second: end to end through the hub's OpenID4VCI endpoints (the institution's
 * `POST /v1/credential-offers`, then `receiveCredential` as a wallet runs it: offer, metadata, token,
 * nonce, key proof, credential), and the library alone (`issueEscCredential`). The ceiling of both is a
 * raw `node:crypto` ES256 signature over a signing input as long as the credential's.
 */
import { randomInt } from "node:crypto";
import type { JWK } from "jose";
import {
  type EscCredentialClaims,
  type EscCredentialSigner,
  issueEscCredential,
} from "../src/credentials/esc-credential.ts";
import { generateHolderKey, type HolderKey, receiveCredential } from "../src/credentials/holder-wallet.ts";
import {
  createDeploymentCa,
  issueIssuerCertificate,
  x5cChain,
} from "../src/credentials/issuer-certificates.ts";
import { statusListUrl } from "../src/credentials/issuer-identifier.ts";
import { generateIssuerKey } from "../src/credentials/sealed-key.ts";
import { type BenchHub, inProcessNetwork, makeOffer, type Student, UNIVERSITY } from "./credentials-hub.ts";
import {
  alternate,
  type Rate,
  rawKeyPair,
  rawSign,
  signedPartOf,
  signingInputOf,
} from "./credentials-measure.ts";

export interface IssuanceResult {
  readonly name: string;
  readonly issued: Rate;
  /** Raw ES256 signatures over a signing input of `signingInputBytes`. */
  readonly rawSigns: Rate;
  readonly ratio: number;
  readonly signingInputBytes: number;
  readonly credentialBytes: number;
}

export interface SliceSettings {
  readonly slices: number;
  readonly sliceMs: number;
  readonly warmupMs: number;
}

/** Keys the wallets hold; made beforehand, as a wallet has its key before it takes an offer. */
function holderKeys(count: number): HolderKey[] {
  return Array.from({ length: count }, () => generateHolderKey("ES256"));
}

/**
 * Offer and wallet flow, one credential at a time, for the students in turn. Returns the rate and the
 * credentials issued (with their holder keys), for the verification benchmark.
 */
export async function issueEndToEnd(
  hub: BenchHub,
  token: string,
  students: readonly Student[],
  slices: SliceSettings,
): Promise<{ result: IssuanceResult; credentials: { credential: string; holderKey: HolderKey }[] }> {
  const network = inProcessNetwork(hub);
  const keys = holderKeys(64);
  const credentials: { credential: string; holderKey: HolderKey }[] = [];
  let n = 0;
  const flow = async () => {
    const student = students[n % students.length]!;
    const holderKey = keys[n % keys.length]!;
    n++;
    const offer = await makeOffer(hub, token, student.escn);
    const { credential } = await receiveCredential({
      offer: offer.deepLink,
      txCode: offer.txCode,
      holderKey,
      fetch: network.wallet,
    });
    if (credentials.length < 256) credentials.push({ credential, holderKey });
  };
  await flow();
  const sample = credentials[0]!.credential;
  const requestsBefore = network.requests();
  const flowsBefore = n;
  const { signingInputBytes } = signedPartOf(sample.split("~")[0]!);
  const raw = rawCeiling(signingInputBytes);
  const { subject, ceiling } = await alternate(flow, raw, slices);
  const requestsPerFlow = (network.requests() - requestsBefore) / (n - flowsBefore);
  if (requestsPerFlow < 5) throw new Error(`the wallet made only ${requestsPerFlow} requests per credential`);
  return {
    result: {
      name: "end to end (offer + OpenID4VCI, in process)",
      issued: subject,
      rawSigns: ceiling,
      ratio: subject.perSecond / ceiling.perSecond,
      signingInputBytes,
      credentialBytes: Buffer.byteLength(sample),
    },
    credentials,
  };
}

/** `issueEscCredential` alone, with a signer like the hub's (P-256 key, kid, leaf + CA chain). */
export async function issueLibrary(baseUrl: string, slices: SliceSettings): Promise<IssuanceResult> {
  const signer = await benchSigner();
  const keys = holderKeys(64);
  const issuer = `${baseUrl}/issuers/${UNIVERSITY.id}`;
  const issuedAt = new Date();
  const expiresAt = new Date("2030-09-01T00:00:00Z");
  let n = 0;
  const issue = () => {
    const holder = keys[n++ % keys.length]!;
    return issueEscCredential({
      issuer,
      signer,
      claims: claimsOf(baseUrl, n),
      holderJwk: holder.publicJwk,
      status: { uri: statusListUrl(issuer, 1), idx: randomInt(131_072) },
      issuedAt,
      expiresAt,
    });
  };
  const sample = await issue();
  const { signingInputBytes } = signedPartOf(sample.split("~")[0]!);
  const { subject, ceiling } = await alternate(issue, rawCeiling(signingInputBytes), slices);
  return {
    name: "library (issueEscCredential)",
    issued: subject,
    rawSigns: ceiling,
    ratio: subject.perSecond / ceiling.perSecond,
    signingInputBytes,
    credentialBytes: Buffer.byteLength(sample),
  };
}

/** One raw ES256 signature over a fixed signing input of this length, per call. */
function rawCeiling(signingInputBytes: number): () => void {
  const { privateKey } = rawKeyPair();
  const input = signingInputOf(signingInputBytes, "credential");
  return () => {
    rawSign(input, privateKey);
  };
}

/** An issuer signer as the hub makes one: P-256, its thumbprint as kid, a leaf under a deployment CA. */
export async function benchSigner(): Promise<EscCredentialSigner> {
  return (await benchIssuer()).signer;
}

/** {@link benchSigner}, with what a verifier needs to trust it: the public JWK (with `kid`) and the CA. */
export async function benchIssuer(): Promise<{ signer: EscCredentialSigner; publicJwk: JWK; caDer: Buffer }> {
  const key = await generateIssuerKey("ES256");
  const ca = await createDeploymentCa({ name: "CN=OpenESC bench CA,O=OpenESC bench", validityDays: 3650 });
  const leaf = await issueIssuerCertificate({
    ca,
    subject: { organisationId: UNIVERSITY.id, name: UNIVERSITY.name, country: UNIVERSITY.country },
    publicKey: key.publicKey,
    validityDays: 365,
  });
  const x5c = x5cChain(leaf, ca.certificate);
  return {
    signer: { key: key.privateKey, alg: "ES256", kid: key.keyId, x5c },
    publicJwk: key.publicJwk,
    caDer: Buffer.from(ca.certificate.der),
  };
}

/** Claims of the size the hub puts in (the same fields, values like the benchmark's students). */
export function claimsOf(baseUrl: string, n: number): EscCredentialClaims {
  const escn = `d9e0c8a0-1c2b-11ef-${String(1000 + (n % 9000))}-001${String(n).padStart(9, "0")}`;
  return {
    cardNumber: escn,
    issuedAt: "2026-09-01",
    expiresAt: "2030-08-31",
    displayName: `Étudiante E. ${n}`,
    fullName: `Étudiante Exemple ${n}`,
    issuer: UNIVERSITY.name,
    qrCode: `${baseUrl}/v/${escn}`,
    institution: UNIVERSITY.name,
    institutionId: UNIVERSITY.id,
    country: UNIVERSITY.country,
    academicLevel: "MASTER",
    validUntil: "2030-08-31",
    esi: `urn:schac:personalUniqueCode:int:esi:fr:BENCH-${String(n).padStart(6, "0")}`,
  };
}
