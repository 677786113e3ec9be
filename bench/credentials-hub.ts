/**
 * The hub of the credentials benchmark: a real `startHub` (src/start-hub.ts) in this process, on a
 * throwaway data directory and a loopback port, with its delivery running (relay, status-list updater and
 * signer) as `npm start` runs it. Setup goes through the HTTP API in process (`app.inject`); the wallet and
 * the verifier reach the hub either the same way or over loopback HTTP.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import type { WalletFetch } from "../src/credentials/holder-wallet.ts";
import type { VerifierFetch } from "../src/credentials/presentation-verifier.ts";
import { type RunningHub, startHub } from "../src/start-hub.ts";
import { BENCH_ADMIN_TOKEN } from "./bench-constants.ts";
import { freePort, LOOPBACK } from "./processes.ts";

export const UNIVERSITY = {
  id: "930000001",
  kind: "institution",
  name: "Credentials Bench University",
  country: "FR",
  schacHomeOrganisation: "credentials-bench.example.org",
};

export interface BenchHub {
  readonly running: RunningHub;
  /** `http://127.0.0.1:<port>`: also the hub's public URL, so every URL it signs points here. */
  readonly baseUrl: string;
  /** Sends a request in process; throws unless the answer has one of the `expect`ed statuses. */
  call(
    method: "GET" | "POST" | "PUT" | "PATCH",
    path: string,
    token: string | null,
    body: unknown,
    expect: readonly number[],
  ): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Starts the hub with the given settings on top of the benchmark's own (loopback, a fixed operator token,
 * errors only: a fresh data directory always warns that it made a master key).
 */
export async function startBenchHub(env: Readonly<Record<string, string>>): Promise<BenchHub> {
  const dataDir = mkdtempSync(join(tmpdir(), "openesc-bench-credentials-"));
  const port = await freePort();
  const baseUrl = `http://${LOOPBACK}:${port}`;
  let running: RunningHub;
  try {
    running = await startHub(
      loadConfig({
        PORT: String(port),
        HOST: LOOPBACK,
        OPENESC_DATA_DIR: dataDir,
        OPENESC_PUBLIC_URL: baseUrl,
        OPENESC_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
        OPENESC_LOG_LEVEL: "error",
        ...env,
      }),
    );
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const hub: BenchHub = {
    running,
    baseUrl,
    async call(method, path, token, body, expect) {
      const answer = await running.app.inject({
        method,
        url: path,
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      });
      if (!expect.includes(answer.statusCode)) {
        throw new Error(`${method} ${path} answered ${answer.statusCode}: ${answer.body.slice(0, 500)}`);
      }
      return answer.body === "" ? {} : (answer.json() as Record<string, unknown>);
    },
    async stop() {
      try {
        await running.stop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
  return hub;
}

/** The operator onboards the organisation and makes it an API token; returns the token. */
export async function onboard(hub: BenchHub, organisation: Record<string, unknown>): Promise<string> {
  const created = await hub.call("POST", "/v1/organisations", BENCH_ADMIN_TOKEN, organisation, [201]);
  const id = encodeURIComponent(String(created["id"]));
  const token = await hub.call(
    "POST",
    `/v1/organisations/${id}/tokens`,
    BENCH_ADMIN_TOKEN,
    { name: "bench" },
    [201],
  );
  return String(token["token"]);
}

/** A student the university may issue a credential to: enrolled, an active card, consent given. */
export interface Student {
  readonly esi: string;
  readonly escn: string;
}

export async function enrolStudent(hub: BenchHub, token: string, n: number): Promise<Student> {
  const esi = `urn:schac:personalUniqueCode:int:esi:fr:BENCH-${String(n).padStart(6, "0")}`;
  await hub.call(
    "POST",
    "/esc-rest/api/v2/persons",
    token,
    {
      identifier: esi,
      identifierCode: "ESI",
      fullName: `Étudiante Exemple ${n}`,
      personOrganisationUpdateViews: [
        { organisationIdentifier: UNIVERSITY.id, academicLevel: "MASTER", email: `student-${n}@example.org` },
      ],
    },
    [201],
  );
  await hub.call(
    "PUT",
    `/v1/student-statuses/${UNIVERSITY.id}/${encodeURIComponent(esi)}`,
    token,
    { state: "enrolled", validFrom: "2026-09-01", validUntil: "2030-08-31" },
    [200, 201],
  );
  const card = await hub.call(
    "POST",
    "/esc-rest/api/v2/cards",
    token,
    {
      cardStatusType: "ACTIVE",
      cardType: "SMART_PASSIVE",
      issuedAt: "2026-09-01",
      expiresAt: "2030-08-31",
      issuerIdentifier: UNIVERSITY.id,
      personIdentifier: esi,
      displayName: `Étudiante E. ${n}`,
    },
    [201],
  );
  await hub.call(
    "PUT",
    `/v1/persons/${encodeURIComponent(esi)}/consents/credential-issuance`,
    token,
    { wordingVersion: "2026-11" },
    [200, 201],
  );
  return { esi, escn: String(card["cardNumber"]).toLowerCase() };
}

/** The university's offer of a student's card: its deep link and the transaction code for the student. */
export async function makeOffer(
  hub: BenchHub,
  token: string,
  escn: string,
): Promise<{ deepLink: string; txCode: string }> {
  const made = await hub.call("POST", "/v1/credential-offers", token, { escn, txCode: true }, [201]);
  return { deepLink: String(made["deepLink"]), txCode: String(made["txCode"]) };
}

/** The wallet's and the verifier's network, answered by the hub in process; counts the requests. */
export function inProcessNetwork(hub: BenchHub): {
  wallet: WalletFetch;
  verifier: VerifierFetch;
  readonly requests: () => number;
} {
  let requests = 0;
  const send = (url: string, method: "GET" | "POST", headers: Record<string, string>, body?: string) => {
    if (!url.startsWith(`${hub.baseUrl}/`)) throw new Error(`outside the hub: ${url}`);
    requests++;
    return hub.running.app.inject({
      method,
      url: url.slice(hub.baseUrl.length),
      headers,
      ...(body === undefined ? {} : { payload: body }),
    });
  };
  return {
    requests: () => requests,
    wallet: async (url, init) => {
      const answer = await send(url, init.method, init.headers, init.body);
      return { status: answer.statusCode, text: async () => answer.body };
    },
    verifier: async (url, request) => {
      const answer = await send(url, "GET", { accept: request.accept });
      const type = answer.headers["content-type"];
      return {
        status: answer.statusCode,
        contentType: typeof type === "string" ? type : null,
        body: answer.body,
      };
    },
  };
}
