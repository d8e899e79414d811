// The KV snapshot handed to the OmniPaxos core for compaction (create/merge) and its codec.
// A snapshot anchored at the start of the log is resolved to the full state; any other is a
// delta of commands, because a conditional write cannot be resolved without the state before it.

import type { SnapshotSpec, StoredEntry } from "@omnimeta/omnipaxos";
import { ByteReader, ByteWriter, DecodeError } from "./byte-codec.ts";
import { type Command, readCommand, readMembers, writeCommand, writeMembers } from "./command.ts";
import type { KvFullState } from "./kv-backend.ts";
import { KvStateMachine } from "./kv-state-machine.ts";
import type { StateMachineLimits } from "./limits.ts";
import { DEFAULT_STATE_MACHINE_LIMITS } from "./limits.ts";
import { MemoryKvBackend } from "./memory-kv-backend.ts";
import { readApplyResult, writeApplyResult, type DedupRecord } from "./kv-types.ts";

/** The complete replicated state after applying every entry up to lastRevision. */
export interface FullKvSnapshot {
  kind: "full";
  lastRevision: number;
  state: KvFullState;
}

/** The commands of revisions firstRevision..lastRevision (slots without a command are absent). */
export interface DeltaKvSnapshot {
  kind: "delta";
  firstRevision: number;
  lastRevision: number;
  commands: Array<{ revision: number; command: Command }>;
}

/**
 * This node's own state tables, standing for the state at lastRevision: the snapshot a node's compaction
 * makes. It is O(1): the applied state in SQLite already is the snapshot, so compaction neither resolves
 * the state in memory nor writes it again (it took 22.5 s with the node paused at 1M keys, and held the
 * whole state in the core). The tables are at the applied revision A >= lastRevision, committed in the
 * same transaction as the snapshot record, so they never stand for less than the record says.
 *
 * It is a handle, so it never leaves the node: sent to a peer it is exported as the full state at A
 * (Replica.send, snapshot/export-snapshot.ts), and one received from a peer is refused. Shipping state at A for slots [0, lastRevision)
 * is safe: slots lastRevision..A-1 were decided (A <= decidedIdx on the sender), so the receiver's log
 * holds the same commands there, and its apply loop skips slots below its applied revision.
 */
export interface StoredKvSnapshot {
  kind: "stored";
  lastRevision: number;
}

/**
 * A stored handle as it goes to a peer: not the state but an offer of it. The sender keeps a consistent
 * copy of its tables at lastRevision (snapshot/snapshot-offers.ts) and the receiver pulls it in bounded
 * chunks (FetchSnapshot) before its core sees the message (node/state-transfer.ts). Sending the state
 * itself in the message held it whole in memory on both sides (1.7 GB on a 200 MB join).
 */
export interface OfferedKvSnapshot {
  kind: "offer";
  lastRevision: number;
  transferId: string;
  /** The offering node (where to fetch it). */
  from: number;
  /** Keys plus de-dup records in it (for progress). */
  records: number;
}

/**
 * A received snapshot, complete and checked in this node's staging area, handed to the core in place of
 * the offer. When the core installs it (Storage.setSnapshot) the staging tables are swapped in and it is
 * recorded as a stored handle (storage/node-store.ts). Never sent, never stored.
 */
export interface StagedKvSnapshot {
  kind: "staged";
  lastRevision: number;
  transferId: string;
}

export type KvSnapshot = FullKvSnapshot | DeltaKvSnapshot | StoredKvSnapshot | OfferedKvSnapshot | StagedKvSnapshot;

const NO_HISTORY: StateMachineLimits = { ...DEFAULT_STATE_MACHINE_LIMITS, watchHistoryRevisions: 0 };

function fullFromMachine(machine: KvStateMachine): FullKvSnapshot {
  const state = machine.exportState();
  return { kind: "full", lastRevision: state.appliedRevision, state };
}

function machineFrom(snapshot: FullKvSnapshot | undefined): KvStateMachine {
  const backend = new MemoryKvBackend();
  if (snapshot) backend.importState(snapshot.state);
  return new KvStateMachine(backend, NO_HISTORY);
}

/**
 * Builds the snapshot of `commands`, the entries at 0-based log indexes firstIdx.. (revisions
 * firstIdx+1..). `slotCount` (default commands.length) is the number of log slots covered, when
 * slots without a command (StopSigns) are among them; `revisions` gives each command's revision
 * when slots are skipped. From firstIdx 0 the result is resolved to the full state.
 */
