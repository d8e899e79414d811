// Disaster recovery on real processes: `ctl snapshot save` from a 3-node cluster, `metad --restore` into a
// fresh data dir (a new cluster with every key, version and revision of the old one), a node joining the
// restored one, and the refusals: a corrupt, truncated or other-version file, and a data dir already in use.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodeState, ReadConsistency, type KeyValue } from "@omnimeta/proto";
import { ProcessCluster } from "./process-cluster.ts";
import { freePort, MetadProcess, REPO_ROOT, type ExitInfo } from "./metad-process.ts";
import { clientsFor, eventually, utf8 } from "./clients.ts";
import { openNodeStore } from "../../src/storage/index.ts";
import { beginImport } from "../../src/snapshot/restore.ts";
import { readSnapshot } from "../../src/snapshot/snapshot-format.ts";

const cluster = new ProcessCluster();
const restored: MetadProcess[] = [];
const chunkBytesMax = 1024 * 1024;
/** Every refusal metad printed here: the README's runbook must show each of them. */
const refusalLines: string[] = [];

/** What a node serves, key by key: everything the snapshot must carry over. */
interface KeyDump { key: string; valueHex: string; version: bigint; createRevision: bigint; modRevision: bigint }

let snapshotFile = "";
let sourceClusterId = "";
let sourceRevision = 0n;
let sourceKeys: KeyDump[] = [];

before(async () => {
  await cluster.startProvisioned(3);
  await writeWorkload();
  const leader = cluster.nodes[await cluster.leaderIndex()]!;
  sourceClusterId = (await clientsFor(leader.address).cluster.status({})).clusterId;
  ({ revision: sourceRevision, keys: sourceKeys } = await dumpKeys(leader.address, ReadConsistency.LINEARIZABLE));
}, { timeout: 120_000 });

after(async () => {
  await Promise.all(restored.map((n) => n.kill("SIGKILL")));
  await cluster.close();
});

/** Creates, overwrites, deletes and re-creates keys, with an empty, a binary and a 1 MiB value, and non-ASCII keys. */
async function writeWorkload(): Promise<void> {
  const m = clientsFor(cluster.nodes[0]!.address).metadata;
  let writeCount = 0;
  const put = (key: string, value: Uint8Array) => {
    const requestId = `workload-${++writeCount}`;
    return eventually(`put ${key}`, () => m.put({ key, value, requestId }));
  };
  const del = (key: string) => eventually(`delete ${key}`, () => m.delete({ key, requestId: `delete ${key}` }));
  const name = (i: number) => `dr/k${String(i).padStart(3, "0")}`;
  const inBatches = async (count: number, f: (i: number) => Promise<unknown>) => {
    for (let i = 0; i < count; i += 25) await Promise.all(Array.from({ length: Math.min(25, count - i) }, (_, j) => f(i + j)));
  };
  await inBatches(300, (i) => put(name(i), utf8(`value ${i}`)));
  for (const round of [2, 3]) await inBatches(60, (i) => put(name(i), utf8(`value ${i} round ${round}`)));
  await inBatches(40, (i) => del(name(100 + i)));
  await inBatches(10, (i) => put(name(100 + i), utf8(`value ${100 + i} again`)));
  await put("dr/empty", new Uint8Array(0));
  await put("dr/binary", Uint8Array.from({ length: 256 }, (_, i) => i));
  await put("dr/ключ-✓", utf8("non-ASCII key"));
  // UTF-8 byte order (the store's) and UTF-16 order (JavaScript's) disagree on these two.
  await put("dr/u-\u{1F600}", utf8("astral"));
  await put("dr/u-\uFF5E", utf8("fullwidth tilde"));
  await put("dr/big", Uint8Array.from({ length: chunkBytesMax }, (_, i) => (i * 7 + 3) & 0xff)); // one key frame larger than a chunk
  await put("dr/marker", utf8("MARKER-VALUE-0123456789"));
}

