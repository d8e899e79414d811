// The snapshot reader cut at every boundary: whatever the chunk sizes (one byte, a frame head split in two, a
// frame across three chunks, the checksum split), the same records come out, and a flipped byte or a missing
// tail is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readSnapshot, SnapshotEncoder, SnapshotFormatError, type SnapshotRecord } from "../../src/snapshot/snapshot-format.ts";

function encoded(keys: number): Buffer {
  const e = new SnapshotEncoder();
  const parts = [e.header({ revision: 1000, clusterId: "c1", keyCount: keys })];
  for (let i = 0; i < keys; i++) {
    parts.push(e.key({ key: `k/${String(i).padStart(4, "0")}`, value: Buffer.alloc(i % 7 === 0 ? 3000 : 40, i % 251), version: 1 + (i % 3), createRevision: i + 1, modRevision: i + 1 + (i % 5) }));
  }
  parts.push(e.end());
  return Buffer.concat(parts);
}

async function read(bytes: Buffer, sizes: (i: number) => number): Promise<SnapshotRecord[]> {
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes(i));
    chunks.push(Uint8Array.from(bytes.subarray(at, at + n))); // a copy, as a chunk off the wire is
    at += n;
  }
  const out: SnapshotRecord[] = [];
  for await (const r of readSnapshot((async function* () { yield* chunks; })())) out.push(r);
  return out;
}

const plain = (rs: SnapshotRecord[]) => rs.map((r) => (r.kind === "key" ? { ...r.key, value: Buffer.from(r.key.value).toString("hex") } : r));

test("the same records come out of a snapshot whatever its chunks", async () => {
  const bytes = encoded(120);
  const whole = plain(await read(bytes, () => bytes.length));
  assert.equal(whole.length, 121);
  for (const [name, sizes] of [
    ["1 byte", () => 1],
    ["2 bytes (frame heads split)", () => 2],
    ["7 bytes", () => 7],
    ["uneven", (i: number) => [1, 3, 5000, 2, 17, 4096, 5][i % 7]!],
    ["primes", (i: number) => [13, 101, 997, 3001][i % 4]!],
  ] as const) {
    assert.deepEqual(plain(await read(bytes, sizes)), whole, name);
  }
});

test("a flipped byte or a cut tail is refused at any chunking", async () => {
  const bytes = encoded(30);
  const flipped = Buffer.from(bytes);
  flipped[Math.floor(bytes.length / 2)] ^= 0x40;
  for (const n of [1, 5, 64, bytes.length]) {
    await assert.rejects(read(flipped, () => n), SnapshotFormatError, `flipped, chunks of ${n}`);
    await assert.rejects(read(bytes.subarray(0, bytes.length - 10), () => n), /truncated|checksum/, `cut, chunks of ${n}`);
  }
});
