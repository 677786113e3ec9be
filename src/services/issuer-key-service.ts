import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  type JsonWebKey as NodeJsonWebKey,
  webcrypto,
} from "node:crypto";
import { existsSync } from "node:fs";
import { basename, dirname } from "node:path";
import { calculateJwkThumbprint, type JWK } from "jose";
import { embeddedMasterKey } from "../credentials/embedded-master-key.ts";
import {
  type Certificate,
  createDeploymentCa,
  issueIssuerCertificate,
  verifyX5cChain,
  X5cChainError,
} from "../credentials/issuer-certificates.ts";
import type { MasterKey } from "../credentials/master-key.ts";
import {
  generateIssuerKey,
  openPrivateKey,
  SealedKeyError,
  sealPrivateKey,
} from "../credentials/sealed-key.ts";
import { ConflictError, InvalidValueError, NotFoundError, OpenEscError } from "../domain/errors.ts";
import type { IssuerKeyAlgorithm, IssuerKeyRecord } from "../domain/issuer-key-record.ts";
import { issuesCards, type Organisation } from "../domain/organisation.ts";
import { type Principal, requireScope } from "./principal.ts";
import type { ServiceContext } from "./service-context.ts";

/** What signs for an issuer: its private key (opened), with what a verifier needs to trust it. */
export interface IssuerSigner {
  readonly organisationId: string;
  readonly key: KeyObject;
  readonly alg: IssuerKeyAlgorithm;
  readonly kid: string;
  /** Leaf first, base64 DER: the `x5c` header of everything it signs. */
  readonly x5c: string[];
}

/** What an organisation sees of its keys: never the private half, sealed or not. */
export interface IssuerKeyView {
  readonly kid: string;
  readonly alg: IssuerKeyAlgorithm;
  readonly origin: IssuerKeyRecord["origin"];
  readonly state: IssuerKeyRecord["state"];
  readonly publicJwk: JWK;
  readonly certificateChain: readonly string[];
  readonly createdAt: string;
  readonly retiredAt: string | null;
  readonly publishedUntil: string | null;
}

/** A new key for an organisation: made by the hub, or the organisation's own. */
export type IssuerKeyInput =
  | { readonly alg?: IssuerKeyAlgorithm }
  | {
      /** PKCS #8 PEM or a private JWK; P-256 or Ed25519. */
      readonly privateKey: string | JWK;
      /** The organisation's own chain (base64 DER, leaf first, ending with its CA); the deployment's CA signs otherwise. */
      readonly certificateChain?: readonly string[];
    };

export interface IssuerKeyServiceOptions {
  /** The configured master key; null when none is configured. */
  readonly masterKey: MasterKey | null;
  /**
   * Without a configured key: the file where the embedded hub keeps its own, made on first need; null on a
   * shared store (every process needs the same key), where nothing can then be signed.
   */
  readonly masterKeyFile: string | null;
  readonly publicUrl: string;
}

interface LoadedCa {
  readonly certificate: Certificate;
  readonly privateKey: webcrypto.CryptoKey;
}

/** The deployment CA outlives every issuer certificate it signs. */
const CA_VALIDITY_DAYS = 20 * 365;
/** Long enough for the longest card (a doctorate); rotation is how an issuer renews it. */
const ISSUER_CERTIFICATE_DAYS = 6 * 365;
/** How long a process trusts its memory of an organisation's active key before reading it again. */
const ACTIVE_KEY_CACHE_MS = 5_000;

/**
 * Issuer keys (ARCHITECTURE.md, "Whose signature"): each issuing organisation signs its credentials and
 * status lists with its own key, made on first use or imported, under a certificate from the deployment's
 * CA (or its own chain). Private keys are kept sealed under the master key and opened in memory only.
 * Rotation retires the active key; a retired key stays published until the last thing it signed expires.
 */
export class IssuerKeyService {
  readonly #ctx: ServiceContext;
  #masterKey: MasterKey | null;
  readonly #masterKeyFile: string | null;
  readonly #publicUrl: string;
  readonly #opened = new Map<string, KeyObject>();
  readonly #active = new Map<string, { signer: IssuerSigner; until: number }>();
  #caCache: LoadedCa | undefined;

  constructor(ctx: ServiceContext, options: IssuerKeyServiceOptions) {
    this.#ctx = ctx;
    this.#masterKey = options.masterKey;
    this.#masterKeyFile = options.masterKeyFile;
    this.#publicUrl = options.publicUrl;
  }

  /** Whether the hub can sign: a master key is configured, or the embedded hub keeps one. */
  get available(): boolean {
    return this.#masterKey !== null || this.#masterKeyFile !== null;
  }