/** Every key a node serves (serializable, so that any node can be asked), with the revision it is at. */
async function dumpKeys(address: string, consistency = ReadConsistency.SERIALIZABLE): Promise<{ revision: bigint; keys: KeyDump[] }> {
  const m = clientsFor(address).metadata;
  const keys: KeyDump[] = [];
  let pageToken = "";
  let revision = 0n;
  do {
    const page = await m.list({ prefix: "", pageToken, limit: 100, consistency });
    revision = page.revision;
    keys.push(...page.kvs.map(dump));
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return { revision, keys };
}

function dump(kv: KeyValue): KeyDump {
  return { key: kv.key, valueHex: Buffer.from(kv.value).toString("hex"), version: kv.version, createRevision: kv.createRevision, modRevision: kv.modRevision };
}

/** Runs the real ctl binary. */
async function ctl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, "packages/ctl/bin/ctl.js"), ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** Starts metad with --restore FILE (and more flags) in a data dir of its own. */
async function restoredNode(name: string, extraArgs: string[], join: string[] = []): Promise<MetadProcess> {
  const node = new MetadProcess({ name, dataDir: `${cluster.root}/${name}`, port: await freePort(), join, extraArgs });
  restored.push(node);
  return node;
}

/** Runs a metad that is expected to refuse to start: one still running after `timeoutMs` fails the test (and is killed). */
async function runToExit(node: MetadProcess, timeoutMs = 20_000): Promise<ExitInfo> {
  let timer: NodeJS.Timeout | undefined;
  const running = new Promise<"running">((resolve) => (timer = setTimeout(() => resolve("running"), timeoutMs)));
  const outcome = await Promise.race([node.run(), running]);
  clearTimeout(timer);
  if (outcome === "running") {
    await node.kill("SIGKILL");
    assert.fail(`metad ${node.options.name} did not refuse to start within ${timeoutMs} ms:\n${node.logs.slice(-5).join("\n")}`);
  }
  return outcome;
}

/** metad --restore FILE must exit non-zero with exactly one line on stderr and leave the data dir unused. */
async function expectRefusedRestore(file: string, dataDir: string): Promise<string> {
  const node = new MetadProcess({ name: "refused", dataDir, port: await freePort(), extraArgs: ["--restore", file] });
  const exit = await runToExit(node);
  assert.equal(exit.signal, null);
  assert.equal(exit.code, 1, node.logs.join("\n"));
  assert.equal(node.logs.length, 1, `exactly one line on stderr, got:\n${node.logs.join("\n")}`);
  assert.doesNotMatch(node.logs[0]!, /^\s+at |"level"/, "a plain line, no stack trace and no log record");
  assert.ok(!existsSync(dataDir) || readdirSync(dataDir).length === 0, `data dir ${dataDir} left unused`);
  refusalLines.push(node.logs[0]!);
  return node.logs[0]!;
}

test("ctl snapshot save writes the leader's state at one revision to FILE, in chunks of at most 1 MiB", async () => {
  snapshotFile = join(cluster.root, "backup.snap");
  const addresses = cluster.nodes.map((n) => n.address).join(",");
  const saved = await ctl(["--address", addresses, "--json", "snapshot", "save", snapshotFile]);
  assert.equal(saved.code, 0, saved.stderr);
  const view = JSON.parse(saved.stdout);
  assert.equal(view.file, snapshotFile);
  assert.equal(BigInt(view.revision), sourceRevision);
  assert.equal(view.keyCount, sourceKeys.length);
  assert.equal(view.clusterId, sourceClusterId);
  assert.equal(view.bytes, readFileSync(snapshotFile).length);
  assert.ok(!existsSync(`${snapshotFile}.tmp`), "no temporary file left");

  // The raw stream: chunks within the bound, and the same bytes as the file (nothing was written since).
  const leader = cluster.nodes[await cluster.leaderIndex()]!;
  assert.equal(view.node, leader.address, "ctl asks the leader");
  const chunks: Uint8Array[] = [];
  for await (const r of clientsFor(leader.address).cluster.saveSnapshot({})) chunks.push(r.chunk);
  assert.ok(chunks.length >= 2, "a state larger than a chunk comes in several chunks");
  for (const c of chunks) assert.ok(c.length > 0 && c.length <= chunkBytesMax, `chunk of ${c.length} bytes`);
  assert.ok(Buffer.concat(chunks).equals(readFileSync(snapshotFile)), "a snapshot at the same revision is the same bytes");
  assert.deepEqual(readdirSync(leader.options.dataDir).filter((f) => f.startsWith("snapshot-copy-")), [], "the node's private copy is removed");
});

