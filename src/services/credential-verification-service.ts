import { issuerIdentifier } from "../credentials/issuer-identifier.ts";
import { issuerFromWellKnownPath } from "../credentials/openid4vci/issuer-metadata.ts";
import {
  type FetchedDocument,
  PresentationVerifier,
  type VerificationResult,
} from "../credentials/presentation-verifier.ts";
import type { CredentialIssuerService } from "./credential-issuer-service.ts";

export interface VerificationRequest {
  readonly presentation: string;
  readonly audience: string;
  readonly nonce: string;
}

/**
 * Verification for verifiers that prefer to ask: the same checks as the offline verifier (`openesc verify`),
 * run by the hub against its own issuers' metadata and status lists as they are now, read in process, with
 * no network call and no cache. A credential of an issuer outside this hub is answered `issuer-unavailable`.
 */
export class CredentialVerificationService {
  readonly #issuers: CredentialIssuerService;
  readonly #publicUrl: string;
  readonly #now: () => Date;

  constructor(issuers: CredentialIssuerService, options: { publicUrl: string; now: () => Date }) {
    this.#issuers = issuers;
    this.#publicUrl = options.publicUrl;
    this.#now = options.now;
  }

  async verify(request: VerificationRequest): Promise<VerificationResult> {
    const verifier = new PresentationVerifier({
      fetch: (url) => this.#fetchLocal(url),
      now: this.#now,
      allowHttp: this.#publicUrl.startsWith("http:"),
    });
    return verifier.verify(request.presentation, { audience: request.audience, nonce: request.nonce });
  }

  /** The documents a verifier would fetch, read from this hub; anything else is not found. */
  async #fetchLocal(url: string): Promise<FetchedDocument> {
    const notFound: FetchedDocument = { status: 404, contentType: null, body: "" };
    const origin = new URL(this.#publicUrl).origin;
    if (!url.startsWith(`${origin}/`)) return notFound;
    const path = url.slice(origin.length).split("?")[0] ?? "";
    const base = issuerIdentifier(this.#publicUrl, "");
    const issuer = issuerFromWellKnownPath("jwt-vc-issuer", origin, path);
    if (issuer?.startsWith(base)) {
      const metadata = await this.#issuers.jwtVcIssuerMetadata(decodeURIComponent(issuer.slice(base.length)));
      return metadata
        ? { status: 200, contentType: "application/json", body: JSON.stringify(metadata) }
        : notFound;
    }
    const list = new RegExp(`^${escapeRegExp(base)}([^/]+)/status-lists/([0-9]{1,15})$`).exec(url);
    if (list) {
      const token = await this.#issuers.statusListToken(decodeURIComponent(list[1] ?? ""), Number(list[2]));
      return token ? { status: 200, contentType: "application/statuslist+jwt", body: token } : notFound;
    }
    return notFound;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