  /** The signer of an issuing organisation, making its first key when it has none. */
  async signerFor(organisation: Organisation): Promise<IssuerSigner> {
    const cached = this.#active.get(organisation.id);
    if (cached && cached.until > Date.now()) return cached.signer;
    const signer = await this.#signerOf(await this.ensureKey(organisation));
    this.#active.set(organisation.id, { signer, until: Date.now() + ACTIVE_KEY_CACHE_MS });
    return signer;
  }

  /**
   * The organisation's active key, made (ES256) when it has none; its private half stays sealed, so that
   * publishing keys never needs the master key once they exist.
   */
  async ensureKey(organisation: Organisation): Promise<IssuerKeyRecord> {
    const found = await this.#ctx.storage.read.issuerKeys.findActive(organisation.id);
    if (found) return found;
    const made = await this.#generate(organisation, "ES256");
    // A concurrent first use may have stored its key first: then that one is the active key.
    await this.#ctx.storage.transaction((tx) => tx.issuerKeys.insert(made));
    const record = await this.#ctx.storage.read.issuerKeys.findActive(organisation.id);
    if (!record) throw new Error(`no active key for ${organisation.id} after making one`);
    return record;
  }

  /** Records that `kid` signed something valid until `until`: it stays published at least that long. */
  async signedUntil(kid: string, until: Date): Promise<void> {
    await this.#ctx.storage.transaction((tx) => tx.issuerKeys.extendPublishedUntil(kid, until.toISOString()));
  }

  /**
   * The public keys a verifier needs for an issuer: the active one and every retired one whose signatures
   * may still be met. Each carries its `x5c` chain.
   */
  async publishedKeys(organisationId: string): Promise<JWK[]> {
    const now = this.#ctx.clock.now().toISOString();
    const keys = await this.#ctx.storage.read.issuerKeys.listForOrganisation(organisationId);
    return keys
      .filter((k) => k.state === "active" || (k.publishedUntil !== null && k.publishedUntil >= now))
      .map((k) => ({ ...k.publicJwk, x5c: [...k.certificateChain] }));
  }

  /** The deployment CA's certificate, for verifiers to trust (PEM). */
  async caCertificatePem(): Promise<string> {
    const ca = await this.#ensureCa();
    return ca.certificate.pem;
  }

  async list(principal: Principal, organisationId: string): Promise<IssuerKeyView[]> {
    this.#mayManage(principal, organisationId);
    const keys = await this.#ctx.storage.read.issuerKeys.listForOrganisation(organisationId);
    return keys.map(viewOf);
  }