test("a snapshot taken while writes go on holds exactly the writes up to its revision", async () => {
  const leader = cluster.nodes[await cluster.leaderIndex()]!;
  const m = clientsFor(leader.address).metadata;
  const revisionOf: bigint[] = [];
  const counterRevisionOf: bigint[] = [];
  let stop = false;
  const writer = (async () => {
    for (let i = 0, after = 0; !stop || after++ < 5; i++) { // and 5 more once the snapshot is in
      revisionOf[i] = (await m.put({ key: `cw/${String(i).padStart(5, "0")}`, value: utf8(String(i)), requestId: `cw-${i}` })).revision;
      counterRevisionOf[i] = (await m.put({ key: "cw/counter", value: utf8(String(i)), requestId: `cw-counter-${i}` })).revision;
    }
  })();
  while (revisionOf.length < 20) await new Promise((r) => setImmediate(r));
  const chunks: Uint8Array[] = [];
  for await (const r of clientsFor(leader.address).cluster.saveSnapshot({})) chunks.push(r.chunk);
  stop = true;
  await writer;
  let revision = 0n;
  const keys = new Map<string, string>();
  for await (const record of readSnapshot((async function* () { yield* chunks; })())) {
    if (record.kind === "header") revision = BigInt(record.header.revision);
    else if (record.kind === "key" && record.key.key.startsWith("cw/")) keys.set(record.key.key, Buffer.from(record.key.value).toString());
  }
  const expected = revisionOf.flatMap((rev, i) => (rev <= revision ? [`cw/${String(i).padStart(5, "0")}`] : []));
  assert.ok(expected.length >= 20 && expected.length < revisionOf.length, `the snapshot (revision ${revision}) falls inside the writes`);
  assert.deepEqual([...keys.keys()].filter((k) => k !== "cw/counter"), expected, "every write up to the revision, none after it");
  assert.equal(keys.get("cw/counter"), String(counterRevisionOf.filter((rev) => rev <= revision).length - 1), "the counter as of the revision");
});

test("a snapshot stream the client cuts short leaves no copy behind on the node", async () => {
  const leader = cluster.nodes[await cluster.leaderIndex()]!;
  const copies = () => readdirSync(leader.options.dataDir).filter((f) => f.startsWith("snapshot-copy-"));
  const cut = new AbortController();
  const stream = clientsFor(leader.address).cluster.saveSnapshot({}, { signal: cut.signal });
  await assert.rejects(async () => {
    for await (const _ of stream) {
      assert.equal(copies().length, 1, "the node reads from its private copy while it streams");
      cut.abort();
    }
  });
  await eventually("the copy is removed", async () => assert.deepEqual(copies(), []), 10_000);
});

