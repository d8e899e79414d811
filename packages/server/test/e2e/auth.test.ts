// Authentication on real processes: a 3-node cluster with a client token, an admin token and a peer
// secret forms (peers authenticate) and serves the right token over Connect and over gRPC (the unary fast
// path); a missing or wrong token is UNAUTHENTICATED on both, the client token on an admin call
// PERMISSION_DENIED, and no refusal names a key; a node without the peer secret cannot join or exchange,
// over TLS too.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { OmnimetaClient } from "@omnimeta/client";
import { ClusterService, GetRequestSchema, MetadataService, NodeState, PeerService, PutRequestSchema } from "@omnimeta/proto";
import { freePort, issueCert, makeCa, MetadProcess, waitFor } from "@omnimeta/testkit";

const CTL_BIN = fileURLToPath(new URL("../../../ctl/bin/ctl.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "omnimeta-auth-"));
const nodes: MetadProcess[] = [];

const secret = (): string => randomBytes(24).toString("hex");
const clientToken = secret();
const adminToken = secret();
const peerSecret = secret();
const wrongToken = secret();
const files = { client: join(dir, "client.token"), admin: join(dir, "admin.token"), peer: join(dir, "peer.secret"), wrongPeer: join(dir, "wrong-peer.secret") };
writeFileSync(files.client, `${clientToken}\n`);
writeFileSync(files.admin, `${adminToken}\n`);
writeFileSync(files.peer, `${peerSecret}\n`);
writeFileSync(files.wrongPeer, `${secret()}\n`);

/** A key name that must never show in a refusal. */
const hiddenKey = "payroll/ceo-salary";

function authArgs(peerSecretFile: string | undefined = files.peer): string[] {
  return ["--auth-token-file", files.client, "--admin-token-file", files.admin, ...(peerSecretFile ? ["--peer-secret-file", peerSecretFile] : []), "--tick-ms", "20"];
}

async function startNode(name: string, args: string[], scheme: "http" | "https" = "http"): Promise<MetadProcess> {
  const p = new MetadProcess({ name, port: await freePort(), dataDir: join(dir, name), logPath: join(dir, `${name}.log`), args, unsafe: "", scheme });
  nodes.push(p);
  await p.start();
  return p;
}

function headers(h: Record<string, string>): Interceptor[] {
  return [(next) => (req) => {
    for (const [k, v] of Object.entries(h)) req.header.set(k, v);
    return next(req);
  }];
}

const bearer = (token: string | undefined): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` });

/** Connect protocol (not the fast path) or gRPC (Get/GetVersion/Put/Delete take the fast path). */
function metadata(address: string, protocol: "connect" | "grpc", token?: string): Client<typeof MetadataService> {
  const transport = protocol === "connect"
    ? createConnectTransport({ baseUrl: address, httpVersion: "2", interceptors: headers(bearer(token)) })
    : createGrpcTransport({ baseUrl: address, interceptors: headers(bearer(token)) });
  return createClient(MetadataService, transport);
}

function cluster(address: string, token?: string, ca?: string): Client<typeof ClusterService> {
  return createClient(ClusterService, createConnectTransport({ baseUrl: address, httpVersion: "2", interceptors: headers(bearer(token)), ...(ca ? { nodeOptions: { ca } } : {}) }));
}

function peer(address: string, extra: Record<string, string>): Client<typeof PeerService> {
  return createClient(PeerService, createGrpcTransport({ baseUrl: address, interceptors: headers(extra) }));
}

async function errorOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail("expected the call to be refused");
}

/** One raw gRPC unary call on its own HTTP/2 session (the fast path serves it): grpc-status and message. */
function rawGrpc(address: string, path: string, payload: Uint8Array, extra: http2.OutgoingHttpHeaders): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(address);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extra });
    let status: number | undefined;
    let message = "";
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h["grpc-status"] === undefined) return;
      status = Number(h["grpc-status"]);
      message = decodeURIComponent(String(h["grpc-message"] ?? ""));
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
    const frame = Buffer.alloc(5 + payload.length);
    frame.writeUInt32BE(payload.length, 1);
    frame.set(payload, 5);
    req.end(frame);
  });
}

async function authFailures(address: string): Promise<number> {
  const text = await (await fetch(`${address}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^omnimeta_auth_failures_total\{[^}]*\} (\d+)$/gm)) sum += Number(m[1]);
  return sum;
}

let n1: MetadProcess;
let n2: MetadProcess;
let n3: MetadProcess;

