// bench:core — 3 in-memory OmniPaxos nodes, no faults, messages passed by reference. Prints one
// JSON line: decided entries/s (all three nodes decided them) with batching and pipelining; the
// leader trims decided slots periodically so memory stays bounded.
// Usage: npm run bench:core [-- --seconds 3 --batch 1000 --window 8]
import { MemoryStorage, OmniPaxos, type Message } from "../src/index.ts";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const seconds = arg("seconds", 3);
const batchSize = arg("batch", 1000);
/** Batches the client keeps in flight (pipelining). */
const window = arg("window", 8);
const pids = [1, 2, 3];
const nodes = new Map<number, OmniPaxos<number, never>>();
for (const pid of pids) {
  nodes.set(pid, new OmniPaxos<number, never>({ cluster: { configurationId: 1, nodes: pids }, server: { pid, batchSize } }, new MemoryStorage<number, never>()));
}

let messages = 0;
function pump(): void {
  for (let round = 0; round < 100; round++) {
    let moved = 0;
    for (const op of nodes.values()) {
      const out: Message<number, never>[] = op.takeOutgoingMessages();
      for (const m of out) {
        nodes.get(m.to)!.handleIncoming(m);
        moved++;
      }
    }
    messages += moved;
    if (moved === 0) return;
  }
}

// Elect a leader.
let leader: number | undefined;
for (let t = 0; t < 200 && leader === undefined; t++) {
  for (const op of nodes.values()) op.tick();
  pump();
  const l = nodes.get(1)!.getCurrentLeader();
  if (l !== undefined && pids.every((p) => nodes.get(p)!.getCurrentLeader() === l) && nodes.get(l)!.getStatus().phase === "accept") leader = l;
}
if (leader === undefined) throw new Error("no leader elected");
const lead = nodes.get(leader)!;

const minDecided = (): number => Math.min(...pids.map((p) => nodes.get(p)!.getDecidedIdx()));
const start0 = minDecided();
let next = 0;
const t0 = performance.now();
const deadline = t0 + seconds * 1000;
let iterations = 0;
while (performance.now() < deadline) {
  // Keep `window` batches in flight: the client never waits for a decision before proposing more.
  while (next - minDecided() < window * batchSize) {
    for (let i = 0; i < batchSize; i++) lead.append(next++);
  }
  pump();
  if (++iterations % 64 === 0) {
    for (const op of nodes.values()) op.tick();
    // Keep memory bounded like a real deployment: drop slots every node has decided.
    lead.trim();
  }
}
pump();
const elapsedS = (performance.now() - t0) / 1000;
const decided = minDecided() - start0;
console.log(JSON.stringify({
  bench: "omnipaxos-core", nodes: 3, batchSize, windowBatches: window, seconds: Number(elapsedS.toFixed(3)),
  decidedEntries: decided, decidedEntriesPerSec: Math.round(decided / elapsedS), messages,
}));