export function createKvSnapshot(commands: readonly Command[], firstIdx: number, revisions?: readonly number[], slotCount?: number): KvSnapshot {
  const revisionOf = (i: number): number => revisions?.[i] ?? firstIdx + i + 1;
  const lastRevision = firstIdx + (slotCount ?? commands.length);
  if (firstIdx === 0) {
    const machine = machineFrom(undefined);
    commands.forEach((c, i) => machine.apply(revisionOf(i), c));
    if (machine.appliedRevision < lastRevision) machine.skip(lastRevision);
    return fullFromMachine(machine);
  }
  return {
    kind: "delta",
    firstRevision: firstIdx + 1,
    lastRevision,
    commands: commands.map((command, i) => ({ revision: revisionOf(i), command })),
  };
}

/** `base` followed by `delta`. Full + anything resolves; delta + delta concatenates. */
export function mergeKvSnapshots(base: KvSnapshot, delta: KvSnapshot): KvSnapshot {
  if (base.kind === "stored" || delta.kind === "stored") throw new RangeError("a stored snapshot is merged by storedKvSnapshotSpec, with its state machine");
  if (base.kind === "offer" || base.kind === "staged" || delta.kind === "offer" || delta.kind === "staged") {
    throw new RangeError(`a${base.kind === "offer" || delta.kind === "offer" ? "n offered" : " staged"} snapshot is installed, never merged`);
  }
  if (delta.kind === "full") return delta.lastRevision >= base.lastRevision ? delta : base;
  if (delta.lastRevision <= base.lastRevision) return base;
  if (delta.firstRevision > base.lastRevision + 1) {
    throw new RangeError(`snapshot gap: base ends at revision ${base.lastRevision}, delta starts at ${delta.firstRevision}`);
  }
  const fresh = delta.commands.filter((c) => c.revision > base.lastRevision);
  if (base.kind === "full") {
    const machine = machineFrom(base);
    for (const { revision, command } of fresh) machine.apply(revision, command);
    if (machine.appliedRevision < delta.lastRevision) machine.skip(delta.lastRevision);
    return fullFromMachine(machine);
  }
  return { kind: "delta", firstRevision: base.firstRevision, lastRevision: delta.lastRevision, commands: [...base.commands, ...fresh] };
}

/** Snapshot of log slots firstIdx.. as the core stores them (StopSign slots carry no command). */
export function createKvSnapshotOfSlots(slots: readonly StoredEntry<Command>[], firstIdx: number): KvSnapshot {
  const commands: Command[] = [];
  const revisions: number[] = [];
  slots.forEach((slot, k) => {
    if (slot.kind === "entry") {
      commands.push(slot.entry);
      revisions.push(firstIdx + k + 1);
    }
  });
  return createKvSnapshot(commands, firstIdx, revisions, slots.length);
}

/** The state machine a node compacts: it stands for every snapshot up to its applied revision. */
export interface AppliedState {
  readonly appliedRevision: number;
  exportState(): KvFullState;
}

/** The full state of `machine` (at its applied revision): a stored handle resolved in memory (a merge past
 *  the applied revision). What leaves the node is exported off the hot path instead (snapshot/export-snapshot.ts). */
export function materialize(machine: AppliedState): FullKvSnapshot {
  const state = machine.exportState();
  return { kind: "full", lastRevision: state.appliedRevision, state };
}

/**
 * The snapshot spec of a node whose state machine is `machine`: a snapshot up to a revision the machine
 * has applied is the stored handle (O(1)); anything else resolves as kvSnapshotSpec does, starting from
 * the machine's state when the base is a handle (state at A plus the delta's commands above A).
 */
export function storedKvSnapshotSpec(machine: AppliedState): SnapshotSpec<Command, KvSnapshot> {
  const stored = (lastRevision: number): StoredKvSnapshot => ({ kind: "stored", lastRevision });
  return {
    // Our own tables are the state at the applied revision: any prefix up to it is a handle, made in O(1).
    snapshotOfPrefix: (idx) => (idx <= machine.appliedRevision ? stored(idx) : undefined),
    create: (slots, firstIdx) => {
      if (firstIdx === 0 && slots.length <= machine.appliedRevision) return stored(slots.length);
      return createKvSnapshotOfSlots(slots, firstIdx);
    },
    merge: (base, delta) => {
      if (delta.lastRevision <= base.lastRevision) return base;
      if (delta.kind !== "delta" || delta.firstRevision > base.lastRevision + 1) return mergeKvSnapshots(base, delta);
      if (delta.lastRevision <= machine.appliedRevision) return stored(delta.lastRevision);
      return mergeKvSnapshots(base.kind === "stored" ? materialize(machine) : base, delta);
    },
  };
}

/** The application's snapshot spec for the core: create(slots, firstIdx) and merge(base, delta). */
export const kvSnapshotSpec: SnapshotSpec<Command, KvSnapshot> & { equals(a: KvSnapshot, b: KvSnapshot): boolean } = {
  create: createKvSnapshotOfSlots,
  merge: mergeKvSnapshots,
  equals: (a, b) => Buffer.from(encodeKvSnapshot(a)).equals(encodeKvSnapshot(b)),
};

