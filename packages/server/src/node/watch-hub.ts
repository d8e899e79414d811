// Watch streams: history from a revision (the state machine's retained events), then live events
// published after each group commit. No gap and no duplicate between the two: live events are buffered
// from the moment the watch starts and those already delivered from history are skipped.

import { Code } from "@connectrpc/connect";
import type { KvStateMachine, SnapshotJump } from "../state-machine/kv-state-machine.ts";
import { WatchCompactedError } from "../state-machine/kv-state-machine.ts";
import type { WatchEvent, WatchFilter } from "../state-machine/kv-types.ts";
import { matchesFilter } from "../state-machine/kv-types.ts";
import { OpError } from "../rpc/op-error.ts";

const historyPageEvents = 1000;

interface Watcher {
  filter: WatchFilter;
  buffer: WatchEvent[];
  wake: (() => void) | undefined;
  overflow: boolean;
  /** A snapshot install skipped these revisions: the watch ends as compacted once it reaches them. */
  jump: SnapshotJump | undefined;
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private closed = false;

  /** unsafe watch-gap: live events published so far, to drop one in every `dropEveryEvents` (0: never). */
  private publishedCount = 0;

  constructor(private readonly machine: () => KvStateMachine, private readonly bufferEventsMax: number, private readonly dropEveryEvents = 0) {}

  get count(): number {
    return this.watchers.size;
  }

  /** Called after commit with the events it made durable, in revision order. */
  publish(events: readonly WatchEvent[], jump?: SnapshotJump): void {
    if (events.length === 0 && jump === undefined) return;
    for (const w of this.watchers) {
      if (jump !== undefined) w.jump = { from: w.jump?.from ?? jump.from, to: jump.to };
      for (const e of events) if (matchesFilter(w.filter, e.kv.key) && !this.unsafeDrop()) w.buffer.push(e);
      if (w.buffer.length > this.bufferEventsMax) w.overflow = true;
      if (w.wake) {
        const wake = w.wake;
        w.wake = undefined;
        wake();
      }
    }
  }

  private unsafeDrop(): boolean {
    return this.dropEveryEvents > 0 && ++this.publishedCount % this.dropEveryEvents === 0;
  }

  /** Ends every watch (node shutting down or removed). */
  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.wake?.();
  }

  /** Batches of events matching `filter`, from `startRevision` (0: from now on), until `signal` aborts. */
  async *watch(filter: WatchFilter, startRevision: number, signal: AbortSignal): AsyncGenerator<WatchEvent[]> {
    const w: Watcher = { filter, buffer: [], wake: undefined, overflow: false, jump: undefined };
    this.watchers.add(w);
    const onAbort = (): void => w.wake?.();
    signal.addEventListener("abort", onAbort);
    try {
      let delivered = startRevision === 0 ? this.machine().appliedRevision : startRevision - 1;
      if (startRevision !== 0) {
        // History first; live events that arrive meanwhile wait in w.buffer.
        for (;;) {
          const page = this.readHistory(filter, delivered + 1);
          if (page.length === 0) break;
          delivered = page[page.length - 1]!.revision;
          yield page;
          if (page.length < historyPageEvents) break;
        }
      }
      while (!signal.aborted && !this.closed) {
        if (w.overflow) throw new OpError(Code.ResourceExhausted, `watch fell more than ${this.bufferEventsMax} events behind; restart it from revision ${delivered + 1}`);
        let fresh = w.buffer.filter((e) => e.revision > delivered);
        w.buffer = [];
        const jump = w.jump;
        if (jump !== undefined) {
          // This node installed a snapshot (it had fallen behind the leader's compacted log): revisions
          // jump.from+1..jump.to happened without events here. Deliver what came before them, then end the
          // watch as compacted so that the client lists again instead of silently missing those changes
          // (found by jepsen --compaction-slots 100: a watch at a follower skipped revisions 458..13380).
          w.jump = undefined;
          const before = fresh.filter((e) => e.revision <= jump.from);
          if (before.length > 0) {
            delivered = before[before.length - 1]!.revision;
            yield before;
          }
          if (delivered < jump.to) throw this.compacted(`revisions ${delivered + 1}..${jump.to} were compacted: this node caught up by snapshot`, delivered + 1, jump.to + 1);
          fresh = fresh.filter((e) => e.revision > delivered);
        }
        if (fresh.length > 0) {
          delivered = fresh[fresh.length - 1]!.revision;
          yield fresh;
          continue;
        }
        await new Promise<void>((resolve) => (w.wake = resolve));
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.watchers.delete(w);
    }
  }

  private readHistory(filter: WatchFilter, fromRevision: number): WatchEvent[] {
    try {
      return this.machine().readEvents(filter, fromRevision, historyPageEvents);
    } catch (e) {
      if (e instanceof WatchCompactedError) throw this.compacted(`${e.message} on this node`, e.requestedRevision, e.oldestRetainedRevision);
      throw e;
    }
  }

  /** OUT_OF_RANGE with the WatchCompacted detail, so a client can tell this from a bad argument and
   *  resume: list, then watch from the list's revision + 1. */
  private compacted(what: string, requestedRevision: number, oldestRetainedRevision: number): OpError {
    const info = { requestedRevision, oldestRetainedRevision, currentRevision: this.machine().appliedRevision };
    return new OpError(Code.OutOfRange, `${what} (it is at revision ${info.currentRevision}); list the keys again and watch from the list's revision + 1`, undefined, undefined, info);
  }
}
