// The receiver's side of a state transfer. A sync message (AcceptSync, Promise, CatchUp) whose snapshot is
// an offer (kv-snapshot.ts OfferedKvSnapshot) is held back from the core while the snapshot is pulled from
// its sender (PeerService.FetchSnapshot, snapshot/snapshot-offers.ts):
//  - each chunk is checked on arrival (its offset, then its CRC-32) and its rows written to the staging area
//    (storage/transfer-staging.ts), so memory holds one chunk, whatever the state's size;
//  - the stream as a whole is checked at its end (record count, SHA-256, revision, cluster);
//  - only then is the message handed to the core, its snapshot now "staged": installing it swaps the staging
//    tables in, in the same commit as the snapshot record. A half-received snapshot is never used.
// Meanwhile the node keeps heartbeating, voting and answering everything else: only this one message waits.
// The core drops the leader's later AcceptDecides as out of order and the leader re-sends them once the sync
// is answered, as it does for any lost message.
//
// A failure (the sender died or moved on, a torn or corrupt chunk, a leader change) drops the held message
// and the partial rows; the core's re-send brings a fresh offer and the transfer starts over, from a clean
// staging area. A kill of the receiver loses nothing: the staging area is emptied when the node starts.

import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../log.ts";
import type { ServerMetrics } from "../metrics.ts";
import type { PeerClients } from "../peer/peer-clients.ts";
import { crc32 } from "../snapshot/crc32.ts";
import { readSnapshot, SnapshotFormatError, type SnapshotHeader } from "../snapshot/snapshot-format.ts";
import type { MemberDirectory } from "../state-machine/kv-backend.ts";
import type { OfferedKvSnapshot } from "../state-machine/kv-snapshot.ts";
import type { DedupRecord, KeyRecord } from "../state-machine/kv-types.ts";
import type { TransferStaging } from "../storage/transfer-staging.ts";
import type { AddressBook } from "./address-book.ts";
import type { CoreMessage } from "./replica.ts";

/** Rows written per staging transaction (a quarter of a chunk of 1 KiB values: what is decoded and waiting
 *  to be written is what the receiver holds, and a transaction without fsync costs ~15 us). */
const stageRowsMax = 256;
const stageBytesMax = 256 * 1024;
/** After a failed transfer, the same offer is not tried again for this long (the core re-sends often). */
const retryAfterMs = 1000;

/** Progress of the transfer under way, for ctl cluster status. */
export interface TransferProgress {
  fromNodeId: number;
  revision: number;
  bytesReceived: number;
  recordsReceived: number;
  recordsTotal: number;
  startedAtUnixMs: number;
}

export interface StateTransferDeps {
  selfId: number;
  clusterId: () => string;
  staging: TransferStaging;
  clients: PeerClients;
  addresses: AddressBook;
  logger: Logger;
  metrics: ServerMetrics;
  /** Hands the held message to the core, its snapshot replaced by the staged one. */
  deliver(message: CoreMessage): void;
}

/** A chunk that fails its checks: the stream is torn or corrupt. */
export class CorruptChunkError extends Error {
  override name = "CorruptChunkError";
}

interface Transfer {
  offer: OfferedKvSnapshot;
  /** The latest message carrying this offer (a re-send may carry a later ballot or more entries). */
  message: CoreMessage;
  abort: AbortController;
  progress: TransferProgress;
}

export class StateTransfer {
  private current: Transfer | undefined;
  private failed: { transferId: string; at: number } | undefined;
  private closed = false;

  constructor(private readonly d: StateTransferDeps) {}

  progress(): TransferProgress | undefined {
    return this.current === undefined ? undefined : { ...this.current.progress };
  }

  /** A message whose sync snapshot is `offer`: pull the snapshot, then deliver the message. */
  offered(message: CoreMessage, offer: OfferedKvSnapshot): void {
    if (this.closed) return;
    const c = this.current;
    if (c !== undefined) {
      if (c.offer.transferId === offer.transferId) {
        c.message = message;
        return;
      }
      // The same sender offering a newer copy (it compacted again): finish the one under way, or a busy
      // cluster that compacts faster than a transfer runs would restart it forever. Its message still serves.
      if (c.offer.from === offer.from) return;
      // Another sender: the leader changed, and the held message is from a ballot that is over.
      c.abort.abort(new Error(`superseded by an offer from node ${offer.from}`));
    }
    if (this.d.staging.completed(offer.transferId) !== undefined) {
      // Already here in full (the core refused the message that carried it, e.g. its ballot was over): the
      // re-sent message can have it as it is, without a second fetch.
      this.d.deliver(withSyncSnapshot(message, { kind: "staged", lastRevision: offer.lastRevision, transferId: offer.transferId }));
      return;
    }
    const f = this.failed;
    if (f !== undefined && f.transferId === offer.transferId && performance.now() - f.at < retryAfterMs) return;
    const t: Transfer = {
      offer,
      message,
      abort: new AbortController(),
      progress: { fromNodeId: offer.from, revision: offer.lastRevision, bytesReceived: 0, recordsReceived: 0, recordsTotal: offer.records, startedAtUnixMs: Date.now() },
    };
    this.current = t;
    void this.run(t);
  }

  close(): void {
    this.closed = true;
    this.current?.abort.abort(new Error("node is shutting down"));
  }