const S_FULL = 1;
const S_DELTA = 2;
/** S_FULL with each de-dup record's target (kv-types dedupTargetOf) after its result. */
const S_FULL_TARGETS = 3;
/** A StoredKvSnapshot: the node's own tables (only ever in its own state table, never on the wire). */
const S_STORED = 4;

export function encodeKvSnapshot(snapshot: KvSnapshot): Uint8Array {
  if (snapshot.kind === "offer" || snapshot.kind === "staged") throw new RangeError(`a snapshot of kind ${snapshot.kind} is never encoded`);
  if (snapshot.kind === "stored") return new ByteWriter(16).u8(S_STORED).varint(snapshot.lastRevision).finish();
  const w = new ByteWriter(1024);
  if (snapshot.kind === "delta") {
    w.u8(S_DELTA).varint(snapshot.firstRevision).varint(snapshot.lastRevision).varint(snapshot.commands.length);
    for (const { revision, command } of snapshot.commands) {
      w.varint(revision);
      writeCommand(w, command);
    }
    return w.finish();
  }
  const { state } = snapshot;
  writeFullHeader(w, snapshot.lastRevision, state.keys.length);
  for (const k of state.keys) writeFullKey(w, k);
  w.varint(state.dedup.length);
  for (const [id, rec] of state.dedup) writeFullDedup(w, id, rec);
  writeFullDirectory(w, state.directory);
  return w.finish();
}

// The full format in pieces: header, the keys, the de-dup count and records, the directory. A de-dup record
// and the directory are also records of the state-transfer stream (snapshot/snapshot-format.ts).
export function writeFullHeader(w: ByteWriter, lastRevision: number, keyCount: number): void {
  w.u8(S_FULL_TARGETS).varint(lastRevision).varint(keyCount);
}
export function writeFullKey(w: ByteWriter, k: KvFullState["keys"][number]): void {
  w.string(k.key).bytes(k.value).varint(k.version).varint(k.createRevision).varint(k.modRevision);
}
export function writeFullDedup(w: ByteWriter, id: string, rec: DedupRecord): void {
  w.string(id).varint(rec.revision);
  writeApplyResult(w, rec.result);
  w.string(rec.target ?? "");
}
export function writeFullDirectory(w: ByteWriter, directory: KvFullState["directory"]): void {
  w.u8(directory ? 1 : 0);
  if (directory) {
    w.string(directory.clusterId);
    writeMembers(w, directory.members);
  }
}
export function readFullDedup(r: ByteReader, withTarget = true): [string, DedupRecord] {
  const id = r.string();
  const rec: DedupRecord = { revision: r.varint(), result: readApplyResult(r) };
  const target = withTarget ? r.string() : "";
  return [id, target === "" ? rec : { ...rec, target }];
}
export function readFullDirectory(r: ByteReader): KvFullState["directory"] {
  return r.u8() === 1 ? { clusterId: r.string(), members: readMembers(r) } : undefined;
}

export function decodeKvSnapshot(bytes: Uint8Array): KvSnapshot {
  const r = new ByteReader(bytes);
  const tag = r.u8();
  let snapshot: KvSnapshot;
  if (tag === S_DELTA) {
    const firstRevision = r.varint();
    const lastRevision = r.varint();
    const count = r.varint();
    const commands: DeltaKvSnapshot["commands"] = [];
    for (let i = 0; i < count; i++) commands.push({ revision: r.varint(), command: readCommand(r) });
    snapshot = { kind: "delta", firstRevision, lastRevision, commands };
  } else if (tag === S_FULL || tag === S_FULL_TARGETS) {
    const lastRevision = r.varint();
    const keys: KvFullState["keys"] = [];
    for (let i = r.varint(); i > 0; i--) {
      keys.push({ key: r.string(), value: r.bytes(), version: r.varint(), createRevision: r.varint(), modRevision: r.varint() });
    }
    const dedup: KvFullState["dedup"] = [];
    for (let i = r.varint(); i > 0; i--) dedup.push(readFullDedup(r, tag === S_FULL_TARGETS));
    const directory = readFullDirectory(r);
    snapshot = { kind: "full", lastRevision, state: { appliedRevision: lastRevision, keys, dedup, directory } };
  } else if (tag === S_STORED) {
    snapshot = { kind: "stored", lastRevision: r.varint() };
  } else {
    throw new DecodeError(`unknown snapshot tag ${tag}`);
  }
  r.end();
  return snapshot;
}

export const kvSnapshotCodec = { encode: encodeKvSnapshot, decode: decodeKvSnapshot } as const;
