import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { LookupAddress } from "node:dns";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import net, { type AddressInfo, type LookupFunction } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { GuardedOutboundHttp } from "../../src/adapters/http/guarded-outbound-http.ts";
import {
  OutboundFailure,
  type OutboundFailureReason,
  type OutboundRequest,
} from "../../src/ports/outbound-http.ts";

// A throwaway self-signed certificate for 127.0.0.1 (P-256, valid until 2126), made for this test only.
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMsVYAj1STiXgovok
r6dz6PeQaQQ9dn+5YN5Q5AmAfVmhRANCAAT4Ggno2e2afdEb/4P2oNKUNxkv4Jf1
aPWZytUocx7JTx3HJ7kc4b0OUQTLJd/Sx9CGltIpKY088wKwqOsPP7pe
-----END PRIVATE KEY-----`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIUCYguU4MBl+UWaZup0WhjzVw4i48wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyOTA0MTQwN1oYDzIxMjYxMTA1
MDQxNDA3WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAT4Ggno2e2afdEb/4P2oNKUNxkv4Jf1aPWZytUocx7JTx3HJ7kc4b0O
UQTLJd/Sx9CGltIpKY088wKwqOsPP7peo2QwYjAdBgNVHQ4EFgQUyWBKljmAeckm
ZZcS6tK0V0X2kGEwHwYDVR0jBBgwFoAUyWBKljmAeckmZZcS6tK0V0X2kGEwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
IQDoKiQCannf8EiF19n/qoP6N5EsNw+JHhPs2XaV/CNqRQIgFAabY3s0B7zJhXxW
JZyI64Po+rV9j7ekzzeA3ik8g80=
-----END CERTIFICATE-----`;

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

interface TestServer {
  readonly port: number;
  readonly origin: string;
  /** TCP connections accepted so far. */
  connections: number;
  readonly received: Received[];
  close(): Promise<void>;
}

const running: TestServer[] = [];

/** Tracks connections and closes them all with the server. */
async function listen(server: net.Server, scheme = "http"): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const received: Received[] = [];
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const state: TestServer = {
    port,
    origin: `${scheme}://127.0.0.1:${port}`,
    connections: 0,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  server.on(scheme === "https" ? "secureConnection" : "connection", (socket: net.Socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  running.push(state);
  return state;
}

/** An HTTP server that reads each request whole, records it, then lets `handle` answer. */
async function httpServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = http.createServer();
  const state = await listen(server);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      state.received.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      handle(req, res);
    });
  });
  return state;
}

/** A TCP server that speaks whatever `onSocket` writes. */
async function rawServer(onSocket: (socket: net.Socket) => void): Promise<TestServer> {
  const server = net.createServer(onSocket);
  return listen(server);
}

/** Every interval a server starts is cleared when its connection closes. */
function every(ms: number, socket: net.Socket, tick: () => void): void {
  const timer = setInterval(tick, ms);
  socket.on("close", () => clearInterval(timer));
}

const request = (overrides: Partial<OutboundRequest> = {}): OutboundRequest => ({
  headers: { "content-type": "application/json", "webhook-id": "evt-1" },
  body: JSON.stringify({ hello: "wörld ✓" }),
  timeoutMs: 5000,
  ...overrides,
});