before(async () => {
  n1 = await startNode("n1", authArgs());
  await cluster(n1.address, adminToken).provision({});
  [n2, n3] = await Promise.all([startNode("n2", [...authArgs(), "--join", n1.address]), startNode("n3", [...authArgs(), "--join", n1.address])]);
  await waitFor("3 active members that agree on a leader", async () => {
    const all = await Promise.all([n1, n2, n3].map((n) => cluster(n.address, clientToken).status({}, { timeoutMs: 1000 })));
    return all.every((s) => s.state === NodeState.ACTIVE && s.configuration?.members.length === 3 && s.leaderId !== 0n && s.leaderId === all[0]!.leaderId) ? all : undefined;
  }, 30_000);
}, { timeout: 60_000 });

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all(nodes.map((n) => n.closeLog()));
  rmSync(dir, { recursive: true, force: true });
});

test("with the client token, put and get work on every node over Connect and over gRPC (the fast path), forwarded to the leader too", async () => {
  for (const [i, n] of [n1, n2, n3].entries()) {
    for (const protocol of ["connect", "grpc"] as const) {
      const kv = metadata(n.address, protocol, clientToken);
      const key = `auth/ok-${protocol}-${i}`;
      const put = await kv.put({ key, value: new TextEncoder().encode(protocol) }, { timeoutMs: 10_000 });
      assert.equal(put.version, 1n);
      const got = await kv.get({ key }, { timeoutMs: 10_000 });
      assert.equal(new TextDecoder().decode(got.kv!.value), protocol);
    }
    // The raw gRPC call is the fast path for certain: one frame in, status 0 out.
    const raw = await rawGrpc(n.address, "/omnimeta.v1.MetadataService/Get", toBinary(GetRequestSchema, create(GetRequestSchema, { key: `auth/ok-grpc-${i}` })), bearer(clientToken));
    assert.equal(raw.status, 0, raw.message);
  }
  // The admin token is accepted on client calls too.
  assert.equal((await metadata(n2.address, "connect", adminToken).get({ key: "auth/ok-connect-0" })).kv?.version, 1n);
});

test("a missing or wrong token gets UNAUTHENTICATED over Connect, gRPC and the raw fast path, names no key, and writes nothing", async () => {
  const before = await authFailures(n2.address);
  let refusals = 0;
  for (const token of [undefined, wrongToken]) {
    for (const protocol of ["connect", "grpc"] as const) {
      const kv = metadata(n2.address, protocol, token);
      for (const call of [
        () => kv.put({ key: hiddenKey, value: new TextEncoder().encode("1000000") }),
        () => kv.get({ key: hiddenKey }),
        () => kv.getVersion({ key: hiddenKey }),
        () => kv.delete({ key: hiddenKey }),
        () => kv.list({ prefix: "payroll/" }),
      ]) {
        const e = await errorOf(call());
        assert.equal(e.code, Code.Unauthenticated, `${protocol} ${token ? "wrong" : "no"} token: ${e.message}`);
        assert.doesNotMatch(e.message, /payroll|ceo|salary/);
        assert.ok(!e.message.includes(wrongToken) && !e.message.includes(clientToken));
        refusals++;
      }
    }
    for (const [path, body] of [
      ["/omnimeta.v1.MetadataService/Put", toBinary(PutRequestSchema, create(PutRequestSchema, { key: hiddenKey, value: new Uint8Array([1]), requestId: "r1" }))],
      ["/omnimeta.v1.MetadataService/Get", toBinary(GetRequestSchema, create(GetRequestSchema, { key: hiddenKey }))],
    ] as const) {
      const raw = await rawGrpc(n2.address, path, body, bearer(token));
      assert.equal(raw.status, Code.Unauthenticated, raw.message);
      assert.doesNotMatch(raw.message, /payroll|ceo|salary/);
      refusals++;
    }
  }
  // Streams are refused before they are served: Session, Watch.
  async function* oneRequest() {
    yield { id: 1n, op: { case: "put" as const, value: { key: hiddenKey, value: new Uint8Array([2]), requestId: "r2" } } };
  }
  const session = await errorOf((async () => {
    for await (const _ of metadata(n2.address, "grpc", wrongToken).session(oneRequest())) assert.fail("answered");
  })());
  assert.equal(session.code, Code.Unauthenticated);
  const watch = await errorOf((async () => {
    for await (const _ of metadata(n2.address, "connect").watch({ key: hiddenKey }, { timeoutMs: 3000 })) assert.fail("watched");
  })());
  assert.equal(watch.code, Code.Unauthenticated);
  assert.doesNotMatch(watch.message + session.message, /payroll|ceo|salary/);
  refusals += 2;
  // Nothing was written, and every refusal was counted.
  assert.equal((await errorOf(metadata(n1.address, "connect", clientToken).get({ key: hiddenKey }))).code, Code.NotFound);
  assert.equal((await authFailures(n2.address)) - before, refusals);
  // /health, /ready and /metrics stay open (like etcd's).
  assert.equal((await fetch(`${n2.address}/health`)).status, 200);
  assert.equal((await fetch(`${n2.address}/ready`)).status, 200);
});

