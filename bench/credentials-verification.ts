/**
 * Offline verifications per second: `PresentationVerifier` with warm caches (the issuer metadata and the
 * status list fetched once, before the clock starts; the run fails if it fetches anything while timed),
 * verifying presentations with key binding, each with its own nonce. Two figures:
 *
 * - warm holders: presentations of the hub's credentials, bound to 64 holder keys, seen again and again,
 *   so that their keys come from the verifier's map of imported holder keys (`holderKeyOf` in sd-jwt.ts);
 * - new holders: every presentation bound to a holder key this process has never seen, so that every
 *   verification imports its key. The credentials come from an issuer like the hub's (the bench signer:
 *   P-256, `kid`, leaf + CA chain, the same claims), published to the verifier by an in-process network,
 *   since the hub issues end to end too slowly to make thousands of them beforehand.
 *
 * The ceiling of both is the two ES256 signature checks every presentation needs (the issuer's and the
 * holder's key binding), made with `crypto.verify` over inputs of the same sizes, keys imported beforehand.
 */
import { randomInt } from "node:crypto";
import { issueEscCredential } from "../src/credentials/esc-credential.ts";
import type { HolderKey } from "../src/credentials/holder-wallet.ts";
import { generateHolderKey, presentCredential } from "../src/credentials/holder-wallet.ts";
import { statusListUrl } from "../src/credentials/issuer-identifier.ts";
import { PresentationVerifier, type VerifierFetch } from "../src/credentials/presentation-verifier.ts";
import {
  STATUS_LIST_JWT_TYPE,
  StatusList,
  signStatusListToken,
} from "../src/credentials/token-status-list.ts";
import { type BenchHub, inProcessNetwork, UNIVERSITY } from "./credentials-hub.ts";
import { benchIssuer, claimsOf, type SliceSettings } from "./credentials-issuance.ts";
import {
  alternate,
  alternateCounted,
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
/** The issuer of the new holders' credentials: answered in process, never on the network. */
const NEW_HOLDERS_ORIGIN = "https://issuer.bench.example.org";
const NEW_HOLDERS_ISSUER = `${NEW_HOLDERS_ORIGIN}/issuers/${UNIVERSITY.id}`;
/** The hub's default list size. */
const NEW_HOLDERS_LIST_ENTRIES = 131_072;
/** Credentials issued and presented at once while preparing: the signatures overlap in the thread pool. */
const PREPARE_BATCH = 32;

export interface VerificationFigure {
  readonly verified: Rate;
  /** Pairs of raw ES256 checks (issuer-signed JWT + key binding JWT), in turn with `verified`. */
  readonly rawPairs: Rate;
  readonly ratio: number;
  /** Distinct presentations made beforehand. */
  readonly presentations: number;
  /** The credentials they were made from, and the holder keys those are bound to. */
  readonly credentials: number;
  readonly holderKeys: number;
  readonly presentationBytes: number;
  /** Requests the verifier made to warm its caches. */
  readonly fetchesToWarm: number;
  /** Requests it made while it was timed: must be 0. */
  readonly fetchesWhileTimed: number;
}

export interface VerificationResult {
  readonly warm: VerificationFigure;
  readonly newHolders: VerificationFigure & {
    /** Seconds spent making the keys, credentials and presentations, before the clock starts. */
    readonly prepareSeconds: number;
  };
  /** The raw ceiling's input sizes: those of the hub's credentials and key binding. */
  readonly issuerSigningInputBytes: number;
  readonly keyBindingSigningInputBytes: number;
}

export async function measureVerification(
  hub: BenchHub,
  credentials: readonly { credential: string; holderKey: HolderKey }[],
  settings: { presentations: number; newHolders: number },
  slices: SliceSettings,
): Promise<VerificationResult> {
  const network = inProcessNetwork(hub);
  const ca = (await hub.running.app.inject({ method: "GET", url: "/issuers/ca.pem" })).body;
  const verifier = new PresentationVerifier({ fetch: network.verifier, trustAnchors: [ca], allowHttp: true });

  // Distinct presentations, each with its own nonce, made before the clock starts.
  const presentations: Presentation[] = [];
  for (let i = 0; i < settings.presentations; i++) {
    const { credential, holderKey } = credentials[i % credentials.length]!;
    presentations.push(await present(credential, holderKey, i));
  }
  const sample = presentations[0]!.presentation;
  const issuerBytes = signedPartOf(sample.split("~")[0]!).signingInputBytes;
  const keyBindingBytes = signedPartOf(sample.slice(sample.lastIndexOf("~") + 1)).signingInputBytes;
  const ceiling = rawVerifyPair(issuerBytes, keyBindingBytes);

  // Warm holders: the first verification fetches the metadata and the status list and imports the first
  // holder key; the warm-up slice imports the others.
  const fetchesToWarm = await warmUp(verifier, presentations[0]!, network.requests);
  let n = 0;
  const verifyWarm = () => verifyOne(verifier, presentations[n++ % presentations.length]!, n);
  const warm = await alternate(verifyWarm, ceiling, slices);
  const warmFetchesWhileTimed = network.requests() - fetchesToWarm;
  if (warmFetchesWhileTimed !== 0) throw cachesWentCold(warmFetchesWhileTimed);

  // New holders: one fresh key, credential and presentation each, used once.
  const started = performance.now();
  const fresh = await newHolderPresentations(settings.newHolders + 1);
  const prepareSeconds = (performance.now() - started) / 1000;
  const freshVerifier = new PresentationVerifier({ fetch: fresh.fetch, trustAnchors: [fresh.caDer] });
  const freshFetchesToWarm = await warmUp(freshVerifier, fresh.presentations[0]!, fresh.requests);
  let m = 1;
  const verifyNew = () => {
    if (m >= fresh.presentations.length) throw new Error("ran out of new holders' presentations");
    return verifyOne(freshVerifier, fresh.presentations[m++]!, m);
  };
  // A tenth to warm up, the rest in as many slices as the warm figure has.
  const warmup = Math.max(1, Math.floor(settings.newHolders / 10));
  const perSlice = Math.max(1, Math.floor((settings.newHolders - warmup) / slices.slices));
  const newHolders = await alternateCounted(verifyNew, ceiling, { slices: slices.slices, perSlice, warmup });
  const freshFetchesWhileTimed = fresh.requests() - freshFetchesToWarm;
  if (freshFetchesWhileTimed !== 0) throw cachesWentCold(freshFetchesWhileTimed);

  return {
    warm: {
      verified: warm.subject,
      rawPairs: warm.ceiling,
      ratio: warm.subject.perSecond / warm.ceiling.perSecond,
      presentations: presentations.length,
      credentials: Math.min(credentials.length, presentations.length),
      holderKeys: new Set(credentials.slice(0, presentations.length).map((c) => c.holderKey)).size,
      presentationBytes: Buffer.byteLength(sample),
      fetchesToWarm,
      fetchesWhileTimed: warmFetchesWhileTimed,
    },
    newHolders: {
      verified: newHolders.subject,
      rawPairs: newHolders.ceiling,
      ratio: newHolders.subject.perSecond / newHolders.ceiling.perSecond,
      presentations: fresh.presentations.length,
      credentials: fresh.presentations.length,
      holderKeys: fresh.presentations.length,
      presentationBytes: Buffer.byteLength(fresh.presentations[0]!.presentation),
      fetchesToWarm: freshFetchesToWarm,
      fetchesWhileTimed: freshFetchesWhileTimed,
      prepareSeconds,
    },
    issuerSigningInputBytes: issuerBytes,
    keyBindingSigningInputBytes: keyBindingBytes,
  };
}

interface Presentation {
  readonly presentation: string;
  readonly nonce: string;
}

async function present(credential: string, holderKey: HolderKey, i: number): Promise<Presentation> {
  const nonce = `bench-nonce-${i}-${Math.random().toString(36).slice(2)}`;
  const presentation = await presentCredential(credential, {
    holderKey,
    audience: AUDIENCE,
    nonce,
    disclose: DISCLOSED,
  });
  return { presentation, nonce };
}

/** Verifies the first presentation, which fills the caches; returns the requests that took. */
async function warmUp(
  verifier: PresentationVerifier,
  first: Presentation,
  requests: () => number,
): Promise<number> {
  const result = await verifier.verify(first.presentation, { audience: AUDIENCE, nonce: first.nonce });
  if (!result.valid) throw new Error(`the first presentation was refused: ${JSON.stringify(result)}`);
  return requests();
}

async function verifyOne(verifier: PresentationVerifier, { presentation, nonce }: Presentation, n: number) {
  const result = await verifier.verify(presentation, { audience: AUDIENCE, nonce });
  if (!result.valid) throw new Error(`presentation ${n} refused: ${result.reason} (${result.message})`);
}

function cachesWentCold(fetches: number): Error {
  return new Error(`the verifier fetched ${fetches} documents while timed: its caches went cold`);
}

/**
 * `count` presentations, each of its own credential bound to its own new holder key, from an issuer like
 * the hub's, and the in-process network that publishes that issuer's metadata and status list.
 */
async function newHolderPresentations(count: number): Promise<{
  presentations: Presentation[];
  fetch: VerifierFetch;
  requests: () => number;
  caDer: Buffer;
}> {
  const { signer, publicJwk, caDer } = await benchIssuer();
  const listUri = statusListUrl(NEW_HOLDERS_ISSUER, 1);
  const issuedAt = new Date();
  const expiresAt = new Date("2030-09-01T00:00:00Z");
  const listToken = await signStatusListToken({
    list: new StatusList(NEW_HOLDERS_LIST_ENTRIES, 2),
    uri: listUri,
    key: signer.key,
    alg: signer.alg,
    kid: signer.kid,
    x5c: signer.x5c,
    issuedAt,
    expiresAt: new Date(issuedAt.getTime() + 24 * 3600 * 1000),
    ttlSeconds: 3600,
  });
  const documents = new Map([
    [
      `${NEW_HOLDERS_ORIGIN}/.well-known/jwt-vc-issuer${new URL(NEW_HOLDERS_ISSUER).pathname}`,
      {
        contentType: "application/json",
        body: JSON.stringify({ issuer: NEW_HOLDERS_ISSUER, jwks: { keys: [publicJwk] } }),
      },
    ],
    [listUri, { contentType: `application/${STATUS_LIST_JWT_TYPE}`, body: listToken }],
  ]);
  let requests = 0;
  const fetch: VerifierFetch = async (url) => {
    requests++;
    const document = documents.get(url);
    return document === undefined
      ? { status: 404, contentType: "text/plain", body: "not found" }
      : { status: 200, ...document };
  };

  const presentations: Presentation[] = [];
  for (let start = 0; start < count; start += PREPARE_BATCH) {
    const batch = Array.from({ length: Math.min(PREPARE_BATCH, count - start) }, async (_, j) => {
      const i = start + j;
      const holderKey = generateHolderKey("ES256");
      const credential = await issueEscCredential({
        issuer: NEW_HOLDERS_ISSUER,
        signer,
        claims: claimsOf(NEW_HOLDERS_ORIGIN, i),
        holderJwk: holderKey.publicJwk,
        status: { uri: listUri, idx: randomInt(NEW_HOLDERS_LIST_ENTRIES) },
        issuedAt,
        expiresAt,
      });
      return present(credential, holderKey, i);
    });
    presentations.push(...(await Promise.all(batch)));
  }
  return { presentations, fetch, requests: () => requests, caDer };
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
