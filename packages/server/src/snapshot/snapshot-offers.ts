// The sender's side of a state transfer. A stored snapshot handle that must go to a peer (a joiner, or a
// follower behind the trimmed log) leaves as an offer: a consistent copy of this node's tables at one
// applied revision (an online backup, stepped between turns), which the receiver pulls in chunks of at
// most 1 MiB over FetchSnapshot. The chunks are encoded from rows as the stream is pulled, so the sender
// holds one chunk at a time whatever the state's size, and HTTP/2 flow control makes a slow receiver slow
// the encoder instead of letting it buffer.
//
// One offer is current at a time and serves every receiver and every re-send of the core's sync message:
// copying afresh per re-send was what stalled a leader into repeated elections. An offer goes once it is
// superseded or unused for a while, and never while a fetch is reading it.
//
// An offer holds log compaction at its revision (heldRevision), so that its receiver continues from the log
// after the snapshot, but only while somebody pulls it: the hold lapses once no fetch has read the offer for
// `holdMs` (default 30 s). Re-sends do not renew it. Without the lapse, the resend timer of a leader whose
// follower is down renewed the offer, and with it the hold, for as long as the follower stayed down, and the
// log grew without bound. The lapse is safe: every message that carries an offer also carries the log
// suffix from that offer's revision, and an offer older than the message's snapshot is never handed out
// (offer()), so compacting past a lapsed offer only costs a late receiver a second snapshot.

import { randomUUID } from "node:crypto";
import { crc32 } from "./crc32.ts";
import type { Logger } from "../log.ts";
import type { OfferedKvSnapshot } from "../state-machine/kv-snapshot.ts";
import { snapshotChunkBytesMax, snapshotChunks } from "./save-snapshot.ts";
import { removeCopy, SqliteSnapshotSource, type BackupSource } from "./sqlite-snapshot-source.ts";

/** An offer unused (no fetch, no re-send) for this long is dropped with its copy. */
const offerIdleMs = 30_000;
/** An offer that no fetch has read for this long no longer holds compaction (the default of limits.snapshotOfferHoldMs). */
export const offerHoldMsDefault = 30_000;

interface Offer {
  transferId: string;
  revision: number;
  records: number;
  path: string;
  fetches: number;
  usedAt: number;
  /** When the offer was made or a fetch last read it: it holds compaction until heldAt + holdMs. */
  heldAt: number;
  /** The lapse of the hold was logged. */
  lapseLogged: boolean;
  /** Transfers begun (the unsafe corrupt-transfer flag spoils the first). */
  served: number;
}

/** One chunk of an offered snapshot as FetchSnapshot sends it. */
export interface OfferChunk {
  offset: number;
  data: Uint8Array;
  crc32: number;
}

export class UnknownOfferError extends Error {
  override name = "UnknownOfferError";
}

export class SnapshotOffers {
  private current: Offer | undefined;
  /** Superseded offers that a fetch still reads. */
  private readonly retired = new Set<Offer>();
  private copying = false;
  private closed = false;
  /** Receivers pulling an offer now: node id -> transfer id. */
  private readonly fetching = new Map<number, string>();