test("the client token on an admin call gets PERMISSION_DENIED, a wrong one UNAUTHENTICATED; the admin token works, forwarded from a follower too", async () => {
  const asClient = cluster(n2.address, clientToken);
  for (const call of [
    () => asClient.addMember({ address: "http://127.0.0.1:9" }),
    () => asClient.removeMember({ name: "n3" }),
    () => asClient.provision({}),
    async () => {
      for await (const _ of asClient.saveSnapshot({})) assert.fail("sent a snapshot");
    },
  ]) {
    const e = await errorOf(call());
    assert.equal(e.code, Code.PermissionDenied, e.message);
  }
  assert.equal((await errorOf(cluster(n2.address, wrongToken).addMember({ address: "http://127.0.0.1:9" }))).code, Code.Unauthenticated);
  assert.equal((await errorOf(cluster(n2.address).removeMember({ name: "n3" }))).code, Code.Unauthenticated);
  // Read-only cluster calls take the client token.
  assert.equal((await asClient.listMembers({})).configuration?.members.length, 3);
  // The admin token: Provision answers, and a membership change sent to a follower reaches the leader
  // with the caller's token (the leader's answer is about the member, not about the token).
  assert.equal((await cluster(n1.address, adminToken).provision({})).alreadyProvisioned, true);
  const leaderId = (await asClient.status({})).leaderId;
  const follower = [n1, n2, n3].find((_n, i) => BigInt(i + 1) !== leaderId) ?? n2;
  const status = await cluster(follower.address, clientToken).status({});
  assert.equal(status.isLeader, false);
  const e = await errorOf(cluster(follower.address, adminToken).removeMember({ name: "no-such-member" }));
  assert.equal(e.code, Code.NotFound, e.message);
});

test("a node without the peer secret cannot join, and peer calls and Exchange frames without it are refused before they are acted upon", async () => {
  const s1 = await cluster(n1.address, clientToken).status({});
  for (const extra of [{}, { "omnimeta-peer-secret": wrongToken }, bearer(adminToken)]) {
    const p = peer(n1.address, extra);
    assert.equal((await errorOf(p.identify({}, { timeoutMs: 3000 }))).code, Code.Unauthenticated);
    assert.equal((await errorOf(p.join({ name: "rogue", address: "http://127.0.0.1:9", storageId: "x" }, { timeoutMs: 3000 }))).code, Code.Unauthenticated);
    assert.equal((await errorOf(p.admit({ clusterId: s1.clusterId, nodeId: 9n, storageId: "x" }, { timeoutMs: 3000 }))).code, Code.Unauthenticated);
    // A well-addressed batch (this cluster, this node) of bytes that are no core messages: read, it would be
    // refused as malformed (INVALID_ARGUMENT, as with the secret below); refused unread, it is UNAUTHENTICATED.
    const e = await errorOf(p.exchange(batch(s1.clusterId, s1.nodeId), { timeoutMs: 3000 }));
    assert.equal(e.code, Code.Unauthenticated, e.message);
  }
  const withSecret = await errorOf(peer(n1.address, { "omnimeta-peer-secret": peerSecret }).exchange(batch(s1.clusterId, s1.nodeId), { timeoutMs: 3000 }));
  assert.equal(withSecret.code, Code.InvalidArgument, withSecret.message);

  // A whole node with the client tokens but a wrong peer secret stays outside, and says why.
  const rogue = await startNode("rogue", [...authArgs(files.wrongPeer), "--join", n1.address]);
  const rs = await waitFor("the rogue node to report the refusal", async () => {
    const s = await cluster(rogue.address, clientToken).status({}, { timeoutMs: 2000 });
    return /peer secret/.test(s.stateDetail) ? s : undefined;
  }, 20_000);
  assert.notEqual(rs.state, NodeState.ACTIVE);
  const members = await cluster(n1.address, clientToken).listMembers({});
  assert.deepEqual(members.configuration!.members.map((m) => m.name).sort(), ["n1", "n2", "n3"]);
  await rogue.stop();
});