test("metad --restore starts a new cluster with every key, version and revision of the snapshot", async () => {
  const r1 = await restoredNode("r1", ["--restore", snapshotFile]);
  await r1.start();
  const status = await clientsFor(r1.address).cluster.status({});
  assert.equal(status.state, NodeState.ACTIVE);
  assert.notEqual(status.clusterId, "");
  assert.notEqual(status.clusterId, sourceClusterId, "a new cluster id");
  assert.equal(status.configuration?.members.length, 1);
  const after = await eventually("the restored node serves reads", () => dumpKeys(r1.address));
  assert.equal(after.revision, sourceRevision, "the cluster revision is kept");
  assert.equal(after.keys.length, sourceKeys.length);
  assert.deepEqual(after.keys, sourceKeys, "every key with its value, version, create and mod revision");
  assert.ok(!after.keys.some((k) => k.key === "dr/k120"), "a deleted key stays deleted");
  // No watch history before the restore: a watch from an earlier revision is told so, not given a partial history.
  await assert.rejects(async () => {
    for await (const _ of clientsFor(r1.address).metadata.watch({ key: "dr/", prefix: true, startRevision: 1n }, { timeoutMs: 10_000 })) break;
  }, (e: ConnectError) => e.code === Code.OutOfRange);
  // The log continues after the snapshot: revisions go on from where the old cluster was.
  const m = clientsFor(r1.address).metadata;
  const put = await eventually("a write after the restore", () => m.put({ key: "dr/k000", value: utf8("after the restore"), requestId: "after-restore" }));
  assert.ok(put.revision > sourceRevision, `revision ${put.revision} > ${sourceRevision}`);
  assert.equal(put.version, 4n, "the version continues from the snapshot's");
});

test("a node started with --join joins the restored cluster and serves the same data", async () => {
  const r1 = restored[0]!;
  const r2 = await restoredNode("r2", [], [r1.address]);
  await r2.start();
  await eventually("r2 is an active member", async () => {
    const s = await clientsFor(r2.address).cluster.status({});
    assert.equal(s.state, NodeState.ACTIVE, s.stateDetail);
    assert.equal(s.configuration?.members.length, 2);
  }, 60_000);
  const want = await dumpKeys(r1.address);
  const got = await eventually("r2 has caught up", async () => {
    const d = await dumpKeys(r2.address);
    assert.equal(d.revision, want.revision);
    return d;
  });
  assert.deepEqual(got.keys, want.keys);
  assert.equal((await clientsFor(r2.address).cluster.status({})).clusterId, (await clientsFor(r1.address).cluster.status({})).clusterId);
});

test("a snapshot file with one flipped byte is refused with one line and nothing written", async () => {
  const bytes = Buffer.from(readFileSync(snapshotFile));
  const at = bytes.indexOf("MARKER-VALUE");
  assert.ok(at > 0);
  bytes[at + 3] ^= 0x01;
  const file = join(cluster.root, "flipped.snap");
  writeFileSync(file, bytes);
  const emptyDir = join(cluster.root, "refused-flipped");
  mkdirSync(emptyDir);
  const line = await expectRefusedRestore(file, emptyDir);
  assert.match(line, /^metad: cannot restore from .*flipped\.snap: corrupt snapshot: checksum mismatch$/);
});

test("a truncated snapshot file is refused with one line and nothing written", async () => {
  const bytes = readFileSync(snapshotFile);
  const half = join(cluster.root, "half.snap");
  writeFileSync(half, bytes.subarray(0, Math.floor(bytes.length / 2)));
  assert.match(await expectRefusedRestore(half, join(cluster.root, "refused-half")), /^metad: cannot restore from .*half\.snap: truncated snapshot file/);
  const lastByte = join(cluster.root, "last-byte.snap");
  writeFileSync(lastByte, bytes.subarray(0, bytes.length - 1));
  assert.match(await expectRefusedRestore(lastByte, join(cluster.root, "refused-last-byte")), /: truncated snapshot file \(checksum missing\)$/);
});

test("a snapshot file of another format version or not a snapshot at all is refused with one line", async () => {
  const bytes = Buffer.from(readFileSync(snapshotFile));
  bytes[8] = 2; // the format version byte, after the 8-byte magic
  const v2 = join(cluster.root, "v2.snap");
  writeFileSync(v2, bytes);
  assert.match(await expectRefusedRestore(v2, join(cluster.root, "refused-v2")), /: snapshot format version 2 is not supported \(this metad reads version 1\)$/);
  const other = join(cluster.root, "other.snap");
  writeFileSync(other, "SQLite format 3\0 not a snapshot");
  assert.match(await expectRefusedRestore(other, join(cluster.root, "refused-other")), /: not an omnimeta snapshot file/);
  assert.match(await expectRefusedRestore(join(cluster.root, "missing.snap"), join(cluster.root, "refused-missing")), /: cannot read snapshot file .*missing\.snap: ENOENT$/);
});

