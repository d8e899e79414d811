// One watcher on one node for the wider checks: watches a key prefix from a start revision and,
// whenever the stream breaks, resumes from the last delivered revision + 1. A WatchCompacted
// answer (OUT_OF_RANGE) is a legitimate end: it lists the prefix again and resumes past the list's
// revision. Every segment is kept for the watch check.
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { EventType } from "@omnimeta/proto";
import type { WatchSegment, WatchStream } from "../linearizability/observations.ts";
import { seenOf, type ReadTarget, type SnapshotReader } from "./snapshot-reader.ts";

const RESUME_PAUSE_MS = 200;

export class NodeWatcher {
  readonly stream: WatchStream;
  /** The highest revision delivered (or skipped past by a re-list). */
  delivered: number;
  private readonly abort = new AbortController();
  private stopping = false;

  constructor(private readonly target: ReadTarget, prefix: string, startRevision: number, private readonly nowUs: () => number, private readonly relister: SnapshotReader) {
    this.stream = { node: target.name, prefix, segments: [] };
    this.delivered = startRevision - 1;
  }

  async run(): Promise<void> {
    while (!this.stopping) {
      const segment: WatchSegment = { startRevision: this.delivered + 1, events: [], end: "broken" };
      this.stream.segments.push(segment);
      try {
        await this.consume(segment);
      } catch (e) {
        if (!this.stopping && ConnectError.from(e).code === Code.OutOfRange) await this.relist(segment);
      }
      if (this.stopping) segment.end = "stopped";
      // A stream that broke before delivering anything tells nothing: drop it and try again.
      else if (segment.end === "broken" && segment.events.length === 0) this.stream.segments.pop();
      if (!this.stopping) await sleep(RESUME_PAUSE_MS);
    }
  }

  /** Ends the stream; run() then returns. */
  stop(): void {
    this.stopping = true;
    this.abort.abort();
  }

  private async consume(segment: WatchSegment): Promise<void> {
    const request = { key: this.stream.prefix, prefix: true, startRevision: BigInt(segment.startRevision) };
    for await (const answer of this.target.client.metadata.watch(request, { signal: this.abort.signal })) {
      const atUs = this.nowUs();
      for (const e of answer.events) {
        const revision = Number(e.revision);
        segment.events.push({ type: e.type === EventType.DELETE ? "delete" : "put", revision, kv: seenOf(e.kv!), atUs });
        this.delivered = Math.max(this.delivered, revision);
      }
    }
  }

  /** After a compacted end: list again (at this node, until answered) and skip past the list. */
  private async relist(segment: WatchSegment): Promise<void> {
    segment.end = "compacted";
    while (!this.stopping) {
      const read = await this.relister.list(this.target, "linearizable", this.stream.prefix);
      if (read !== undefined) {
        segment.relistRevision = read.revision;
        this.delivered = Math.max(this.delivered, read.revision);
        return;
      }
      await sleep(RESUME_PAUSE_MS);
    }
  }
}
