// Below the RPC layer, on the port that carries peer traffic: random bytes, HTTP/2 prefaces followed by
// random or truncated frames, gRPC messages cut short, HTTP/1.1 garbage, and slow-loris connections that
// dribble a byte at a time and never finish. Each attack is one socket, with a deadline.
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Prng } from "../util/prng.ts";

export const WIRE_ATTACKS = ["random-bytes", "h2-random-frames", "h2-truncated-frame", "grpc-truncated-message", "http1-garbage"] as const;
export type WireAttack = (typeof WIRE_ATTACKS)[number];

const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function randomBytes(prng: Prng, max: number): Buffer {
  const n = prng.between(1, max);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = prng.between(0, 255);
  return b;
}

function frame(type: number, flags: number, stream: number, payload: Buffer, declaredLength = payload.length): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(declaredLength, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** Writes `bytes` on a fresh connection, then waits until the server closes it or `waitMs` passes. */
function rawSend(port: number, chunks: Buffer[], waitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    s.on("error", done);
    s.on("close", done);
    s.on("data", () => undefined);
    s.on("connect", () => {
      for (const c of chunks) s.write(c);
    });
  });
}

export async function wireAttack(kind: WireAttack, port: number, prng: Prng): Promise<void> {
  switch (kind) {
    case "random-bytes":
      return rawSend(port, [randomBytes(prng, 4096)], 200);
    case "h2-random-frames": {
      const frames = Array.from({ length: prng.between(1, 6) }, () => frame(prng.between(0, 12), prng.between(0, 255), prng.between(0, 7), randomBytes(prng, 64)));
      return rawSend(port, [h2Preface, frame(4, 0, 0, Buffer.alloc(0)), ...frames], 200);
    }
    case "h2-truncated-frame": {
      // A HEADERS frame that declares more bytes than it carries, then silence.
      const payload = randomBytes(prng, 32);
      return rawSend(port, [h2Preface, frame(4, 0, 0, Buffer.alloc(0)), frame(1, 4, 1, payload, payload.length + prng.between(1, 1000))], 200);
    }
    case "grpc-truncated-message":
      return truncatedGrpc(port, prng);
    case "http1-garbage": {
      const variants = [
        `POST /omnimeta.v1.PeerService/Join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`,
        `GET /${"a".repeat(prng.between(1, 20_000))} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `GARBAGE\r\n${randomBytes(prng, 200).toString("latin1")}\r\n\r\n`,
        `POST /omnimeta.v1.MetadataService/Put HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\nffff\r\n${randomBytes(prng, 100).toString("latin1")}`,
      ];
      return rawSend(port, [Buffer.from(variants[prng.between(0, variants.length - 1)]!, "latin1")], 200);
    }
  }
}

/** A gRPC call whose length prefix promises more than the body delivers before the stream ends. */
function truncatedGrpc(port: number, prng: Prng): Promise<void> {
  const paths = ["/omnimeta.v1.PeerService/Exchange", "/omnimeta.v1.MetadataService/Put", "/omnimeta.v1.MetadataService/Session", "/omnimeta.v1.ClusterService/Status"];
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const done = (): void => {
      clearTimeout(timer);
      session.destroy();
      resolve();
    };
    const timer = setTimeout(done, 1000);
    session.on("error", done);
    const req = session.request({ ":method": "POST", ":path": paths[prng.between(0, paths.length - 1)]!, "content-type": "application/grpc", te: "trailers" });
    req.on("error", done);
    req.on("response", () => undefined);
    req.on("data", () => undefined);
    req.on("close", done);
    const body = randomBytes(prng, 64);
    const prefix = Buffer.alloc(5);
    prefix[0] = prng.between(0, 1);
    prefix.writeUInt32BE(body.length + prng.between(1, 1 << 20), 1);
    req.end(Buffer.concat([prefix, body]));
  });
}

/** Slow-loris: `count` connections that send a valid-looking start one byte every `intervalMs`, until stop(). */
export function slowLoris(port: number, count: number, intervalMs: number): { stop(): void; bytesSent(): number } {
  const sockets: net.Socket[] = [];
  let sent = 0;
  const starts = [h2Preface, Buffer.from("POST /omnimeta.v1.MetadataService/Put HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nX-Slow: ")];
  for (let i = 0; i < count; i++) {
    const s = net.connect({ host: "127.0.0.1", port });
    s.on("error", () => undefined);
    s.on("data", () => undefined);
    const start = starts[i % starts.length]!;
    let pos = 0;
    const timer = setInterval(() => {
      if (s.destroyed) return clearInterval(timer);
      // Past the prefix, keep dribbling filler bytes forever.
      const byte = pos < start.length ? start.subarray(pos, pos + 1) : Buffer.from("a");
      pos++;
      s.write(byte);
      sent++;
    }, intervalMs);
    s.on("close", () => clearInterval(timer));
    sockets.push(s);
  }
  return {
    stop: () => sockets.forEach((s) => s.destroy()),
    bytesSent: () => sent,
  };
}
