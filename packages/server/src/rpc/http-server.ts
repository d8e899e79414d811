// The one listener of a node: HTTP/2 cleartext (h2c, prior knowledge) for the Connect services and peers,
// and HTTP/1.1 on the same port (sniffed from the first bytes) so that curl and Prometheus read /health
// and /metrics, and Connect unary calls work over HTTP/1.1 too. Streaming RPCs need HTTP/2.

import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";

const h2Preface = Buffer.from("PRI * HTTP/2.0");
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter } from "@connectrpc/connect";

export interface HttpEndpoints {
  routes: (router: ConnectRouter) => void;
  /** Body of GET /health: [status code, JSON object]. */
  health: () => [number, unknown];
  /** Body of GET /metrics (Prometheus text). */
  metrics: () => string;
}

export interface BoundServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function listenHttp2(host: string, port: number, endpoints: HttpEndpoints): Promise<BoundServer> {
  const handler = connectNodeAdapter({
    routes: endpoints.routes,
    // Connect's own limit on one request message; values are bounded far below by limits.ts.
    readMaxBytes: 64 * 1024 * 1024,
    fallback: (req, res) => {
      const path = (req.url ?? "").split("?")[0];
      if (req.method === "GET" && path === "/health") {
        const [status, body] = endpoints.health();
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      } else if (req.method === "GET" && path === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(endpoints.metrics());
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found\n");
      }
    },
  });
  const h1 = http.createServer(handler);
  const h2 = http2.createServer({ maxSessionMemory: 256, settings: { maxConcurrentStreams: 65_536 } }, handler);
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      socket.pause();
      const n = Math.min(first.length, h2Preface.length);
      if (first.subarray(0, n).equals(h2Preface.subarray(0, n))) {
        socket.unshift(first);
        h2.emit("connection", socket);
      } else {
        // The HTTP/1.1 parser reads from the socket's events: replay the sniffed bytes as one.
        h1.emit("connection", socket);
        socket.emit("data", first);
        socket.resume();
      }
    });
    socket.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    host,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Streams (watches, sessions, peer exchanges) never end by themselves: cut the connections.
        for (const s of sockets) s.destroy();
      }),
  };
}