test("ctl with --token-file or CTL_TOKEN works; without a token, or with the client token on an admin command, it prints one line and exits 5", async () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CTL_BIN, "--address", n2.address, "--timeout", "5000", ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  const put = await run(["--token-file", files.client, "metadata", "put", "auth/ctl", "hello"]);
  assert.equal(put.code, 0, put.stderr);
  const get = await run(["--json", "metadata", "get", "auth/ctl"], { CTL_TOKEN: clientToken });
  assert.equal(get.code, 0, get.stderr);
  assert.equal(JSON.parse(get.stdout).value, "hello");

  const none = await run(["metadata", "get", hiddenKey]);
  assert.equal(none.code, 5);
  assert.match(none.stderr, /^ctl: authentication failed: [^\n]+\n$/);
  assert.doesNotMatch(none.stderr, /payroll|ceo|salary/);
  const wrong = await run(["--token", wrongToken, "metadata", "get", hiddenKey]);
  assert.equal(wrong.code, 5);
  assert.match(wrong.stderr, /^ctl: authentication failed: [^\n]+\n$/);
  assert.ok(!wrong.stderr.includes(wrongToken));
  const denied = await run(["--token-file", files.client, "members", "remove", "n3"]);
  assert.equal(denied.code, 5);
  assert.match(denied.stderr, /^ctl: permission denied: [^\n]+\n$/);
  const status = await run(["cluster", "status"]);
  assert.equal(status.code, 5, status.stderr);
  assert.match(status.stderr, /^ctl: authentication failed: [^\n]+\n$/);
});

test("the client library sends its token on unary calls, Session streams and watches; without it a call fails at once, not at the deadline", async () => {
  const client = new OmnimetaClient({ endpoints: [n3.address], token: clientToken, timeoutMs: 10_000 });
  const watcher = new AbortController();
  try {
    const put = await client.put("auth/lib", "v1");
    assert.equal(new TextDecoder().decode((await client.get("auth/lib")).kv!.value), "v1");
    // A watch from the put's revision delivers it (whenever the stream opens).
    for await (const ev of client.watch("auth/lib", { startRevision: put.revision, signal: watcher.signal })) {
      assert.equal(new TextDecoder().decode(ev.kv!.value), "v1");
      break;
    }
  } finally {
    watcher.abort();
    client.close();
  }
  const anonymous = new OmnimetaClient({ endpoints: [n3.address], timeoutMs: 8000, discover: false });
  try {
    const started = Date.now();
    await assert.rejects(anonymous.get("auth/lib"), (e: Error & { code?: Code }) => e.code === Code.Unauthenticated && !/auth\/lib/.test(e.message));
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
  } finally {
    anonymous.close();
  }
});

test("with TLS, the peer secret is checked as well: a node with a certificate from the cluster's CA but without the secret cannot join", async () => {
  const ca = makeCa(dir, "auth-ca");
  const tlsArgs = (name: string): string[] => {
    const c = issueCert(dir, ca, name);
    return ["--tls-cert", c.certFile, "--tls-key", c.keyFile, "--tls-ca", ca.certFile];
  };
  const t1 = await startNode("t1", [...tlsArgs("t1"), ...authArgs()], "https");
  await cluster(t1.address, adminToken, ca.certPem).provision({});
  const t2 = await startNode("t2", [...tlsArgs("t2"), ...authArgs(), "--join", t1.address], "https");
  const t3 = await startNode("t3", [...tlsArgs("t3"), ...authArgs(files.wrongPeer), "--join", t1.address], "https");
  await waitFor("t2 to join over mutual TLS with the secret", async () => {
    const s = await cluster(t2.address, clientToken, ca.certPem).status({}, { timeoutMs: 2000 });
    return s.state === NodeState.ACTIVE && s.configuration?.members.length === 2 ? s : undefined;
  }, 30_000);
  const refused = await waitFor("t3 to report the refusal", async () => {
    const s = await cluster(t3.address, clientToken, ca.certPem).status({}, { timeoutMs: 2000 });
    return /peer secret/.test(s.stateDetail) ? s : undefined;
  }, 20_000);
  assert.notEqual(refused.state, NodeState.ACTIVE);
  const members = await cluster(t1.address, clientToken, ca.certPem).listMembers({});
  assert.deepEqual(members.configuration!.members.map((m) => m.name).sort(), ["t1", "t2"]);
  await Promise.all([t1, t2, t3].map((n) => n.stop()));
});

async function* batch(clusterId: string, to: bigint) {
  yield { clusterId, from: 9n, to, messages: [new Uint8Array([0xff, 0x01, 0x02, 0x03])], fromAddress: "http://127.0.0.1:9", partial: false };
}
