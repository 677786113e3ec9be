/**
 * Certificates for issuer keys: a deployment CA, one leaf per issuing organisation, and the `x5c` chain a
 * signed credential carries, with its verification.
 *
 * The CA may sign only leaves (pathLen 0); a leaf signs credentials (digitalSignature) and nothing else.
 *
 * @example
 * const ca = await createDeploymentCa({ name: "CN=OpenESC deployment CA,O=Example", validityDays: 3650 });
 * const leaf = await issueIssuerCertificate({ ca, subject: { organisationId, name }, publicKey, validityDays: 365 });
 * const header = { alg: "ES256", kid: keyId, x5c: x5cChain(leaf, ca.certificate) };
 * const key = await verifyX5cChain(header.x5c, [ca.certificate.der], new Date());
 */
import { createPublicKey, type JsonWebKey, KeyObject, randomBytes, webcrypto } from "node:crypto";
import { types } from "node:util";
import "reflect-metadata";
import type * as X509 from "@peculiar/x509";
import type { CryptoKey, JWK } from "jose";

// @peculiar/x509 pulls in tsyringe, which needs the Reflect metadata polyfill loaded first.
const x509: typeof X509 = await import("@peculiar/x509");
x509.cryptoProvider.set(webcrypto as never);

const DAY_MS = 24 * 60 * 60 * 1000;
/** organizationIdentifier (X.520), as eIDAS certificates use it. */
const ORGANIZATION_IDENTIFIER = "2.5.4.97";
const MAX_CHAIN = 4;
const KNOWN_EXTENSIONS = new Set([
  "2.5.29.19",
  "2.5.29.15",
  "2.5.29.14",
  "2.5.29.35",
  "2.5.29.37",
  "2.5.29.17",
]);

/** A certificate in both encodings. */
export interface Certificate {
  readonly pem: string;
  readonly der: Uint8Array;
}

/** The deployment's CA: its certificate and the key it signs leaves with. */
export interface DeploymentCa {
  readonly certificate: Certificate;
  readonly privateKey: CryptoKey;
}

export interface DeploymentCaOptions {
  /** Distinguished name, e.g. `CN=OpenESC deployment CA,O=Example University`. */
  name: string;
  validityDays: number;
  /** An existing P-256 or Ed25519 key pair; a new extractable P-256 pair when absent. */
  key?: webcrypto.CryptoKeyPair;
  /** Start of validity; now when absent. */
  notBefore?: Date;
}

export interface IssuerCertificateOptions {
  ca: DeploymentCa;
  subject: { organisationId: string; name: string; country?: string };
  publicKey: CryptoKey | KeyObject | JWK;
  validityDays: number;
  notBefore?: Date;
}

/** Why an `x5c` chain was refused. */
export type X5cFailure =
  | "malformed" // not an array of base64 DER certificates, or an unknown critical extension
  | "untrusted" // does not end at one of the trusted CAs
  | "expired"
  | "not-yet-valid"
  | "not-a-ca" // a certificate in the chain signs others without being allowed to
  | "wrong-usage" // the leaf may not sign credentials
  | "bad-signature"; // a certificate is not signed by the one above it

export class X5cChainError extends Error {
  readonly reason: X5cFailure;

  constructor(reason: X5cFailure, detail?: string) {
    super(`x5c chain refused: ${reason}${detail ? ` (${detail})` : ""}`);
    this.name = "X5cChainError";
    this.reason = reason;
  }
}

/** Makes a self-signed CA that may issue leaf certificates only. */
export async function createDeploymentCa(options: DeploymentCaOptions): Promise<DeploymentCa> {
  positiveDays(options.validityDays);
  const keys =
    options.key ??
    ((await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as webcrypto.CryptoKeyPair);
  const notBefore = options.notBefore ?? new Date();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: options.name,
    notBefore,
    notAfter: new Date(notBefore.getTime() + options.validityDays * DAY_MS),
    signingAlgorithm: signingAlgorithmOf(keys.privateKey),
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate: encodings(certificate), privateKey: keys.privateKey };
}