async function assertFailure(
  promise: Promise<unknown>,
  reason: OutboundFailureReason,
  message?: RegExp,
): Promise<OutboundFailure> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof OutboundFailure, `expected an OutboundFailure, got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  if (message) assert.match(caught.message, message);
  assert.ok(caught.message.length < 120, `a short message: ${caught.message}`);
  assert.doesNotMatch(caught.message, /\n|\bat .+:\d+/, "no stack in the message");
  return caught;
}

/** Resolves every name to `addresses` (honouring `all`), counting calls. */
function fakeLookup(addresses: LookupAddress[]): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const lookup = ((hostname, options, callback) => {
    calls.push(hostname);
    const first = addresses[0]!;
    if (options.all) callback(null, addresses);
    else callback(null, first.address, first.family);
  }) as LookupFunction & { calls: string[] };
  lookup.calls = calls;
  return lookup;
}

const escaped: unknown[] = [];
const recordEscaped = (error: unknown) => escaped.push(error);

before(() => {
  process.on("unhandledRejection", recordEscaped);
  process.on("uncaughtException", recordEscaped);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

after(async () => {
  // Late errors of destroyed requests would surface now.
  await sleep(100);
  process.off("unhandledRejection", recordEscaped);
  process.off("uncaughtException", recordEscaped);
  assert.deepEqual(escaped, [], "no unhandled rejection or 'error' event escaped");
});

describe("GuardedOutboundHttp, private addresses allowed (local test servers)", () => {
  const client = new GuardedOutboundHttp({ allowPrivateAddresses: true });
  after(() => client.close());

  it("POSTs the body and headers, and resolves with a 200", async () => {
    const server = await httpServer((_req, res) => res.writeHead(200).end("thanks"));
    const sent = request();
    const answer = await client.post(`${server.origin}/hooks/esc?v=1`, sent);

    assert.deepEqual(answer, { status: 200, location: null, retryAfterSeconds: null });
    assert.equal(server.received.length, 1);
    const [received] = server.received;
    assert.equal(received?.method, "POST");
    assert.equal(received?.url, "/hooks/esc?v=1");
    assert.equal(received?.body, sent.body);
    assert.equal(received?.headers["content-type"], "application/json");
    assert.equal(received?.headers["webhook-id"], "evt-1");
    assert.equal(received?.headers["content-length"], String(Buffer.byteLength(sent.body)));
    assert.equal(received?.headers["user-agent"], "OpenESC-Webhooks");
  });

  it("sends any method, with a body or none, and hands back the answer's body (an ESC Router's error)", async () => {
    const server = await httpServer((req, res) =>
      req.method === "PUT"
        ? res.writeHead(400, { "content-type": "application/json" }).end('{"code":"X","message":"no"}')
        : res.writeHead(204).end(),
    );
    const put = await client.request("PUT", `${server.origin}/api/v2/cards/1`, {
      headers: { authorization: "Bearer t", "content-type": "application/json" },
      body: '{"cardNumber":"1"}',
      timeoutMs: 2000,
    });
    assert.deepEqual(put, {
      status: 400,
      location: null,
      retryAfterSeconds: null,
      body: '{"code":"X","message":"no"}',
    });
    const deleted = await client.request("DELETE", `${server.origin}/api/v2/cards/1`, {
      headers: {},
      body: null,
      timeoutMs: 2000,
    });
    assert.equal(deleted.status, 204);
    assert.equal(deleted.body, "");
    const [first, second] = server.received;
    assert.equal(first?.method, "PUT");
    assert.equal(first?.body, '{"cardNumber":"1"}');
    assert.equal(first?.headers.authorization, "Bearer t");
    assert.equal(second?.method, "DELETE");
    assert.equal(second?.headers["content-length"], undefined, "no body, no length");
  });

  it("keeps no more of an answer's body than the cap", async () => {
    const small = new GuardedOutboundHttp({ allowPrivateAddresses: true, maxResponseBytes: 1024 });
    try {
      const server = await httpServer((_req, res) => res.writeHead(502).end("x".repeat(100_000)));
      const answer = await small.request("GET", server.origin, { headers: {}, body: null, timeoutMs: 2000 });
      assert.equal(answer.status, 502);
      assert.equal(answer.body.length, 1024);
    } finally {
      await small.close();
    }
  });

  it("keeps the caller's user-agent, and sets content-length itself", async () => {
    const server = await httpServer((_req, res) => res.writeHead(204).end());
    await client.post(
      server.origin,
      request({ body: "{}", headers: { "User-Agent": "Hub/2", "Content-Length": "99" } }),
    );
    assert.equal(server.received[0]?.headers["user-agent"], "Hub/2");
    assert.equal(server.received[0]?.headers["content-length"], "2");
    assert.equal(server.received[0]?.body, "{}");
  });

  it("resolves with a 500 as a status, not a failure", async () => {
    const server = await httpServer((_req, res) => res.writeHead(500).end("oops"));
    assert.deepEqual(await client.post(server.origin, request()), {
      status: 500,
      location: null,
      retryAfterSeconds: null,
    });
  });

  it("reads Retry-After when it is in seconds", async () => {
    const busy = await httpServer((_req, res) => res.writeHead(429, { "retry-after": "120" }).end());
    assert.equal((await client.post(busy.origin, request())).retryAfterSeconds, 120);
    const down = await httpServer((_req, res) =>
      res.writeHead(503, { "retry-after": "Wed, 21 Oct 2065 07:28:00 GMT" }).end(),
    );
    const answer = await client.post(down.origin, request());
    assert.equal(answer.status, 503);
    assert.equal(answer.retryAfterSeconds, null);
  });

  it("reports a redirect with its Location and does not follow it", async () => {
    const server = await httpServer((req, res) => {
      if (req.url === "/hook") res.writeHead(302, { location: "/moved?x=1" }).end();
      else res.writeHead(200).end();
    });
    const answer = await client.post(`${server.origin}/hook`, request());
    assert.deepEqual(answer, {
      status: 302,
      location: `${server.origin}/moved?x=1`,
      retryAfterSeconds: null,
    });
    await sleep(50);
    assert.deepEqual(
      server.received.map((received) => received.url),
      ["/hook"],
    );
  });

  it("cuts off a subscriber that accepts and never answers, at the time bound", async () => {
    const server = await httpServer(() => {});
    const started = performance.now();
    await assertFailure(client.post(server.origin, request({ timeoutMs: 300 })), "timeout", /300 ms/);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 2000, `cut off after ${elapsed} ms`);
  });

  it("cuts off a subscriber that sends its headers and trickles the body", async () => {
    const server = await httpServer((req, res) => {
      res.writeHead(200, { "content-length": "100000" });
      every(20, req.socket, () => res.write("x"));
    });
    const started = performance.now();
    await assertFailure(client.post(server.origin, request({ timeoutMs: 400 })), "timeout");
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 390 && elapsed < 2000, `cut off after ${elapsed} ms`);
  });

  it("cuts off a subscriber that trickles its headers", async () => {
    const server = await rawServer((socket) => {
      socket.on("error", () => {});
      socket.write("HTTP/1.1 200 OK\r\n");
      every(20, socket, () => socket.write("x-slow: 1\r\n"));
    });
    const started = performance.now();
    await assertFailure(client.post(server.origin, request({ timeoutMs: 400 })), "timeout");
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 390 && elapsed < 2000, `cut off after ${elapsed} ms`);
  });

  it("reads at most 64 KiB of a 10 MB body of garbage, and keeps the status", async () => {
    const garbage = randomBytes(10 * 1024 * 1024);
    const server = await httpServer((_req, res) => res.writeHead(200).end(garbage));
    const started = performance.now();
    const answer = await client.post(server.origin, request());
    assert.equal(answer.status, 200);
    assert.ok(performance.now() - started < 3000);
  });

  it("stops reading an endless body once past the cap, instead of waiting for its end", async () => {
    const server = await httpServer((req, res) => {
      res.writeHead(500, { "content-type": "application/octet-stream" });
      const chunk = randomBytes(16 * 1024);
      every(1, req.socket, () => res.write(chunk));
    });
    const started = performance.now();
    const answer = await client.post(server.origin, request({ timeoutMs: 5000 }));
    assert.equal(answer.status, 500);
    assert.ok(performance.now() - started < 2000, "did not wait for the time bound");
  });

  it("fails with 'connection' on an answer that is not HTTP (10 MB of garbage)", async () => {
    const garbage = randomBytes(10 * 1024 * 1024);
    garbage[0] = 0;
    const server = await rawServer((socket) => {
      socket.on("error", () => {});
      socket.end(garbage);
    });
    await assertFailure(client.post(server.origin, request()), "connection", /not valid HTTP/);
  });

  it("fails with 'response-too-large' on headers larger than 16 KiB", async () => {
    const server = await rawServer((socket) => {
      socket.on("error", () => {});
      socket.end(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(32 * 1024)}\r\ncontent-length: 0\r\n\r\n`);
    });
    await assertFailure(client.post(server.origin, request()), "response-too-large");
  });

  it("fails with 'connection' when nothing listens on the port", async () => {
    const server = await httpServer(() => {});
    const origin = server.origin;
    await server.close();
    await assertFailure(client.post(origin, request()), "connection", /refused/);
  });

  it("fails with 'connection' when the subscriber drops the connection", async () => {
    const server = await rawServer((socket) => socket.destroy());
    await assertFailure(client.post(server.origin, request()), "connection");
  });

  it("fails with 'connection' when the answer stops half-way", async () => {
    const server = await rawServer((socket) => {
      socket.on("error", () => {});
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nonly this");
    });
    await assertFailure(
      client.post(server.origin, request()),
      "connection",
      /before the answer was complete/,
    );
  });

  it("fails with 'tls' when the certificate is not trusted", async () => {
    const server = https.createServer({ key: TLS_KEY, cert: TLS_CERT }, (_req, res) => res.end());
    server.on("tlsClientError", () => {});
    const state = await listen(server, "https");
    await assertFailure(client.post(state.origin, request()), "tls", /TLS handshake failed/);
  });

  it("fails with 'invalid-url', sending nothing, for what is not an http(s) URL", async () => {
    await assertFailure(client.post("not a url", request()), "invalid-url");
    await assertFailure(client.post("ftp://127.0.0.1/", request()), "invalid-url");
    await assertFailure(client.post("file:///etc/passwd", request()), "invalid-url");
  });

  it("keeps the connection alive between posts to one subscriber", async () => {
    const server = await httpServer((_req, res) => res.writeHead(200).end());
    for (let i = 0; i < 3; i++) assert.equal((await client.post(server.origin, request())).status, 200);
    assert.equal(server.received.length, 3);
    assert.equal(server.connections, 1);
  });

  it("resolves host names through its lookup when connecting", async () => {
    const lookup = fakeLookup([{ address: "127.0.0.1", family: 4 }]);
    const named = new GuardedOutboundHttp({ allowPrivateAddresses: true, lookup });
    try {
      const server = await httpServer((_req, res) => res.writeHead(200).end());
      const answer = await named.post(`http://hooks.example.test:${server.port}/x`, request());
      assert.equal(answer.status, 200);
      assert.deepEqual(lookup.calls, ["hooks.example.test"]);
      assert.equal(server.received[0]?.headers.host, `hooks.example.test:${server.port}`);
    } finally {
      await named.close();
    }
  });

  it("still refuses cloud metadata addresses, written or resolved", async () => {
    await assertFailure(
      client.post("http://169.254.169.254/latest/meta-data/", request()),
      "address-refused",
    );
    const lookup = fakeLookup([{ address: "169.254.169.254", family: 4 }]);
    const named = new GuardedOutboundHttp({ allowPrivateAddresses: true, lookup });
    try {
      await assertFailure(
        named.post("http://metadata.google.internal/computeMetadata/v1/", request()),
        "address-refused",
        /cloud metadata address/,
      );
    } finally {
      await named.close();
    }
  });

  it("works again after close, on fresh connections", async () => {
    const other = new GuardedOutboundHttp({ allowPrivateAddresses: true });
    const server = await httpServer((_req, res) => res.writeHead(200).end());
    assert.equal((await other.post(server.origin, request())).status, 200);
    await other.close();
    await other.close();
    assert.equal((await other.post(server.origin, request())).status, 200);
    assert.equal(server.connections, 2);
    await other.close();
  });
});