test("metad --restore into a data dir that already belongs to a cluster is refused and changes nothing", async () => {
  const r1 = restored[0]!;
  const before = await clientsFor(r1.address).cluster.status({});
  const keysBefore = await dumpKeys(r1.address);
  await r1.stop();
  const again = new MetadProcess({ ...r1.options, extraArgs: ["--restore", snapshotFile] });
  const exit = await runToExit(again);
  r1.options.extraArgs = []; // from now on r1 starts from its data dir
  assert.equal(exit.code, 1);
  assert.equal(again.logs.length, 1, again.logs.join("\n"));
  assert.match(again.logs[0]!, new RegExp(`^metad: cannot restore from .*: data dir .* already belongs to cluster ${before.clusterId}; --restore needs a new, empty data dir$`));
  refusalLines.push(again.logs[0]!);
  await r1.start();
  const status = await clientsFor(r1.address).cluster.status({});
  assert.equal(status.clusterId, before.clusterId, "the same cluster");
  assert.equal(status.storageId, before.storageId, "the same data dir identity");
  const keysAfter = await eventually("r1 serves again", () => dumpKeys(r1.address));
  assert.deepEqual(keysAfter, keysBefore);
});

test("metad --restore with --join is a usage error: a restore founds a new cluster", async () => {
  const node = new MetadProcess({ name: "both", dataDir: join(cluster.root, "refused-both"), port: await freePort(), join: [cluster.nodes[0]!.address], extraArgs: ["--restore", snapshotFile] });
  const exit = await runToExit(node);
  assert.equal(exit.code, 2);
  assert.match(node.logs[0]!, /^metad: --restore starts a new cluster from the snapshot and cannot be combined with --join/);
  refusalLines.push(node.logs[0]!);
  assert.ok(!existsSync(node.options.dataDir));
});

test("a data dir left by an interrupted restore refuses to start without --restore, and a second restore completes it", async () => {
  const dataDir = join(cluster.root, "r3");
  // What a crash after the first import batch leaves: some keys, no cluster, the restoring mark.
  const { store } = openNodeStore({ dataDir, name: "r3" });
  beginImport(store, snapshotFile);
  store.kv.putKey({ key: "dr/half-imported", value: utf8("x"), version: 1, createRevision: 1, modRevision: 1 });
  store.commit();
  store.close();
  const plain = new MetadProcess({ name: "r3", dataDir, port: await freePort() });
  const exit = await runToExit(plain);
  assert.equal(exit.code, 1);
  assert.equal(plain.logs.length, 1, plain.logs.join("\n"));
  assert.match(plain.logs[0]!, /^metad: data dir .*r3 holds an interrupted restore from .*backup\.snap; run metad --restore again, or use a new data dir$/);
  const again = await restoredNode("r3", ["--restore", snapshotFile]);
  await again.start();
  const d = await eventually("r3 serves reads", () => dumpKeys(again.address));
  assert.equal(d.revision, sourceRevision);
  assert.deepEqual(d.keys, sourceKeys, "the half-imported key is gone, the snapshot's keys are all there");
});

test("the README's runbook shows every refusal as metad prints it", () => {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.split("<!-- section:backup -->")[1]?.split("<!-- /section:backup -->")[0] ?? "";
  // Paths and cluster ids differ; the words do not.
  const shape = (line: string) => line.replace(/\/\S*?([^/\s]+\.snap)/g, "$1").replace(/(data dir )\S+/g, "$1DIR").replace(/[0-9a-f]{8}-[0-9a-f-]*(\.\.\.)?/g, "ID").replace(/\S+\.snap/g, "FILE");
  const documented = new Set(section.split("\n").map(shape));
  assert.ok(refusalLines.length >= 7, `refusals seen: ${refusalLines.length}`);
  for (const line of refusalLines) assert.ok(documented.has(shape(line)), `the README's runbook lacks: ${line}`);
});
