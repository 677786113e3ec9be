import type { JWK } from "jose";
import type { IssuerKeyAlgorithm } from "../credentials/sealed-key.ts";

export type { IssuerKeyAlgorithm };

/** `active` signs new credentials and status lists; `retired` only stays published for verifiers. */
export type IssuerKeyState = "active" | "retired";

/** Made by the hub, or brought by the organisation with its own private key (and possibly its own chain). */
export type IssuerKeyOrigin = "generated" | "imported";

/**
 * A signing key as the store holds it: the private half sealed under the master key (`sealed-key.ts`),
 * never in clear. The deployment's CA is stored the same way, with `organisationId` null.
 */
export interface IssuerKeyRecord {
  /** The key id (`kid`): the RFC 7638 thumbprint of the public key. */
  readonly id: string;
  /** The issuing organisation, or null for the deployment's CA. */
  readonly organisationId: string | null;
  readonly alg: IssuerKeyAlgorithm;
  /** The public key as a JWK, with `kid`, `alg` and `use`. */
  readonly publicJwk: JWK;
  /** The private key sealed with AES-256-GCM under the master key, with `id` as additional data. */
  readonly sealedPrivateKey: string;
  /** The `x5c` chain, leaf first: base64 (not URL-safe) DER certificates; for the CA, its own certificate. */
  readonly certificateChain: readonly string[];
  readonly origin: IssuerKeyOrigin;
  readonly state: IssuerKeyState;
  readonly createdAt: string;
  readonly retiredAt: string | null;
  /**
   * The latest expiry of anything the key signed (credentials, status list tokens): a retired key stays
   * published until then, so that no credential it signed stops verifying. Null when it signed nothing.
   */
  readonly publishedUntil: string | null;
}
