// TLS and mutual TLS on real processes, with certificates made at test time (pure JS): a cluster forms
// over mTLS and serves clients that trust its CA (library and ctl); untrusted clients and a node with a
// certificate from another CA are refused; certificates reload on a file change and on SIGHUP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { OmnimetaClient, type ClientTls } from "@omnimeta/client";
import { ClusterService, NodeState, PeerService } from "@omnimeta/proto";
import { freePort, issueCert, makeCa, MetadProcess, waitFor, type TestCa } from "@omnimeta/testkit";

const CTL_BIN = fileURLToPath(new URL("../../../ctl/bin/ctl.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "omnimeta-tls-"));
const nodes: MetadProcess[] = [];
let ca: TestCa;
let rogueCa: TestCa;

function tlsArgs(name: string, certCa: TestCa, extra: string[] = []): string[] {
  const c = issueCert(dir, certCa, name);
  return ["--tls-cert", c.certFile, "--tls-key", c.keyFile, "--tls-ca", ca.certFile, "--tick-ms", "20", ...extra];
}

async function startNode(name: string, args: string[]): Promise<MetadProcess> {
  const p = new MetadProcess({ name, port: await freePort(), dataDir: join(dir, name), logPath: join(dir, `${name}.log`), args, unsafe: "", scheme: "https" });
  nodes.push(p);
  await p.start();
  return p;
}

function rawCluster(address: string, t: ClientTls): Client<typeof ClusterService> {
  return createClient(ClusterService, createGrpcTransport({ baseUrl: address, nodeOptions: { ...t } }));
}

function rawPeer(address: string, t: ClientTls): Client<typeof PeerService> {
  return createClient(PeerService, createGrpcTransport({ baseUrl: address, nodeOptions: { ...t } }));
}

function trusted(): ClientTls {
  return { ca: ca.certPem };
}

function withClientCert(name: string, signer: TestCa = ca): ClientTls {
  const c = issueCert(dir, signer, name);
  return { ca: ca.certPem, cert: c.certPem, key: c.keyPem };
}

/** The serial number of the certificate a node presents on a new connection. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, ...withClientCert("probe"), ALPNProtocols: ["h2"] }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial.toLowerCase().replace(/^0+/, ""));
    });
    s.once("error", reject);
  });
}

let n1: MetadProcess;
let n2: MetadProcess;

before(async () => {
  ca = makeCa(dir, "cluster-ca");
  rogueCa = makeCa(dir, "rogue-ca");
  n1 = await startNode("n1", tlsArgs("n1", ca));
  await rawCluster(n1.address, trusted()).provision({});
  // n2 requires client certificates; n1 leaves them optional (peers always show theirs).
  n2 = await startNode("n2", tlsArgs("n2", ca, ["--join", n1.address, "--tls-client-cert-required"]));
  await waitFor("n2 is active over mutual TLS", async () => {
    const s = await rawCluster(n2.address, withClientCert("admin")).status({}, { timeoutMs: 1000 });
    return s.state === NodeState.ACTIVE && s.configuration?.members.length === 2 && s.leaderId !== 0n ? s : undefined;
  }, 30_000);
}, { timeout: 60_000 });

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.all(nodes.map((n) => n.closeLog()));
  rmSync(dir, { recursive: true, force: true });
});

test("a client that trusts the cluster's CA reads and writes over https, through the library and through ctl", async () => {
  const client = new OmnimetaClient({ endpoints: [n1.address], tls: trusted(), timeoutMs: 10_000 });
  try {
    await client.put("tls/greeting", "hello");
    assert.equal(new TextDecoder().decode((await client.get("tls/greeting")).kv!.value), "hello");
  } finally {
    client.close();
  }
  const cert = issueCert(dir, ca, "ctl");
  const { stdout } = await promisify(execFile)(process.execPath, [CTL_BIN, "--address", n2.address, "--ca", ca.certFile, "--cert", cert.certFile, "--key", cert.keyFile, "--json", "metadata", "get", "tls/greeting"]);
  assert.equal(JSON.parse(stdout).value, "hello");
});

test("a client that does not trust the cluster's CA cannot connect", async () => {
  const client = new OmnimetaClient({ endpoints: [n1.address], timeoutMs: 1500, discover: false });
  try {
    await assert.rejects(client.get("tls/greeting"), /certificate|self.signed|verify/i);
  } finally {
    client.close();
  }
});

test("with client certificates required, a client without one, or with one from another CA, is refused at the handshake", async () => {
  const noCert = rawCluster(n2.address, trusted());
  await assert.rejects(noCert.status({}, { timeoutMs: 3000 }), (e: Error) => e.message.length > 0);
  const rogue = rawCluster(n2.address, withClientCert("rogue-client", rogueCa));
  await assert.rejects(rogue.status({}, { timeoutMs: 3000 }), (e: Error) => e.message.length > 0);
  const good = await rawCluster(n2.address, withClientCert("good-client")).status({}, { timeoutMs: 3000 });
  assert.equal(good.state, NodeState.ACTIVE);
});

test("a node with a certificate from another CA cannot join, exchange peer messages or vote", async () => {
  // Peer calls without a certificate, or with an untrusted one, are refused before they are acted upon.
  for (const creds of [trusted(), withClientCert("rogue-peer", rogueCa)]) {
    const peer = rawPeer(n1.address, creds);
    await assert.rejects(peer.identify({}, { timeoutMs: 3000 }), /client certificate from the cluster's CA/);
    await assert.rejects(peer.join({ name: "rogue", address: "https://127.0.0.1:1", storageId: "x" }, { timeoutMs: 3000 }), /client certificate/);
    async function* oneBatch() {
      yield { clusterId: "any", from: 9n, to: 1n, messages: [new Uint8Array([1, 2, 3])], fromAddress: "https://127.0.0.1:1", partial: false };
    }
    await assert.rejects(peer.exchange(oneBatch(), { timeoutMs: 3000 }), /client certificate/);
  }
  // A whole node with such a certificate (trusting the cluster's CA itself) stays outside.
  const rogue = await startNode("rogue", tlsArgs("rogue", rogueCa, ["--join", n1.address]));
  await new Promise((r) => setTimeout(r, 3000));
  const status = await rawCluster(rogue.address, { ca: rogueCa.certPem }).status({}, { timeoutMs: 2000 });
  assert.notEqual(status.state, NodeState.ACTIVE);
  assert.match(status.stateDetail, /client certificate from the cluster's CA/);
  const members = await rawCluster(n1.address, trusted()).listMembers({}, { timeoutMs: 2000 });
  assert.deepEqual(members.configuration!.members.map((m) => m.name).sort(), ["n1", "n2"]);
  await rogue.stop();
});

test("a node's certificate reloads on a file change and on SIGHUP without a restart; a broken file keeps the old one", async () => {
  const first = await servedSerial(n1.spec.port);
  // Renewed in place (same paths): the file watcher picks it up.
  const renewed = issueCert(dir, ca, "n1");
  await waitFor("n1 serves the renewed certificate", async () => ((await servedSerial(n1.spec.port)) === strip(renewed.serial) ? true : undefined), 15_000, 200);
  assert.notEqual(first, strip(renewed.serial));
  // SIGHUP reloads at once.
  const again = issueCert(dir, ca, "n1");
  n1.signal("SIGHUP");
  await waitFor("n1 serves the SIGHUP-reloaded certificate", async () => ((await servedSerial(n1.spec.port)) === strip(again.serial) ? true : undefined), 15_000, 100);
  await waitFor("the SIGHUP reload is logged", async () => (/"msg":"TLS certificates reloaded"/.test(readFileSync(join(dir, "n1.log"), "utf8")) ? true : undefined), 5000);
  // A key that does not parse: the reload fails loudly and the node keeps serving the last good pair.
  writeFileSync(join(dir, "n1-key.pem"), "not a key\n");
  n1.signal("SIGHUP");
  await waitFor("the failed reload is logged", async () => (/TLS reload failed/.test(readFileSync(join(dir, "n1.log"), "utf8")) ? true : undefined), 5000);
  assert.equal(await servedSerial(n1.spec.port), strip(again.serial));
  // The cluster still commits through both nodes.
  const client = new OmnimetaClient({ endpoints: [n2.address], tls: withClientCert("after-reload"), timeoutMs: 10_000 });
  try {
    await client.put("tls/after-reload", "ok");
  } finally {
    client.close();
  }
});

function strip(serial: string): string {
  return serial.toLowerCase().replace(/^0+/, "");
}