  /**
   * Rotates the organisation's key: the new one (made here, or imported) becomes active at once, the old
   * one is retired and stays published while anything it signed is valid.
   */
  async rotate(principal: Principal, organisationId: string, input: IssuerKeyInput): Promise<IssuerKeyView> {
    this.#mayManage(principal, organisationId);
    const organisation = principal.organisation;
    const made =
      "privateKey" in input
        ? await this.#prepareImport(organisation, input)
        : await this.#generate(organisation, input.alg ?? "ES256");
    await this.#ctx.storage.transaction(async (tx) => {
      await tx.issuerKeys.retireActive(organisationId, made.createdAt);
      if (!(await tx.issuerKeys.insert(made))) {
        throw new ConflictError(
          "ISSUER_KEY_CONFLICT",
          "another key was made for this organisation at the same moment; try again",
        );
      }
    });
    this.#active.delete(organisationId);
    return viewOf(made);
  }

  #mayManage(principal: Principal, organisationId: string): void {
    requireScope(principal, "credentials:manage");
    // Another organisation's keys answer like an organisation that does not exist.
    if (principal.organisation.id !== organisationId) {
      throw new NotFoundError("ORGANISATION_NOT_FOUND", `no organisation ${organisationId}`);
    }
    if (!issuesCards(principal.organisation.kind)) {
      throw new InvalidValueError(
        "VALIDATION_FAILED",
        "organisationId",
        `an organisation of kind ${principal.organisation.kind} issues no credentials`,
      );
    }
    this.requireAvailable();
  }

  /** Throws CREDENTIALS_UNAVAILABLE when the hub cannot sign. */
  requireAvailable(): void {
    if (!this.available) {
      throw new OpenEscError(
        "CREDENTIALS_UNAVAILABLE",
        "this hub has no master key (OPENESC_MASTER_KEY or OPENESC_MASTER_KEY_FILE), so it cannot sign credentials",
      );
    }
  }

  /** The master key: the configured one, or the embedded hub's file, made on first need on an empty store. */
  async #key(): Promise<MasterKey> {
    this.requireAvailable();
    if (this.#masterKey !== null) return this.#masterKey;
    const file = this.#masterKeyFile as string;
    if (!existsSync(file)) {
      // A new key over keys sealed under a lost one would make every stored key unreadable for good.
      if (await this.#ctx.storage.read.issuerKeys.findActive(null)) {
        throw new OpenEscError(
          "CREDENTIALS_UNAVAILABLE",
          `the store holds issuer keys sealed under a master key, but ${basename(file)} is missing from the data directory: restore it from the backup`,
        );
      }
    }
    this.#masterKey = embeddedMasterKey(dirname(file)).key;
    return this.#masterKey;
  }

  /** Opens a sealed key; a master key that does not open it is a configuration fault, not a bug. */
  async #open(record: IssuerKeyRecord): Promise<KeyObject> {
    const masterKey = await this.#key();
    try {
      return openPrivateKey(masterKey, record.sealedPrivateKey, record.id);
    } catch (error) {
      if (!(error instanceof SealedKeyError)) throw error;
      throw new OpenEscError(
        "CREDENTIALS_UNAVAILABLE",
        "the master key does not open the stored issuer keys: configure the one they were sealed with",
      );
    }
  }

  async #signerOf(record: IssuerKeyRecord): Promise<IssuerSigner> {
    let key = this.#opened.get(record.id);
    if (!key) {
      key = await this.#open(record);
      this.#opened.set(record.id, key);
    }
    if (record.organisationId === null) throw new TypeError("the CA key signs certificates only");
    return {
      organisationId: record.organisationId,
      key,
      alg: record.alg,
      kid: record.id,
      x5c: [...record.certificateChain],
    };
  }

  /** A new key made here, sealed, certified by the deployment CA; not stored yet. */
  async #generate(organisation: Organisation, alg: IssuerKeyAlgorithm): Promise<IssuerKeyRecord> {
    const key = await generateIssuerKey(alg);
    const ca = await this.#ensureCa();
    const certificate = await this.#certify(organisation, key.publicKey);
    return {
      id: key.keyId,
      organisationId: organisation.id,
      alg,
      publicJwk: key.publicJwk,
      sealedPrivateKey: sealPrivateKey(await this.#key(), key.privateKey, key.keyId),
      certificateChain: [base64(certificate.der), base64(ca.certificate.der)],
      origin: "generated",
      state: "active",
      createdAt: this.#ctx.clock.now().toISOString(),
      retiredAt: null,
      publishedUntil: null,
    };
  }

  async #certify(organisation: Organisation, publicKey: KeyObject): Promise<Certificate> {
    const ca = await this.#ensureCa();
    return issueIssuerCertificate({
      ca,
      subject: {
        organisationId: organisation.id,
        name: organisation.name,
        ...(organisation.country ? { country: organisation.country } : {}),
      },
      publicKey,
      validityDays: ISSUER_CERTIFICATE_DAYS,
    });
  }

  /** The deployment CA, made on first use (outside any transaction); two processes racing end with one. */
  async #ensureCa(): Promise<LoadedCa> {
    if (this.#caCache) return this.#caCache;
    const masterKey = await this.#key();
    let record = await this.#ctx.storage.read.issuerKeys.findActive(null);
    if (!record) {
      const keys = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
        "sign",
        "verify",
      ])) as webcrypto.CryptoKeyPair;
      const host = new URL(this.#publicUrl).host;
      const ca = await createDeploymentCa({
        name: `CN=OpenESC deployment CA ${host}`,
        validityDays: CA_VALIDITY_DAYS,
        key: keys,
      });
      const publicJwk = (await webcrypto.subtle.exportKey("jwk", keys.publicKey)) as JWK;
      const kid = await calculateJwkThumbprint(publicJwk, "sha256");
      await this.#ctx.storage.transaction((tx) =>
        tx.issuerKeys.insert({
          id: kid,
          organisationId: null,
          alg: "ES256",
          publicJwk: { ...publicJwk, kid, alg: "ES256" },
          sealedPrivateKey: sealPrivateKey(masterKey, keys.privateKey, kid),
          certificateChain: [base64(ca.certificate.der)],
          origin: "generated",
          state: "active",
          createdAt: this.#ctx.clock.now().toISOString(),
          retiredAt: null,
          publishedUntil: null,
        }),
      );
      record = await this.#ctx.storage.read.issuerKeys.findActive(null);
      if (!record) throw new Error("the deployment CA could not be stored");
    }
    const der = Buffer.from(record.certificateChain[0] ?? "", "base64");
    const privateKey = await webcrypto.subtle.importKey(
      "pkcs8",
      (await this.#open(record)).export({ format: "der", type: "pkcs8" }),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["sign"],
    );
    this.#caCache = { certificate: { der: new Uint8Array(der), pem: pemOf(der) }, privateKey };
    return this.#caCache;
  }

  async #prepareImport(
    organisation: Organisation,
    input: Extract<IssuerKeyInput, { privateKey: unknown }>,
  ): Promise<IssuerKeyRecord> {
    const privateKey = parsePrivateKey(input.privateKey);
    const publicKey = createPublicKey(privateKey);
    const alg = algorithmOf(publicKey);
    const jwk = publicKey.export({ format: "jwk" }) as JWK;
    const kid = await calculateJwkThumbprint(jwk, "sha256");
    const existing = await this.#ctx.storage.read.issuerKeys.find(kid);
    if (existing) {
      throw new InvalidValueError(
        "ISSUER_KEY_INVALID",
        "/privateKey",
        "this key was used before; bring a new one",
      );
    }
    let chain: string[];
    if (input.certificateChain !== undefined) {
      chain = [...input.certificateChain];
      await checkOwnChain(chain, publicKey, this.#ctx.clock.now());
    } else {
      const leaf = await this.#certify(organisation, publicKey);
      const ca = await this.#ensureCa();
      chain = [base64(leaf.der), base64(ca.certificate.der)];
    }
    return {
      id: kid,
      alg,
      publicJwk: { ...jwk, kid, alg, use: "sig" },
      sealedPrivateKey: sealPrivateKey(await this.#key(), privateKey, kid),
      certificateChain: chain,
      origin: "imported",
      organisationId: organisation.id,
      state: "active",
      createdAt: this.#ctx.clock.now().toISOString(),
      retiredAt: null,
      publishedUntil: null,
    };
  }
}

function viewOf(k: IssuerKeyRecord): IssuerKeyView {
  return {
    kid: k.id,
    alg: k.alg,
    origin: k.origin,
    state: k.state,
    publicJwk: k.publicJwk,
    certificateChain: k.certificateChain,
    createdAt: k.createdAt,
    retiredAt: k.retiredAt,
    publishedUntil: k.publishedUntil,
  };
}

function parsePrivateKey(input: string | JWK): KeyObject {
  try {
    const key =
      typeof input === "string"
        ? createPrivateKey({ key: input, format: "pem" })
        : createPrivateKey({ key: input as NodeJsonWebKey, format: "jwk" });
    if (key.type !== "private") throw new Error("not private");
    return key;
  } catch {
    throw new InvalidValueError(
      "ISSUER_KEY_INVALID",
      "/privateKey",
      "must be an unencrypted PKCS #8 PEM private key or a private JWK",
    );
  }
}

function algorithmOf(publicKey: KeyObject): IssuerKeyAlgorithm {
  if (publicKey.asymmetricKeyType === "ec" && publicKey.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    return "ES256";
  }
  if (publicKey.asymmetricKeyType === "ed25519") return "EdDSA";
  throw new InvalidValueError(
    "ISSUER_KEY_INVALID",
    "/privateKey",
    "must be a P-256 (ES256) or Ed25519 (EdDSA) key",
  );
}

/** An organisation's own chain must verify up to its last certificate and certify the key it comes with. */
async function checkOwnChain(chain: readonly string[], publicKey: KeyObject, now: Date): Promise<void> {
  const field = "/certificateChain";
  if (chain.length < 2) {
    throw new InvalidValueError(
      "CERTIFICATE_CHAIN_INVALID",
      field,
      "must hold the leaf and the CA that issued it",
    );
  }
  let leafKey: webcrypto.CryptoKey;
  try {
    const anchor = Buffer.from(chain[chain.length - 1] ?? "", "base64");
    leafKey = await verifyX5cChain(chain, [new Uint8Array(anchor)], now);
  } catch (error) {
    const reason = error instanceof X5cChainError ? error.reason : "malformed";
    throw new InvalidValueError("CERTIFICATE_CHAIN_INVALID", field, `is not a valid chain (${reason})`);
  }
  const leafSpki = Buffer.from(await webcrypto.subtle.exportKey("spki", leafKey));
  if (!leafSpki.equals(publicKey.export({ format: "der", type: "spki" }))) {
    throw new InvalidValueError(
      "CERTIFICATE_CHAIN_INVALID",
      field,
      "its leaf certifies another key than privateKey",
    );
  }
}

const base64 = (der: Uint8Array) => Buffer.from(der).toString("base64");

function pemOf(der: Buffer): string {
  const body = der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "");
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}
