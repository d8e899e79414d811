// The gRPC unary fast path for the hot MetadataService calls (Get, GetVersion, Put, Delete). Connect's
// generic handler costs ~150 µs of CPU per call (an AbortController and its signals, header objects
// converted twice, an async-iterator pipeline per message); a put or a get needs none of it. This
// module answers exactly those four methods, over plain gRPC (application/grpc[+proto], identity
// encoding) on HTTP/2, straight from the http2 stream: one buffer in, one frame and a trailer out.
// Everything else (Connect and gRPC-web protocols, JSON, compression, every other method) is left to
// Connect, and so are requests this module is unsure of: the wire behaviour is the same either way.

import type * as http2 from "node:http2";
import { fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import {
  DeleteRequestSchema,
  DeleteResponseSchema,
  GetRequestSchema,
  GetResponseSchema,
  GetVersionRequestSchema,
  GetVersionResponseSchema,
  PutRequestSchema,
  PutResponseSchema,
} from "@omnimeta/proto";
import type { Op } from "../node/request-router.ts";
import type { SessionResult } from "../node/leader-forwarder.ts";
import { OpError } from "./op-error.ts";

/** What the fast path needs from the node. */
export interface FastUnaryDeps {
  /** Serves one request (RequestRouter.execute). */
  execute(op: Op, forwarded: boolean): Promise<SessionResult>;
  /** Header that marks a request forwarded by another node. */
  forwardedHeader: string;
  /** Largest request message accepted (bytes); larger ones get RESOURCE_EXHAUSTED. */
  readMaxBytes: number;
  /** Checked before a request is served (authentication): an error refuses it. */
  authorize?: (headers: http2.IncomingHttpHeaders, method: string) => OpError | undefined;
}

interface Method {
  name: string;
  input: DescMessage;
  output: DescMessage;
  op: (req: never) => Op;
}

const methods = new Map<string, Method>([
  ["/omnimeta.v1.MetadataService/Get", { name: "get", input: GetRequestSchema, output: GetResponseSchema, op: (value) => ({ case: "get", value }) }],
  ["/omnimeta.v1.MetadataService/GetVersion", { name: "getVersion", input: GetVersionRequestSchema, output: GetVersionResponseSchema, op: (value) => ({ case: "getVersion", value }) }],
  ["/omnimeta.v1.MetadataService/Put", { name: "put", input: PutRequestSchema, output: PutResponseSchema, op: (value) => ({ case: "put", value }) }],
  ["/omnimeta.v1.MetadataService/Delete", { name: "delete", input: DeleteRequestSchema, output: DeleteResponseSchema, op: (value) => ({ case: "delete", value }) }],
]);

const responseHeaders = { ":status": 200, "content-type": "application/grpc+proto" } as const;

/**
 * Serves `stream` if it is a plain gRPC unary call of one of the four methods; returns false (and
 * touches nothing) otherwise, so the caller hands the stream to Connect.
 */
export function tryFastUnary(deps: FastUnaryDeps, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
  const method = methods.get(headers[":path"] ?? "");
  if (method === undefined || headers[":method"] !== "POST") return false;
  const contentType = headers["content-type"];
  if (contentType !== "application/grpc" && contentType !== "application/grpc+proto") return false;
  const encoding = headers["grpc-encoding"];
  if (encoding !== undefined && encoding !== "identity") return false;

  const refused = deps.authorize?.(headers, method.name);
  if (refused) {
    answerError(stream, refused.toConnectError());
    stream.resume();
    return true;
  }
  const timeoutMs = parseGrpcTimeout(headers["grpc-timeout"]);
  if (timeoutMs === null) {
    answerError(stream, new ConnectError(`protocol error: invalid grpc-timeout ${String(headers["grpc-timeout"])}`, Code.InvalidArgument));
    stream.resume();
    return true;
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  let refusedSize = false;
  stream.on("data", (chunk: Buffer) => {
    if (refusedSize) return;
    bytes += chunk.length;
    if (bytes > deps.readMaxBytes + 5) {
      refusedSize = true;
      answerError(stream, new ConnectError(`message larger than ${deps.readMaxBytes} bytes`, Code.ResourceExhausted));
      return;
    }
    chunks.push(chunk);
  });
  stream.on("error", () => undefined); // a reset by the client: nothing to answer
  stream.on("end", () => {
    if (refusedSize || stream.destroyed) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
    let req: unknown;
    try {
      req = decodeFrame(body, method.input);
    } catch (e) {
      answerError(stream, e instanceof ConnectError ? e : new ConnectError(`cannot decode request: ${(e as Error).message}`, Code.InvalidArgument));
      return;
    }
    const forwarded = headers[deps.forwardedHeader] === "1";
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => answerError(stream, new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    }
    deps.execute(method.op(req as never), forwarded).then(
      (result) => {
        clearTimeout(timer);
        if (result.case !== method.name) {
          answerError(stream, new ConnectError(`internal: answer ${String(result.case)} to a ${method.name}`, Code.Internal));
          return;
        }
        answerOk(stream, toBinary(method.output, result.value as never));
      },
      (e: unknown) => {
        clearTimeout(timer);
        answerError(stream, OpError.from(e).toConnectError());
      },
    );
  });
  return true;
}

/** One length-prefixed gRPC message (flag byte, 4-byte big-endian length, payload), uncompressed. */
function decodeFrame(body: Buffer, schema: DescMessage): unknown {
  if (body.length < 5) throw new ConnectError("protocol error: missing message frame", Code.InvalidArgument);
  if (body[0] !== 0) throw new ConnectError("protocol error: compressed message without grpc-encoding", Code.InvalidArgument);
  const length = body.readUInt32BE(1);
  if (length !== body.length - 5) {
    throw new ConnectError(`protocol error: unary request carries ${body.length - 5} bytes for a frame of ${length}`, Code.InvalidArgument);
  }
  return fromBinary(schema, body.subarray(5));
}

function answerOk(stream: http2.ServerHttp2Stream, payload: Uint8Array): void {
  if (stream.destroyed || stream.headersSent) return;
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame[0] = 0;
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, 5);
  stream.respond(responseHeaders, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(frame);
}

/** A trailers-only response: the status (and its details) in the one HEADERS frame. */
function answerError(stream: http2.ServerHttp2Stream, error: ConnectError): void {
  if (stream.destroyed || stream.headersSent) return;
  const trailer = setTrailerStatus(new Headers(), error);
  const out: http2.OutgoingHttpHeaders = { ...responseHeaders };
  trailer.forEach((value, key) => (out[key] = value));
  stream.respond(out, { endStream: true });
}

/** grpc-timeout ("100m", "5S", ...) in ms; undefined when absent, null when malformed. */
function parseGrpcTimeout(value: string | string[] | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== "string") return null;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }[m[2] as "H"];
  return Math.max(1, Math.ceil(n * unitMs));
}
