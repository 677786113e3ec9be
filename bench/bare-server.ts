/**
 * The ceiling of the HTTP benchmarks: a bare node:http server, in its own process, that answers every
 * request with one fixed body and the headers the hub sends with it. It does nothing a real answer needs
 * (routing, lookup, serialisation), so it is what the machine, Node and the load generator allow.
 *
 * `node --import tsx bench/bare-server.ts <port>` with the body in BARE_BODY and its type in BARE_TYPE.
 */
import { createServer } from "node:http";

const port = Number(process.argv[2]);
const body = Buffer.from(process.env["BARE_BODY"] ?? "{}", "utf8");
const headers = {
  "content-type": process.env["BARE_TYPE"] ?? "application/json; charset=utf-8",
  "content-length": String(body.length),
  "cache-control": "no-cache",
};

const server = createServer((_request, response) => {
  response.writeHead(200, headers);
  response.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1");
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
