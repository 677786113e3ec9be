/**
 * Offline verifications per second: `PresentationVerifier` with warm caches (the issuer metadata and the
 * status list fetched once, before the clock starts; the run fails if it fetches anything while timed),
 * verifying presentations with key binding, each with its own nonce. The ceiling is the two ES256
 * signature checks every presentation needs (the issuer's and the holder's key binding), made with
 * `crypto.verify` over inputs of the same sizes.
 */
import type { HolderKey } from "../src/credentials/holder-wallet.ts";
import { presentCredential } from "../src/credentials/holder-wallet.ts";
import { PresentationVerifier } from "../src/credentials/presentation-verifier.ts";
import { type BenchHub, inProcessNetwork } from "./credentials-hub.ts";
import type { SliceSettings } from "./credentials-issuance.ts";
import {
  alternate,
  type Rate,
  rawKeyPair,
  rawSign,
  rawVerify,
  signedPartOf,
  signingInputOf,
} from "./credentials-measure.ts";

const AUDIENCE = "https://canteen.example.org";
/** What a canteen asks to see. */
const DISCLOSED = ["cardNumber", "validUntil"];

export interface VerificationResult {
  readonly verified: Rate;
  /** Pairs of raw ES256 checks (issuer-signed JWT + key binding JWT). */
  readonly rawPairs: Rate;
  readonly ratio: number;
  readonly presentations: number;
  readonly presentationBytes: number;
  readonly issuerSigningInputBytes: number;
  readonly keyBindingSigningInputBytes: number;
  /** Requests the verifier made while it was timed: must be 0. */
  readonly fetchesWhileTimed: number;
  /** Requests it made to warm its caches. */
  readonly fetchesToWarm: number;
}

export async function measureVerification(
  hub: BenchHub,
  credentials: readonly { credential: string; holderKey: HolderKey }[],
  count: number,
  slices: SliceSettings,
): Promise<VerificationResult> {
  const network = inProcessNetwork(hub);
  const ca = (await hub.running.app.inject({ method: "GET", url: "/issuers/ca.pem" })).body;
  const verifier = new PresentationVerifier({ fetch: network.verifier, trustAnchors: [ca], allowHttp: true });

  // Distinct presentations, each with its own nonce, made before the clock starts.
  const presentations: { presentation: string; nonce: string }[] = [];
  for (let i = 0; i < count; i++) {
    const { credential, holderKey } = credentials[i % credentials.length]!;
    const nonce = `bench-nonce-${i}-${Math.random().toString(36).slice(2)}`;
    presentations.push({
      presentation: await presentCredential(credential, {
        holderKey,
        audience: AUDIENCE,
        nonce,
        disclose: DISCLOSED,
      }),
      nonce,
    });
  }

  // Warms the caches: the first verification fetches the metadata and the status list.
  const first = await verifier.verify(presentations[0]!.presentation, {
    audience: AUDIENCE,
    nonce: presentations[0]!.nonce,
  });
  if (!first.valid) throw new Error(`the first presentation was refused: ${JSON.stringify(first)}`);
  const fetchesToWarm = network.requests();

  let n = 0;
  const verifyOne = async () => {
    const { presentation, nonce } = presentations[n++ % presentations.length]!;
    const result = await verifier.verify(presentation, { audience: AUDIENCE, nonce });
    if (!result.valid) throw new Error(`presentation ${n} refused: ${result.reason} (${result.message})`);
  };
  const sample = presentations[0]!.presentation;
  const issuerJwt = sample.split("~")[0]!;
  const keyBindingJwt = sample.slice(sample.lastIndexOf("~") + 1);
  const issuerBytes = signedPartOf(issuerJwt).signingInputBytes;
  const keyBindingBytes = signedPartOf(keyBindingJwt).signingInputBytes;
  const { subject, ceiling } = await alternate(
    verifyOne,
    rawVerifyPair(issuerBytes, keyBindingBytes),
    slices,
  );
  const fetchesWhileTimed = network.requests() - fetchesToWarm;
  if (fetchesWhileTimed !== 0) {
    throw new Error(`the verifier fetched ${fetchesWhileTimed} documents while timed: its caches went cold`);
  }
  return {
    verified: subject,
    rawPairs: ceiling,
    ratio: subject.perSecond / ceiling.perSecond,
    presentations: presentations.length,
    presentationBytes: Buffer.byteLength(sample),
    issuerSigningInputBytes: issuerBytes,
    keyBindingSigningInputBytes: keyBindingBytes,
    fetchesWhileTimed,
    fetchesToWarm,
  };
}

/** Two raw ES256 checks per call, of inputs as long as the issuer-signed JWT's and the key binding's. */
function rawVerifyPair(issuerBytes: number, keyBindingBytes: number): () => void {
  const issuer = rawKeyPair();
  const holder = rawKeyPair();
  const issuerInput = signingInputOf(issuerBytes, "issuer");
  const keyBindingInput = signingInputOf(keyBindingBytes, "key binding");
  const issuerSignature = rawSign(issuerInput, issuer.privateKey);
  const keyBindingSignature = rawSign(keyBindingInput, holder.privateKey);
  return () => {
    if (
      !rawVerify(issuerInput, issuer.publicKey, issuerSignature) ||
      !rawVerify(keyBindingInput, holder.publicKey, keyBindingSignature)
    ) {
      throw new Error("a raw signature did not verify");
    }
  };
}