describe("GuardedOutboundHttp, private addresses refused (the default)", () => {
  const client = new GuardedOutboundHttp();
  after(() => client.close());

  /** Posts to `url` and checks the refusal reached no server: not one connection. */
  async function assertRefusedUnseen(
    http: GuardedOutboundHttp,
    url: (server: TestServer) => string,
    message: RegExp,
  ): Promise<void> {
    const server = await httpServer((_req, res) => res.writeHead(200).end());
    const failure = await assertFailure(http.post(url(server), request()), "address-refused", message);
    assert.doesNotMatch(failure.message, /127\.0\.0\.1|::1/, "the resolved address is not disclosed");
    await sleep(50);
    assert.equal(server.connections, 0, "no byte reached the server");
  }

  it("refuses a private address for any method, as for a POST", async () => {
    const server = await httpServer((_req, res) => res.writeHead(200).end());
    await assertFailure(
      client.request("PUT", `${server.origin}/api/v2/persons/x`, {
        headers: {},
        body: "{}",
        timeoutMs: 2000,
      }),
      "address-refused",
      /loopback address/,
    );
    assert.equal(server.connections, 0);
  });

  it("refuses 127.0.0.1 without connecting", async () => {
    await assertRefusedUnseen(client, (server) => `${server.origin}/hook`, /loopback address/);
  });

  it("refuses localhost without connecting (checked on the resolved address)", async () => {
    await assertRefusedUnseen(
      client,
      (server) => `http://localhost:${server.port}/hook`,
      /host name resolves to a loopback address/,
    );
  });

  it("refuses other spellings of loopback", async () => {
    for (const host of ["2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "[::1]"]) {
      await assertRefusedUnseen(client, (server) => `http://${host}:${server.port}/`, /loopback/);
    }
  });

  it("refuses a name that resolves to loopback at connect time (DNS rebinding)", async () => {
    const lookup = fakeLookup([{ address: "127.0.0.1", family: 4 }]);
    const named = new GuardedOutboundHttp({ lookup });
    try {
      await assertRefusedUnseen(
        named,
        (server) => `http://rebind.example.test:${server.port}/`,
        /host name resolves to a loopback address/,
      );
      assert.ok(lookup.calls.length >= 1, "the name was resolved when connecting");
    } finally {
      await named.close();
    }
  });

  it("refuses a name when any of its addresses is refused", async () => {
    const lookup = fakeLookup([
      { address: "192.0.2.1", family: 4 },
      { address: "127.0.0.1", family: 4 },
    ]);
    const named = new GuardedOutboundHttp({ lookup });
    try {
      await assertRefusedUnseen(named, (server) => `http://mixed.example.test:${server.port}/`, /address/);
    } finally {
      await named.close();
    }
  });

  it("refuses names resolving to private, link-local and unique-local addresses", async () => {
    for (const [address, family, kind] of [
      ["10.0.0.8", 4, /private address/],
      ["169.254.10.10", 4, /link-local address/],
      ["fd00::8", 6, /unique-local address/],
      ["::ffff:192.168.1.1", 6, /private address/],
    ] as const) {
      const named = new GuardedOutboundHttp({ lookup: fakeLookup([{ address, family }]) });
      try {
        await assertFailure(named.post("http://inside.example.test/", request()), "address-refused", kind);
      } finally {
        await named.close();
      }
    }
  });
});
