// The pieces that keep a state transfer from being done twice or throttled: a sync re-sent after its snapshot
// was installed goes to the core without it, an offer held by the sender says which revision compaction must
// keep and who is pulling it, offer batches are not counted as transfer bytes, and peer connections open with
// wide HTTP/2 windows. Real SQLite files and a real HTTP/2 server on loopback.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withoutSyncSnapshot, offerIn } from "../../src/node/state-transfer.ts";
import { carriesSnapshot } from "../../src/node/peer-network.ts";
import type { CoreMessage } from "../../src/node/replica.ts";
import { SnapshotOffers } from "../../src/snapshot/snapshot-offers.ts";
import { openNodeStore, type NodeStore } from "../../src/storage/node-store.ts";
import { silentLogger } from "../../src/log.ts";
import { listenHttp2 } from "../../src/rpc/http-server.ts";
import { PeerClients } from "../../src/peer/peer-clients.ts";
import { peerWindowBytes } from "../../src/rpc/http2-window.ts";

const dirs: string[] = [];
const stores: NodeStore[] = [];
after(() => {
  for (const s of stores) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ballot = { configurationId: 1, n: 2, priority: 0, pid: 1 };
const offer = { kind: "offer" as const, lastRevision: 50, transferId: "t1", from: 1, records: 3 };
const entries = [{ kind: "entry" as const, entry: { kind: "put" as const, key: "a", value: new Uint8Array([1]), precondition: { kind: "none" as const }, requestId: "r1" } }];
const acceptSync = (snapshot: unknown): CoreMessage =>
  ({ kind: "AcceptSync", from: 1, to: 2, configurationId: 1, n: ballot, decidedIdx: 51, sync: { fromIdx: 10, snapshot: { compactedIdx: 50, snapshot }, entries } }) as unknown as CoreMessage;

test("a re-sent sync whose snapshot is already installed reaches the core as the same entries from the snapshot's index", () => {
  const m = acceptSync(offer);
  assert.deepEqual(offerIn(m), offer);
  const plain = withoutSyncSnapshot(m) as unknown as { kind: string; n: unknown; decidedIdx: number; sync: { fromIdx: number; snapshot?: unknown; entries: unknown[] } };
  assert.equal(plain.sync.snapshot, undefined);
  assert.equal(plain.sync.fromIdx, 50, "its entries start where the snapshot ended");
  assert.deepEqual(plain.sync.entries, entries);
  assert.deepEqual([plain.kind, plain.n, plain.decidedIdx], ["AcceptSync", ballot, 51]);
  assert.equal(offerIn(plain as unknown as CoreMessage), undefined);
});

test("a batch whose sync carries only an offer is not state-transfer bytes; one carrying the state is", () => {
  assert.equal(carriesSnapshot([acceptSync(offer)]), false, "the state of an offer travels by FetchSnapshot, counted there");
  assert.equal(carriesSnapshot([acceptSync({ kind: "full", lastRevision: 50, state: {} })]), true);
  assert.equal(carriesSnapshot([{ kind: "Accepted" }]), false);
});

/** A store in a temp dir with 20 keys applied (revision 20), removed after the tests. */
function storeAt20(): { dir: string; store: NodeStore } {
  const dir = mkdtempSync(join(tmpdir(), "omnimeta-offers-"));
  dirs.push(dir);
  const { store } = openNodeStore({ dataDir: dir, name: "n1" });
  stores.push(store);
  for (let i = 0; i < 20; i++) store.kv.putKey({ key: `k${i}`, value: new Uint8Array(100), version: 1, createRevision: i + 1, modRevision: i + 1 });
  store.kv.setAppliedRevision(20);
  store.commit();
  return { dir, store };
}

test("an offer holds compaction at its revision and knows who is pulling it", async () => {
  const { dir, store } = storeAt20();
  let sent = 0;
  const offers = new SnapshotOffers(store, dir, 1, silentLogger, (bytes) => (sent += bytes), 1024);
  assert.equal(offers.heldRevision(), undefined, "no offer, no hold");
  assert.equal(offers.offer(20), undefined, "the first ask starts the copy");
  let made = offers.offer(20);
  for (let i = 0; made === undefined && i < 200; i++) {
    await new Promise((r) => setImmediate(r));
    made = offers.offer(20);
  }
  assert.ok(made !== undefined, "the copy is ready within a few turns");
  assert.equal(made.lastRevision, 20);
  assert.equal(offers.heldRevision(), 20);
  const chunks = offers.chunks(made.transferId, "c1", 4);
  assert.equal(offers.isFetching(4, made.transferId), false, "not before the stream is pulled");
  await chunks.next();
  assert.equal(offers.isFetching(4, made.transferId), true);
  assert.equal(offers.isFetching(3, made.transferId), false, "another node is not pulling it");
  for (let c = await chunks.next(); !c.done; c = await chunks.next());
  assert.equal(offers.isFetching(4, made.transferId), false, "the stream ended");
  assert.ok(sent > 0);
  offers.close();
  assert.equal(offers.heldRevision(), undefined, "a closed offer holds nothing");
});

test("an offer nobody fetches stops holding compaction after the hold time; re-sends do not renew the hold, fetches do", async () => {
  const { dir, store } = storeAt20();
  let now = 1_000_000;
  const offers = new SnapshotOffers(store, dir, 1, silentLogger, () => {}, 1024, 5_000, () => now);
  assert.equal(offers.offer(20, false), undefined, "an unreachable receiver does not start a copy");
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  assert.equal(offers.offer(20, false), undefined, "and none was made");
  let made = offers.offer(20);
  for (let i = 0; made === undefined && i < 200; i++) {
    await new Promise((r) => setImmediate(r));
    made = offers.offer(20);
  }
  assert.ok(made !== undefined, "the copy is ready within a few turns");
  assert.deepEqual(offers.offer(20, false), made, "a copy already made is handed out to an unreachable receiver too");
  assert.equal(offers.heldRevision(), 20);
  // The core's resend timer re-sends the offer to a receiver that never pulls it (a member that is down).
  for (let t = 0; t < 4_900; t += 700) {
    now += 700;
    assert.deepEqual(offers.offer(20), made, "a re-send is handed the same offer");
    assert.equal(offers.heldRevision(), 20, `held ${t + 700} ms after it was made`);
  }
  now += 200;
  assert.equal(offers.heldRevision(), undefined, "5 s after it was made with no fetch, the hold lapsed although re-sends went on");
  assert.deepEqual(offers.offer(20), made, "the copy itself is still offered (a late receiver may use it while the log allows)");
  // A fetch renews the hold, for as long as it reads and for the hold time after.
  const chunks = offers.chunks(made.transferId, "c1", 4);
  await chunks.next();
  assert.equal(offers.heldRevision(), 20, "held again while a fetch reads it");
  now += 60_000;
  assert.equal(offers.heldRevision(), 20, "a fetch under way holds however long it takes");
  for (let c = await chunks.next(); !c.done; c = await chunks.next());
  now += 4_000;
  assert.equal(offers.heldRevision(), 20, "held for the hold time after the fetch read last");
  now += 1_000;
  assert.equal(offers.heldRevision(), undefined);
  offers.close();
});

test("peer connections open with 2 MiB HTTP/2 windows on both ends (the stream and the connection)", async () => {
  const server = await listenHttp2("127.0.0.1", 0, {
    routes: () => {},
    health: () => [200, {}],
    ready: () => [200, {}],
    metrics: async () => "",
    metricsContentType: "text/plain",
  });
  const clients = new PeerClients({});
  try {
    const stream = await clients.get(`http://127.0.0.1:${server.port}`).openStream("/omnimeta.v1.PeerService/Nothing", {});
    await new Promise<void>((resolve) => {
      stream.on("response", () => resolve());
      stream.on("error", () => resolve());
    });
    const session = stream.session!;
    assert.equal(session.localSettings.initialWindowSize, peerWindowBytes, "our streams' receive window");
    assert.equal(session.state.localWindowSize, peerWindowBytes, "our connection's receive window");
    assert.equal(session.remoteSettings.initialWindowSize, peerWindowBytes, "the server's streams' receive window");
    assert.ok((session.state.remoteWindowSize ?? 0) > 65_535, `the server's connection window was raised (${session.state.remoteWindowSize})`);
    stream.close();
  } finally {
    clients.close();
    await server.close();
  }
});
