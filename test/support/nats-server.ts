import { randomBytes } from "node:crypto";
import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/** The NATS server the tests use: `NATS_TEST_URL`, or the CI machine's loopback server (with JetStream). */
export const NATS_TEST_URL = process.env["NATS_TEST_URL"] ?? "nats://127.0.0.1:4222";

/**
 * Whether the NATS tests run: they do when the server answers with JetStream enabled. Under `CI=true` an
 * unreachable server is a failure (the answer carries the reason for the test to throw); elsewhere the
 * tests skip with it.
 */
export async function natsAvailability(): Promise<{ skip: false } | { skip: string; fail: boolean }> {
  try {
    await withAdmin(async () => undefined);
    return { skip: false };
  } catch (error) {
    const reason = `NATS with JetStream unreachable at ${NATS_TEST_URL}: ${(error as Error).message}`;
    return { skip: reason, fail: process.env["CI"] === "true" };
  }
}

/** A stream name and subject prefix no other test run uses. */
export function throwawayStream(): { stream: string; subjectPrefix: string } {
  const suffix = randomBytes(6).toString("hex");
  return { stream: `OPENESC_TEST_${suffix}`, subjectPrefix: `openesc_test_${suffix}.events` };
}

/** Deletes a test stream (and its consumers); a stream that is already gone is fine. */
export async function deleteStream(stream: string): Promise<void> {
  await withAdmin(async (jsm) => {
    await jsm.streams.delete(stream).catch((error: Error) => {
      if (!/not found/i.test(error.message)) throw error;
    });
  });
}

type Manager = Awaited<ReturnType<typeof jetstreamManager>>;

/** Runs `work` with a JetStream manager on a short-lived connection, every step bounded in time. */
export async function withAdmin<T>(work: (jsm: Manager) => Promise<T>, timeoutMs = 3000): Promise<T> {
  const nc = await connect({ servers: NATS_TEST_URL, timeout: timeoutMs, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`NATS admin step took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([work(jsm), deadline]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await nc.close();
  }
}

/**
 * A TCP relay in front of the test server, so that a test can cut a client off as a network failure or a
 * killed process would: `cut()` destroys both sides of every connection and stops accepting new ones.
 */
export interface TcpRelay {
  readonly url: string;
  cut(): Promise<void>;
}

export async function startTcpRelay(target = NATS_TEST_URL): Promise<TcpRelay> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connectTcp(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const url = `nats://127.0.0.1:${await listen(server)}`;
  return {
    url,
    async cut() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** A server that accepts connections and never says a word, like a black-holed host: `close()` ends it. */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => sockets.delete(socket));
  });
  const url = `nats://127.0.0.1:${await listen(server)}`;
  return {
    url,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** A loopback URL where nothing listens (a port just released). */
export async function unusedUrl(): Promise<string> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `nats://127.0.0.1:${port}`;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("no TCP port"));
      else resolve(address.port);
    });
  });
}
