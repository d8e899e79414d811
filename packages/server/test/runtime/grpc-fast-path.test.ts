// The gRPC unary fast path (rpc/grpc-unary-fast-path.ts) must be indistinguishable on the wire from
// Connect's own gRPC handler: same answers, same codes, same error details; what it does not take
// (Connect protocol, gRPC-web, compression) still reaches Connect; malformed frames get a clean code.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { LeaderHintSchema, MetadataService, PreconditionFailureSchema, PutRequestSchema } from "@omnimeta/proto";
import { TestCluster, text, utf8 } from "./harness.ts";

function grpc(address: string, headers?: Record<string, string>) {
  return createClient(MetadataService, createGrpcTransport({ baseUrl: address, interceptors: headers ? [(next) => (req) => { for (const [k, v] of Object.entries(headers)) req.header.set(k, v); return next(req); }] : [] }));
}

async function codeOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail("expected an error");
}

/** One raw gRPC call: returns the status and message from the (trailers-only or trailing) headers. */
function rawCall(address: string, path: string, body: Buffer, extra: http2.OutgoingHttpHeaders = {}): Promise<{ status: string; message: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(address);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extra });
    let status: string | undefined;
    let message = "";
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h["grpc-status"] !== undefined) {
        status = String(h["grpc-status"]);
        message = decodeURIComponent(String(h["grpc-message"] ?? ""));
      }
    };
    req.on("response", take);
    req.on("trailers", take);
    req.on("data", () => undefined);
    req.on("end", () => {
      session.close();
      if (status === undefined) reject(new Error("no grpc-status"));
      else resolve({ status, message });
    });
    req.on("error", reject);
    req.end(body);
  });
}

function frame(payload: Uint8Array, flag = 0, lengthDelta = 0): Buffer {
  const b = Buffer.alloc(5 + payload.length);
  b[0] = flag;
  b.writeUInt32BE(payload.length + lengthDelta, 1);
  b.set(payload, 5);
  return b;
}

test("gRPC unary Put, Get, GetVersion and Delete answer as Connect does, with the same codes and details", async () => {
  const cluster = await new TestCluster(3, false, { electionTicks: 20 }).start(); // 1 s rounds: leadership is not what this tests, and three nodes share one loaded event loop
  try {
    const leader = await cluster.settled();
    const kv = grpc(leader.node.address);
    const put = await kv.put({ key: "fast/a", value: utf8("one") });
    assert.equal(put.version, 1n);
    const got = await kv.get({ key: "fast/a" });
    assert.equal(text(got.kv?.value), "one");
    assert.equal(got.kv?.modRevision, put.revision);
    assert.equal((await kv.getVersion({ key: "fast/a" })).version, 1n);
    // The same read over the Connect protocol (not the fast path) sees the same record.
    const viaConnect = await leader.clients.metadata.get({ key: "fast/a" });
    assert.deepEqual(viaConnect.kv, got.kv);

    const conflict = await codeOf(kv.put({ key: "fast/a", value: utf8("two"), precondition: { condition: { case: "matchesVersion", value: 7n } } }));
    assert.equal(conflict.code, Code.FailedPrecondition);
    const [failure] = conflict.findDetails(PreconditionFailureSchema);
    assert.equal(failure?.currentVersion, 1n);
    assert.equal(failure?.key, "fast/a");

    assert.equal((await codeOf(kv.get({ key: "fast/missing" }))).code, Code.NotFound);
    assert.equal((await codeOf(kv.get({ key: "" }))).code, Code.InvalidArgument);
    const del = await kv.delete({ key: "fast/a" });
    assert.equal(del.previousVersion, 1n);
    assert.equal((await codeOf(kv.delete({ key: "fast/a" }))).code, Code.NotFound);

    // A follower forwards; a request already forwarded once is refused with the leader hint instead.
    const follower = cluster.followers()[0]!;
    assert.equal((await grpc(follower.node.address).put({ key: "fast/b", value: utf8("x") })).version, 1n);
    const refused = await codeOf(grpc(follower.node.address, { "omnimeta-forwarded": "1" }).put({ key: "fast/c", value: utf8("x") }));
    assert.equal(refused.code, Code.Unavailable);
    // The hint names the leader this follower knows (in a quiet CI run the leader once changed after settling).
    assert.equal(Number(refused.findDetails(LeaderHintSchema)[0]?.leaderId), follower.node.status().leaderId);

    // gRPC-web is not the fast path's: Connect still serves it.
    const web = createClient(MetadataService, createGrpcWebTransport({ baseUrl: leader.node.address, httpVersion: "2" }));
    assert.equal(text((await web.get({ key: "fast/b" })).kv?.value), "x");
  } finally {
    await cluster.close();
  }
});

test("malformed gRPC frames and headers get INVALID_ARGUMENT, and the node keeps serving", async () => {
  const cluster = await new TestCluster(1).start();
  try {
    const address = cluster.nodes[0]!.node.address;
    const put = toBinary(PutRequestSchema, create(PutRequestSchema, { key: "raw/k", value: utf8("v") }));
    const path = "/omnimeta.v1.MetadataService/Put";
    assert.equal((await rawCall(address, path, frame(put))).status, "0");
    const cases: Array<[string, Buffer, http2.OutgoingHttpHeaders?]> = [
      ["empty body", Buffer.alloc(0)],
      ["truncated frame", frame(put, 0, 10)],
      ["compressed flag without grpc-encoding", frame(put, 1)],
      ["not protobuf", frame(Buffer.from([0xff, 0xff, 0xff, 0xff]))],
      ["bad grpc-timeout", frame(put), { "grpc-timeout": "soon" }],
    ];
    for (const [what, body, headers] of cases) {
      const r = await rawCall(address, path, body, headers);
      assert.equal(r.status, String(Code.InvalidArgument), `${what}: ${r.message}`);
    }
    const tooBig = toBinary(PutRequestSchema, create(PutRequestSchema, { key: "raw/big", value: new Uint8Array(2 * 1024 * 1024) }));
    const big = await rawCall(address, path, frame(tooBig));
    assert.ok([String(Code.InvalidArgument), String(Code.ResourceExhausted)].includes(big.status), big.message);
    assert.equal((await rawCall(address, path, frame(put))).status, "0");
  } finally {
    await cluster.close();
  }
});
