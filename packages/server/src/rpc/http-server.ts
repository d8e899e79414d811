// The one listener of a node: HTTP/2 cleartext (h2c) serving the Connect services plus /health and /metrics.
// Clients, ctl, grpcurl and peers all reach the node here.

import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
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
  const server = http2.createServer({ maxSessionMemory: 64 }, handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
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
        // Streams (watches, sessions, peer exchanges) never end by themselves: cut the sessions.
        for (const s of sessions) s.destroy();
      }),
  };
}