  constructor(
    private readonly store: BackupSource,
    private readonly dataDir: string,
    private readonly selfId: number,
    private readonly logger: Logger,
    /** Chunk bytes are counted here (state-transfer metrics). */
    private readonly onSent: (bytes: number) => void,
    private readonly chunkBytesMax = snapshotChunkBytesMax,
    private readonly holdMs = offerHoldMsDefault,
    /** The clock (injectable for tests). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The offer for a snapshot of at least `lastRevision`, or undefined while its copy is being made (the
   * caller drops its message, as the network may; the core re-sends it, and by then the copy is ready).
   * Any copy at revision >= lastRevision serves: slots up to its revision are decided. `mayCopy` false (the
   * receiver is unreachable: the message would be lost anyway) hands out a copy already made but does not
   * start one, so a leader whose follower is down does not copy its whole state at every re-send.
   */
  offer(lastRevision: number, mayCopy = true): OfferedKvSnapshot | undefined {
    const c = this.current;
    if (c !== undefined && c.revision >= lastRevision) {
      c.usedAt = this.now();
      return { kind: "offer", lastRevision: c.revision, transferId: c.transferId, from: this.selfId, records: c.records };
    }
    if (mayCopy && !this.copying && !this.closed) void this.makeCopy(lastRevision);
    return undefined;
  }

  private async makeCopy(lastRevision: number): Promise<void> {
    this.copying = true;
    const started = this.now();
    let path: string | undefined;
    try {
      path = await SqliteSnapshotSource.copy(this.store, this.dataDir);
      const source = SqliteSnapshotSource.openCopy(path, false);
      let records: number;
      let revision: number;
      try {
        records = source.keyCount + source.dedupCount();
        revision = source.revision;
      } finally {
        source.close();
      }
      if (this.closed || revision < lastRevision) {
        removeCopy(path);
        return;
      }
      this.retire(this.current);
      const now = this.now();
      this.current = { transferId: randomUUID(), revision, records, path, fetches: 0, usedAt: now, heldAt: now, lapseLogged: false, served: 0 };
      this.logger.info("snapshot offered to peers", { transferId: this.current.transferId, revision, records, copyMs: Math.round(now - started) });
    } catch (e) {
      if (path !== undefined) removeCopy(path);
      this.logger.warn("snapshot copy for a peer failed; retrying at the next re-send", { error: (e as Error).message });
    } finally {
      this.copying = false;
    }
  }

  /**
   * The oldest revision a receiver of an offer may still need the log from: the revision of the oldest offer
   * held (current, or retired while read). Log compaction stops there (node/compaction.ts), so a receiver
   * continues from the log after its snapshot instead of needing another one. Undefined without offers.
   * An offer holds only while it is read, or was made or read less than holdMs ago (see the header).
   */
  heldRevision(): number | undefined {
    let oldest: number | undefined;
    const now = this.now();
    for (const o of this.current === undefined ? this.retired : [this.current, ...this.retired]) {
      if (o.fetches === 0 && now - o.heldAt >= this.holdMs) {
        if (!o.lapseLogged) {
          o.lapseLogged = true;
          this.logger.info("a snapshot offer no longer holds log compaction: no peer has fetched it", { transferId: o.transferId, revision: o.revision, holdMs: this.holdMs });
        }
        continue;
      }
      oldest = oldest === undefined ? o.revision : Math.min(oldest, o.revision);
    }
    return oldest;
  }

  /** Node `to` is pulling offer `transferId` now. */
  isFetching(to: number, transferId: string): boolean {
    return this.fetching.get(to) === transferId;
  }

  /** The chunks of offer `transferId`, encoded as they are pulled. Throws UnknownOfferError for an offer not (or no longer) held. */
  async *chunks(transferId: string, clusterId: string, to: number, corruptFirst = false): AsyncGenerator<OfferChunk> {
    const offer = this.current?.transferId === transferId ? this.current : [...this.retired].find((o) => o.transferId === transferId);
    if (offer === undefined || this.closed) throw new UnknownOfferError(`no snapshot offer ${transferId} here (it was superseded or expired); wait for the next one`);
    offer.fetches++;
    offer.usedAt = offer.heldAt = this.now();
    const corrupt = corruptFirst && offer.served++ === 0;
    const source = SqliteSnapshotSource.openCopy(offer.path, false);
    const started = performance.now();
    let offset = 0;
    this.logger.info("snapshot transfer to a peer started", { to, transferId, revision: offer.revision, records: offer.records });
    let finished = false;
    this.fetching.set(to, transferId);
    try {
      for await (const data of snapshotChunks(source, clusterId, this.chunkBytesMax, true)) {
        const chunk = { offset, data, crc32: crc32(data) };
        if (corrupt && offset === 0) chunk.data = flipLastByte(data); // unsafe corrupt-transfer: in flight, after the CRC
        offset += data.length;
        this.onSent(data.length);
        yield chunk;
        offer.usedAt = offer.heldAt = this.now();
      }
      finished = true;
      this.logger.info("snapshot transfer to a peer finished", { to, transferId, bytes: offset, ms: Math.round(performance.now() - started) });
    } finally {
      if (!finished) this.logger.info("snapshot transfer to a peer ended early", { to, transferId, bytes: offset });
      offer.fetches--;
      if (this.fetching.get(to) === transferId) this.fetching.delete(to);
      if (offer !== this.current) this.retire(offer);
    }
  }

  /** Drops offers unused for a while (each holds a copy of the state on disk). Call now and then (the tick). */
  releaseIdle(): void {
    const c = this.current;
    if (c !== undefined && c.fetches === 0 && this.now() - c.usedAt >= offerIdleMs) {
      this.current = undefined;
      this.retire(c);
    }
  }

  /** Removes every copy no fetch is reading; later fetches are refused. */
  close(): void {
    this.closed = true;
    this.retire(this.current);
    this.current = undefined;
  }

  private retire(offer: Offer | undefined): void {
    if (offer === undefined) return;
    if (offer.fetches > 0) {
      this.retired.add(offer);
      return;
    }
    this.retired.delete(offer);
    removeCopy(offer.path);
  }
}

function flipLastByte(data: Uint8Array): Uint8Array {
  const out = Uint8Array.from(data);
  out[out.length - 1]! ^= 0xff;
  return out;
}
