/**
 * The webhook subscriber of the events benchmark, in a process of its own as a real subscriber would be:
 * a bare node:http server on loopback that answers every POST with 204 at once, checks its Standard
 * Webhooks signature with the secret of its path (when the benchmark has told it), and reports each
 * arrival to the benchmark over IPC with the time the body was complete.
 *
 * Times are `performance.timeOrigin + performance.now()` (milliseconds since the epoch, sub-millisecond),
 * so that the benchmark process can compare them with its own.
 *
 * `node --import tsx bench/events-receiver.ts`, spawned with an IPC channel; see {@link ReceiverMessage}.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** What the receiver tells the benchmark. */
export type ReceiverMessage =
  | { readonly kind: "ready"; readonly port: number }
  | {
      readonly kind: "arrival";
      readonly path: string;
      /** The CloudEvent's subject (the ESCN), and its data's version when the projection has one. */
      readonly subject: string | null;
      readonly version: number | null;
      /** Milliseconds since the epoch when the body was complete. */
      readonly at: number;
      /** The signature matched the path's secret; null when no secret is known for the path. */
      readonly signed: boolean | null;
    };

/** What the benchmark tells the receiver: the signing secret of each path (more may follow). */
export interface SecretsMessage {
  readonly kind: "secrets";
  readonly secrets: Readonly<Record<string, string>>;
}

const now = () => performance.timeOrigin + performance.now();

function verified(secret: string, headers: IncomingHttpHeaders, body: Buffer): boolean {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") return false;
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
  return signatures.split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    const given = Buffer.from(signature ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function main(): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error("events-receiver must be spawned with an IPC channel");
  const secrets = new Map<string, string>();
  process.on("message", (message: SecretsMessage) => {
    if (message.kind === "secrets")
      for (const [path, secret] of Object.entries(message.secrets)) secrets.set(path, secret);
  });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const at = now();
      response.writeHead(204).end();
      const body = Buffer.concat(chunks);
      const path = request.url ?? "/";
      let subject: string | null = null;
      let version: number | null = null;
      try {
        const event = JSON.parse(body.toString("utf8")) as {
          subject?: unknown;
          data?: { version?: unknown };
        };
        if (typeof event.subject === "string") subject = event.subject;
        if (typeof event.data?.version === "number") version = event.data.version;
      } catch {
        // not JSON: reported with no subject
      }
      const secret = secrets.get(path);
      const signed = secret === undefined ? null : verified(secret, request.headers, body);
      send({ kind: "arrival", path, subject, version, at, signed } satisfies ReceiverMessage);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    send({ kind: "ready", port: (server.address() as AddressInfo).port } satisfies ReceiverMessage);
  });
  const stop = () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("disconnect", stop);
}

main();
