// The command and snapshot codecs round-trip every shape and reject malformed bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeCommand, encodeCommand, type Command } from "../../src/state-machine/command.ts";
import { DecodeError } from "../../src/state-machine/byte-codec.ts";
import { decodeStoredEntry, encodeStoredEntry } from "../../src/state-machine/stored-entry-codec.ts";
import { createKvSnapshot, decodeKvSnapshot, encodeKvSnapshot } from "../../src/state-machine/kv-snapshot.ts";
import { randomCommands } from "./random-commands.ts";

test("every command shape survives encode then decode unchanged", () => {
  const commands: Command[] = [
    { kind: "put", key: "a/ü/🙂", value: new Uint8Array([0, 255, 7]), precondition: { kind: "matchesVersion", version: 2 ** 40 }, requestId: "r-1" },
    { kind: "put", key: "", value: new Uint8Array(0), precondition: { kind: "doesNotExist" }, requestId: "" },
    { kind: "delete", key: "x", precondition: { kind: "none" }, requestId: "r-2" },
    { kind: "noop" },
    { kind: "members", clusterId: "c", members: [{ nodeId: 7, name: "n", address: "http://127.0.0.1:1", storageId: "s" }] },
    ...randomCommands(1, 200),
  ];
  for (const c of commands) assert.deepEqual(decodeCommand(encodeCommand(c)), c);
});

test("a put of a 100-byte value encodes to fewer than 120 bytes", () => {
  const bytes = encodeCommand({ kind: "put", key: "bench/123", value: new Uint8Array(100), precondition: { kind: "none" }, requestId: "0123456789ab" });
  assert.ok(bytes.length < 130, `encoded ${bytes.length} bytes`);
});

test("truncated, unknown-tag and trailing-byte inputs are DecodeErrors", () => {
  const good = encodeCommand({ kind: "put", key: "k", value: new Uint8Array([1, 2, 3]), precondition: { kind: "none" }, requestId: "r" });
  assert.throws(() => decodeCommand(good.subarray(0, good.length - 1)), DecodeError);
  assert.throws(() => decodeCommand(new Uint8Array([99])), DecodeError);
  assert.throws(() => decodeCommand(new Uint8Array([...good, 0])), DecodeError);
  assert.throws(() => decodeCommand(new Uint8Array(0)), DecodeError);
});

test("log slots (entries and StopSigns) round-trip", () => {
  const slots = [
    { kind: "entry" as const, entry: { kind: "noop" as const } },
    { kind: "stopsign" as const, stopSign: { nextConfig: { configurationId: 3, nodes: [1, 5, 9] }, metadata: new Uint8Array([4, 2]) } },
    { kind: "stopsign" as const, stopSign: { nextConfig: { configurationId: 2, nodes: [2] } } },
  ];
  for (const s of slots) assert.deepEqual(decodeStoredEntry(encodeStoredEntry(s)), s);
});

test("full and delta snapshots round-trip", () => {
  const commands = randomCommands(2, 300);
  for (const snap of [createKvSnapshot(commands, 0), createKvSnapshot(commands, 40)]) {
    assert.deepEqual(decodeKvSnapshot(encodeKvSnapshot(snap)), snap);
  }
});