/** Issues an organisation's signing certificate: CN and O are its name, organizationIdentifier its id. */
export async function issueIssuerCertificate(options: IssuerCertificateOptions): Promise<Certificate> {
  positiveDays(options.validityDays);
  const { organisationId, name, country } = options.subject;
  if (!organisationId || !name) throw new TypeError("subject needs an organisationId and a name");
  if (country !== undefined && !/^[A-Z]{2}$/.test(country))
    throw new TypeError("country must be ISO 3166 alpha-2");
  const caCertificate = new x509.X509Certificate(options.ca.certificate.der);
  const publicKey = await x509.PublicKey.create(spkiOf(options.publicKey));
  const notBefore = options.notBefore ?? new Date();
  const subject: X509.JsonNameParams = [
    ...(country ? [{ C: [country] }] : []),
    { O: [{ utf8String: name }] },
    { [ORGANIZATION_IDENTIFIER]: [{ utf8String: organisationId }] },
    { CN: [{ utf8String: name }] },
  ];
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: new x509.Name(subject),
    issuer: caCertificate.subjectName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + options.validityDays * DAY_MS),
    signingAlgorithm: signingAlgorithmOf(options.ca.privateKey),
    publicKey,
    signingKey: options.ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return encodings(certificate);
}

/** The JWS `x5c` header value: standard base64 (not base64url) DER, leaf first (RFC 7515 §4.1.6). */
export function x5cChain(leaf: Certificate, ca: Certificate): string[] {
  return [leaf, ca].map((certificate) => Buffer.from(certificate.der).toString("base64"));
}

/**
 * Checks an `x5c` chain against trusted CA certificates at `now` and returns the leaf's public key, for
 * verifying the signature of the artefact that carried the chain. Throws {@link X5cChainError}.
 */
export async function verifyX5cChain(
  x5c: unknown,
  trustedCaDer: readonly Uint8Array[],
  now: Date,
): Promise<CryptoKey> {
  const chain = parseChain(x5c);
  const anchors = trustedCaDer.map((der) => new x509.X509Certificate(der));
  // The chain may end with the anchor itself or with a certificate the anchor issued.
  const last = chain[chain.length - 1]!;
  const lastIsAnchor = anchors.some((anchor) => sameBytes(anchor.rawData, last.rawData));
  const path = lastIsAnchor ? chain : [...chain, await findAnchor(last, anchors)];

  // From the anchor down: every issuer must be a CA allowed this depth, and must have signed the next.
  for (let i = path.length - 1; i > 0; i--) {
    const issuer = path[i]!;
    const subject = path[i - 1]!;
    mayIssue(issuer, i - 1);
    if (!(await signedBy(subject, issuer))) throw new X5cChainError("bad-signature");
  }
  for (const certificate of path) {
    if (now < certificate.notBefore) throw new X5cChainError("not-yet-valid", certificate.subject);
    if (now > certificate.notAfter) throw new X5cChainError("expired", certificate.subject);
  }
  const leaf = path[0]!;
  const usage = leaf.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
    throw new X5cChainError("wrong-usage", "leaf lacks digitalSignature");
  }
  if (leaf.getExtension(x509.BasicConstraintsExtension)?.ca) {
    throw new X5cChainError("wrong-usage", "leaf is a CA certificate");
  }
  return importVerifyKey(leaf);
}

function parseChain(x5c: unknown): X509.X509Certificate[] {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > MAX_CHAIN) throw new X5cChainError("malformed");
  return x5c.map((entry) => {
    if (typeof entry !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(entry))
      throw new X5cChainError("malformed");
    let certificate: X509.X509Certificate;
    try {
      certificate = new x509.X509Certificate(Buffer.from(entry, "base64"));
    } catch {
      throw new X5cChainError("malformed");
    }
    for (const extension of certificate.extensions) {
      if (extension.critical && !KNOWN_EXTENSIONS.has(extension.type)) {
        throw new X5cChainError("malformed", `unknown critical extension ${extension.type}`);
      }
    }
    return certificate;
  });
}

