// The one listener of a node: HTTP/2 cleartext (h2c, prior knowledge) for the Connect services and peers,
// and HTTP/1.1 on the same port (sniffed from the first bytes) so that curl and Prometheus read /health
// and /metrics, and Connect unary calls work over HTTP/1.1 too. Streaming RPCs need HTTP/2.

import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";

const h2Preface = Buffer.from("PRI * HTTP/2.0");
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { TlsCredentials } from "../tls/tls-credentials.ts";
import { tlsContextValues } from "../tls/peer-auth.ts";
import { tryFastUnary, type FastUnaryDeps } from "./grpc-unary-fast-path.ts";
import { peerWindowBytes, widenConnectionWindow } from "./http2-window.ts";

export interface HttpEndpoints {
  routes: (router: ConnectRouter) => void;
  /** Body of GET /health: [status code, JSON object]. */
  health: () => [number, unknown];
  /** Body of GET /ready (for load balancers): [status code, JSON object]. */
  ready: () => [number, unknown];
  /** Body of GET /metrics (Prometheus text) and its content type. */
  metrics: () => Promise<string>;
  metricsContentType: string;
  /** Run before every Connect handler (authentication: auth/auth-interceptor.ts); the fast path has its own hook. */
  interceptors?: Interceptor[];
  /** The gRPC unary fast path for the hot MetadataService calls (grpc-unary-fast-path.ts). */
  fastUnary?: FastUnaryDeps;
  /** Serve TLS (HTTP/2 with ALPN, HTTP/1.1 for /health and /metrics) instead of cleartext; reloads swap the context. */
  tls?: TlsCredentials;
}

export interface BoundServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function listenHttp2(host: string, port: number, endpoints: HttpEndpoints): Promise<BoundServer> {
  const handler = connectNodeAdapter({
    routes: endpoints.routes,
    interceptors: endpoints.interceptors ?? [],
    // Connect's own limit on one request message; values are bounded far below by limits.ts.
    readMaxBytes: 64 * 1024 * 1024,
    // On TLS, every request learns whether its caller showed a certificate from the CA (peer-auth.ts).
    contextValues: endpoints.tls ? (req) => tlsContextValues(req.socket) : undefined,
    fallback: (req, res) => {
      const path = (req.url ?? "").split("?")[0];
      if (req.method === "GET" && (path === "/health" || path === "/ready")) {
        const [status, body] = path === "/health" ? endpoints.health() : endpoints.ready();
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      } else if (req.method === "GET" && path === "/metrics") {
        endpoints.metrics().then(
          (text) => {
            res.writeHead(200, { "content-type": endpoints.metricsContentType });
            res.end(text);
          },
          (e: unknown) => {
            res.writeHead(500, { "content-type": "text/plain" });
            res.end(`metrics: ${(e as Error).message}\n`);
          },
        );
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found\n");
      }
    },
  });
  const h1 = http.createServer(handler);
  // Wide receive windows (peer-clients.ts peerWindowBytes says why): a peer's accept batches and a client's
  // pipelined writes arrive without a WINDOW_UPDATE round trip every 64 KiB.
  const h2Options = { maxSessionMemory: 256, settings: { maxConcurrentStreams: 65_536, initialWindowSize: peerWindowBytes } };
  const tls = endpoints.tls;
  const h2 = tls ? http2.createSecureServer({ ...h2Options, ...tls.serverOptions(), allowHTTP1: true }, handler) : http2.createServer(h2Options, handler);
  h2.on("session", (session: http2.ServerHttp2Session) => widenConnectionWindow(session));
  const fast = endpoints.fastUnary;
  if (fast) {
    // The compat layer turns every 'stream' into a 'request' for Connect; a stream the fast path serves must
    // not reach it. EventEmitter cannot stop an event half-way, so the emit of 'stream' itself is filtered.
    const emit = h2.emit.bind(h2) as (event: string | symbol, ...args: unknown[]) => boolean;
    h2.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event === "stream" && tryFastUnary(fast, args[0] as http2.ServerHttp2Stream, args[1] as http2.IncomingHttpHeaders)) return true;
      return emit(event, ...args);
    }) as typeof h2.emit;
  }
  const sockets = new Set<net.Socket>();
  if (tls) return listenTls(h2 as http2.Http2SecureServer, tls, host, port, sockets);
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    // Answers are small and must leave at once: Nagle's algorithm with delayed ACKs costs up to 40 ms.
    socket.setNoDelay(true);
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


/** TLS: the secure server listens itself (ALPN picks h2 or HTTP/1.1); a reload swaps its secure context. */
async function listenTls(server: http2.Http2SecureServer, tls: TlsCredentials, host: string, port: number, sockets: Set<net.Socket>): Promise<BoundServer> {
  server.on("connection", (socket: net.Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // A failed handshake (untrusted client certificate, plain HTTP on the TLS port) only ends that socket.
  server.on("tlsClientError", (_e, socket) => socket.destroy());
  const off = tls.onReload(() => server.setSecureContext(tls.serverOptions()));
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
        off();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
