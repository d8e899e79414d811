// Checks watch streams against the acknowledged writes. Per watcher (one node, one key prefix,
// from a start revision, resumed after every break):
//   - order: the events of all its segments together have strictly increasing revisions (a
//     duplicate or a reordering is an anomaly), and each segment starts just past what the stream
//     delivered (or, after a compacted end, just past the re-list's revision);
//   - no gap: every acknowledged write in the prefix whose revision lies in the covered range
//     [first start, last delivered revision] appears, with its key, type, value and version; the
//     range skipped by a compacted end (last delivered + 1 .. re-list revision) is not covered;
//   - no phantom: an event at the revision of an acknowledged write must be that write; any other
//     event must be explained by an unacknowledged write of the same kind to the same key (and
//     value) invoked before the event arrived.
// Not checked: events past the last delivered revision (a stream that stops early covers less),
// writes that were never acknowledged (they may or may not appear), and timing (a watch may lag).
import type { Operation } from "./history.ts";
import type { Finding, WatchSeen, WatchStream } from "./observations.ts";
import { describeSeen, RevisionIndex } from "./revision-index.ts";

export interface WatchCheckResult {
  streams: number;
  events: number;
  /** Segments that ended broken and were resumed. */
  resumes: number;
  /** Segments ended by a WatchCompacted (OUT_OF_RANGE) answer, followed by a re-list. */
  compacted: number;
  findings: Finding[];
}

function checkEvent(s: WatchStream, e: WatchSeen, index: RevisionIndex): Finding | undefined {
  const at = `watch ${JSON.stringify(s.prefix)} at ${s.node}: ${e.type} ${describeSeen(e.kv)} at revision ${e.revision}`;
  const acked = index.byRevision.get(e.revision);
  if (acked !== undefined) {
    const same = acked.key === e.kv.key && acked.kind === e.type && (e.type === "delete" || (acked.value === e.kv.value && acked.version === e.kv.version));
    return same ? undefined : { check: "watch", kind: "watch-wrong-event", detail: `${at}, but revision ${e.revision} is op #${acked.op.opId} (${acked.kind} ${acked.key})` };
  }
    const writers = e.type === "put" ? index.unackedPutsOf(e.kv.key, e.kv.value, e.atUs) : index.unackedDeletesOf(e.kv.key, e.atUs);
  return writers.length > 0 ? undefined : { check: "watch", kind: "watch-phantom", detail: `${at}: no write can have made it` };
}

function checkStream(s: WatchStream, index: RevisionIndex, findings: Finding[]): void {
  let delivered = (s.segments[0]?.startRevision ?? 1) - 1;
  const first = delivered + 1;
  const skipped: [number, number][] = [];
  const seen = new Set<number>();
  for (const seg of s.segments) {
    if (seg.startRevision !== delivered + 1) findings.push({ check: "watch", kind: "watch-resume", detail: `watch at ${s.node} resumed from ${seg.startRevision} after delivering up to ${delivered}` });
    for (const e of seg.events) {
      if (e.revision <= delivered) {
        findings.push({ check: "watch", kind: seen.has(e.revision) ? "watch-duplicate" : "watch-out-of-order", detail: `watch at ${s.node}: revision ${e.revision} after revision ${delivered}` });
        continue;
      }
      delivered = e.revision;
      seen.add(e.revision);
      const f = checkEvent(s, e, index);
      if (f !== undefined) findings.push(f);
    }
    if (seg.end === "compacted" && seg.relistRevision !== undefined && seg.relistRevision > delivered) {
      skipped.push([delivered + 1, seg.relistRevision]);
      delivered = seg.relistRevision;
    }
  }
  const isSkipped = (rev: number) => skipped.some(([a, b]) => rev >= a && rev <= b);
  for (const [rev, w] of index.byRevision) {
    if (rev < first || rev > delivered || !w.key.startsWith(s.prefix) || seen.has(rev) || isSkipped(rev)) continue;
    findings.push({ check: "watch", kind: "watch-gap", detail: `watch ${JSON.stringify(s.prefix)} at ${s.node} delivered up to revision ${delivered} but never op #${w.op.opId} (${w.kind} ${w.key}) at revision ${rev}` });
  }
}

export function checkWatchStreams(ops: readonly Operation[], streams: readonly WatchStream[], index = new RevisionIndex(ops)): WatchCheckResult {
  const findings: Finding[] = [];
  for (const s of streams) checkStream(s, index, findings);
  const segments = streams.flatMap((s) => s.segments);
  return {
    streams: streams.length,
    events: segments.reduce((n, seg) => n + seg.events.length, 0),
    resumes: segments.filter((seg) => seg.end === "broken").length,
    compacted: segments.filter((seg) => seg.end === "compacted").length,
    findings,
  };
}
