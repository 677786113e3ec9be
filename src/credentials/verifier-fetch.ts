/** How the verifier reaches issuers: the network (or what stands for it in tests) and a cache in between. */

/** One fetched document; any status is an answer, a rejection means none came. */
export interface FetchedDocument {
  status: number;
  contentType: string | null;
  body: string;
}

/** The network, as the verifier uses it: one GET with an `Accept` header. */
export type VerifierFetch = (url: string, request: { accept: string }) => Promise<FetchedDocument>;

/** Where fetched documents are kept between verifications, and between runs when it is persistent. */
export interface VerifierCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/** A cache that lasts as long as the verifier. */
export function memoryCache(): VerifierCache {
  const entries = new Map<string, string>();
  return {
    get: async (key) => entries.get(key),
    set: async (key, value) => {
      entries.set(key, value);
    },
  };
}

const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

/** One GET over the network: 10 s at most, no redirects, 8 MiB at most. */
export async function fetchOverHttp(url: string, request: { accept: string }): Promise<FetchedDocument> {
  const response = await fetch(url, {
    headers: { accept: request.accept },
    redirect: "error",
    signal: AbortSignal.timeout(10_000),
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_DOCUMENT_BYTES) throw new Error(`answer larger than ${MAX_DOCUMENT_BYTES} bytes`);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks).toString("utf8");
  return { status: response.status, contentType: response.headers.get("content-type"), body };
}