async function findAnchor(
  last: X509.X509Certificate,
  anchors: readonly X509.X509Certificate[],
): Promise<X509.X509Certificate> {
  const named = anchors.filter((anchor) =>
    sameBytes(anchor.subjectName.toArrayBuffer(), last.issuerName.toArrayBuffer()),
  );
  if (named.length === 0) throw new X5cChainError("untrusted");
  for (const anchor of named) if (await signedBy(last, anchor)) return anchor;
  // A trusted CA's name without its signature: a forgery or a re-keyed CA.
  throw new X5cChainError("bad-signature");
}

/** `below` is the number of non-leaf certificates beneath `issuer` in the path. */
function mayIssue(issuer: X509.X509Certificate, below: number): void {
  const constraints = issuer.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new X5cChainError("not-a-ca", issuer.subject);
  if (constraints.pathLength !== undefined && below > constraints.pathLength) {
    throw new X5cChainError("not-a-ca", `${issuer.subject} has pathLen ${constraints.pathLength}`);
  }
  const usage = issuer.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new X5cChainError("not-a-ca", `${issuer.subject} lacks keyCertSign`);
  }
}

async function signedBy(subject: X509.X509Certificate, issuer: X509.X509Certificate): Promise<boolean> {
  if (!sameBytes(subject.issuerName.toArrayBuffer(), issuer.subjectName.toArrayBuffer())) return false;
  try {
    return await subject.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

async function importVerifyKey(leaf: X509.X509Certificate): Promise<CryptoKey> {
  const spki = leaf.publicKey.rawData;
  const algorithm = leaf.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  const params =
    algorithm.name === "ECDSA" && algorithm.namedCurve === "P-256"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : algorithm.name === "Ed25519" || algorithm.name === "EdDSA"
        ? { name: "Ed25519" }
        : undefined;
  if (!params) throw new X5cChainError("wrong-usage", "leaf key is neither P-256 nor Ed25519");
  return (await webcrypto.subtle.importKey("spki", spki, params, true, ["verify"])) as CryptoKey;
}

function signingAlgorithmOf(key: CryptoKey): webcrypto.Algorithm | webcrypto.EcdsaParams {
  if (key.algorithm.name === "ECDSA") return { name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams;
  if (key.algorithm.name === "Ed25519") return { name: "Ed25519" };
  throw new TypeError(`CA key algorithm ${key.algorithm.name} is not supported; use P-256 or Ed25519`);
}

/** SPKI DER of a public key given in any of the forms callers hold; a private key gives its public half. */
function spkiOf(key: CryptoKey | KeyObject | JWK): Uint8Array {
  let object: KeyObject;
  if (key instanceof KeyObject) object = key;
  else if (types.isCryptoKey(key)) object = KeyObject.from(key);
  else object = createPublicKey({ key: key as JsonWebKey, format: "jwk" });
  if (object.type === "private") object = createPublicKey(object);
  return object.export({ format: "der", type: "spki" });
}

function encodings(certificate: X509.X509Certificate): Certificate {
  return Object.freeze({ pem: certificate.toString("pem"), der: new Uint8Array(certificate.rawData) });
}

/** 16 random bytes, first bit clear so the DER INTEGER stays positive without a sign byte. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString("hex");
}

function positiveDays(days: number): void {
  if (!Number.isInteger(days) || days < 1)
    throw new TypeError("validityDays must be a whole number of days ≥ 1");
}

function sameBytes(a: ArrayBuffer | Uint8Array, b: ArrayBuffer | Uint8Array): boolean {
  return Buffer.from(a as ArrayBuffer).equals(Buffer.from(b as ArrayBuffer));
}