  private async run(t: Transfer): Promise<void> {
    const { offer } = t;
    const started = performance.now();
    this.d.logger.info("snapshot transfer started", { from: offer.from, transferId: offer.transferId, revision: offer.lastRevision, records: offer.records });
    try {
      await this.d.staging.begin(offer.transferId);
      t.abort.signal.throwIfAborted();
      const directory = await this.fetch(t);
      t.abort.signal.throwIfAborted();
      this.d.staging.markComplete({ transferId: offer.transferId, revision: offer.lastRevision, directory });
      this.d.logger.info("snapshot transfer finished", {
        from: offer.from, transferId: offer.transferId, revision: offer.lastRevision,
        bytes: t.progress.bytesReceived, records: t.progress.recordsReceived, ms: Math.round(performance.now() - started),
      });
      this.current = undefined;
      this.d.deliver(withSyncSnapshot(t.message, { kind: "staged", lastRevision: offer.lastRevision, transferId: offer.transferId }));
    } catch (e) {
      if (this.current === t) this.current = undefined;
      this.failed = { transferId: offer.transferId, at: performance.now() };
      this.d.metrics.stateTransferFailures.inc();
      const why = t.abort.signal.aborted ? String((t.abort.signal.reason as Error)?.message ?? t.abort.signal.reason) : (e as Error).message;
      this.d.logger.warn("snapshot transfer failed; it starts over with the next offer", {
        from: offer.from, transferId: offer.transferId, bytes: t.progress.bytesReceived, error: why,
      });
    }
  }

  /** Pulls and stages every record; returns the directory the stream carried. */
  private async fetch(t: Transfer): Promise<MemberDirectory | undefined> {
    const { offer } = t;
    const address = this.d.addresses.get(offer.from);
    if (address === undefined) throw new Error(`no address known for node ${offer.from}`);
    const responses = this.d.clients.get(address).peer.fetchSnapshot(
      { clusterId: this.d.clusterId(), transferId: offer.transferId, from: BigInt(this.d.selfId) },
      { signal: t.abort.signal },
    );
    let header: SnapshotHeader | undefined;
    let directory: MemberDirectory | undefined;
    let keys: KeyRecord[] = [];
    let dedup: Array<[string, DedupRecord]> = [];
    let batchBytes = 0;
    const stage = (): void => {
      t.abort.signal.throwIfAborted();
      this.d.staging.stage(offer.transferId, keys, dedup);
      t.progress.recordsReceived += keys.length + dedup.length;
      keys = [];
      dedup = [];
      batchBytes = 0;
    };
    const chunks = verifiedChunks(responses, (bytes) => {
      t.progress.bytesReceived += bytes;
      this.d.metrics.addStateTransferBytes("received", bytes);
    });
    for await (const record of readSnapshot(chunks)) {
      switch (record.kind) {
        case "header":
          header = record.header;
          if (header.revision !== offer.lastRevision) throw new CorruptChunkError(`the snapshot is at revision ${header.revision}, the offer said ${offer.lastRevision}`);
          if (header.clusterId !== this.d.clusterId()) throw new CorruptChunkError(`the snapshot is of cluster ${header.clusterId}, not ${this.d.clusterId()}`);
          break;
        case "key":
          keys.push(record.key);
          batchBytes += record.key.key.length + record.key.value.length;
          break;
        case "dedup":
          dedup.push([record.id, record.record]);
          batchBytes += record.id.length + 64;
          break;
        case "directory":
          directory = record.directory;
          break;
      }
      if (keys.length + dedup.length >= stageRowsMax || batchBytes >= stageBytesMax) stage();
    }
    stage();
    if (header === undefined) throw new CorruptChunkError("the snapshot stream had no header");
    return directory;
  }
}

/** The data of each chunk, after checking that it continues the stream (offset) and is intact (CRC-32). */
export async function* verifiedChunks(
  responses: AsyncIterable<{ offset: bigint; data: Uint8Array; crc32: number }>,
  onBytes: (bytes: number) => void = () => {},
): AsyncGenerator<Uint8Array> {
  let offset = 0;
  try {
    for await (const chunk of responses) {
      if (Number(chunk.offset) !== offset) throw new CorruptChunkError(`torn snapshot stream: a chunk at byte ${chunk.offset}, expected ${offset}`);
      if (crc32(chunk.data) !== chunk.crc32) throw new CorruptChunkError(`corrupt snapshot chunk at byte ${offset}: CRC-32 mismatch`);
      offset += chunk.data.length;
      onBytes(chunk.data.length);
      yield chunk.data;
    }
  } catch (e) {
    if (e instanceof CorruptChunkError || e instanceof SnapshotFormatError) throw e;
    if (e instanceof ConnectError && e.code === Code.NotFound) throw new Error(`the sender no longer offers this snapshot: ${e.rawMessage}`);
    throw e;
  }
}

type SyncCarrier = Extract<CoreMessage, { kind: "AcceptSync" | "Promise" | "CatchUp" }>;

/** The snapshot offered by `m`'s sync payload, if any. */
export function offerIn(m: CoreMessage): OfferedKvSnapshot | undefined {
  if (m.kind !== "AcceptSync" && m.kind !== "Promise" && m.kind !== "CatchUp") return undefined;
  const s = (m as SyncCarrier).sync?.snapshot?.snapshot;
  return s?.kind === "offer" ? s : undefined;
}

/** `m` with the snapshot of its sync payload replaced (same compacted index). */
export function withSyncSnapshot(m: CoreMessage, snapshot: NonNullable<NonNullable<SyncCarrier["sync"]>["snapshot"]>["snapshot"]): CoreMessage {
  const sync = (m as SyncCarrier).sync!;
  return { ...m, sync: { ...sync, snapshot: { compactedIdx: sync.snapshot!.compactedIdx, snapshot } } } as CoreMessage;
}

/** `m` with its sync payload's snapshot dropped: the same entries, from the snapshot's compacted index. */
export function withoutSyncSnapshot(m: CoreMessage): CoreMessage {
  const sync = (m as SyncCarrier).sync!;
  const { snapshot, ...rest } = sync;
  return { ...m, sync: { ...rest, fromIdx: snapshot!.compactedIdx } } as CoreMessage;
}
