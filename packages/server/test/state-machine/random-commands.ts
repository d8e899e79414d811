// Seeded random command sequences for state-machine and storage tests (small key space so that
// preconditions, deletes and request-id retries collide often).

import type { Command, Precondition } from "../../src/state-machine/command.ts";

/** mulberry32: a tiny deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomCommands(seed: number, count: number): Command[] {
  const rnd = prng(seed);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const out: Command[] = [];
  for (let i = 0; i < count; i++) {
    const key = `k/${pick(8)}`;
    const r = rnd();
    const precondition: Precondition =
      r < 0.6 ? { kind: "none" } : r < 0.8 ? { kind: "doesNotExist" } : { kind: "matchesVersion", version: pick(4) };
    // Reuse an earlier request id now and then: a client retry.
    const requestId = rnd() < 0.1 && i > 0 ? `req-${pick(i)}` : rnd() < 0.1 ? "" : `req-${i}`;
    const kind = rnd();
    if (kind < 0.65) out.push({ kind: "put", key, value: new Uint8Array([i & 0xff, pick(256)]), precondition, requestId });
    else if (kind < 0.9) out.push({ kind: "delete", key, precondition, requestId });
    else if (kind < 0.97) out.push({ kind: "noop" });
    else out.push({ kind: "members", clusterId: "c1", members: [{ nodeId: pick(5) + 1, name: `n${i}`, address: `http://h:${i}`, storageId: `s${i}` }] });
  }
  return out;
}
