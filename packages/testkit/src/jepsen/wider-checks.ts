// The checks beyond per-key linearizability, run on one jepsen run's history: Lists against the
// per-key model at their revision, serializable reads (stale but never backwards on a replica),
// and watch streams (every acknowledged write once, in order, no gaps). See snapshot-check.ts and
// watch-check.ts for exactly what each verifies.
import { pairOperations, resolveObservedWrites, type HistoryEvent } from "../linearizability/history.ts";
import type { Finding, SnapshotRead, WatchStream } from "../linearizability/observations.ts";
import { RevisionIndex } from "../linearizability/revision-index.ts";
import { checkSnapshotReads } from "../linearizability/snapshot-check.ts";
import { checkWatchStreams } from "../linearizability/watch-check.ts";

export interface WiderVerdict {
  /** Acknowledged writes whose revision the checks used. */
  ackedWrites: number;
  /** List answers checked (linearizable and serializable). */
  lists: number;
  /** Serializable reads checked (Gets and Lists). */
  serializableReads: number;
  watch: { streams: number; events: number; resumes: number; compacted: number };
  anomalies: number;
  /** Anomalies by check and kind, e.g. {"list/stale-revision": 2}. */
  byKind: Record<string, number>;
  /** The first few anomalies, readable. */
  examples: string[];
}

const EXAMPLES_MAX = 5;

export function judgeWider(events: readonly HistoryEvent[], reads: readonly SnapshotRead[], streams: readonly WatchStream[], keys: readonly string[]): WiderVerdict {
  const ops = resolveObservedWrites(pairOperations(events));
  const index = new RevisionIndex(ops);
  const snapshots = checkSnapshotReads(ops, reads, keys, index);
  const watch = checkWatchStreams(ops, streams, index);
  const findings: Finding[] = [...index.findings, ...snapshots.findings, ...watch.findings];
  const byKind: Record<string, number> = {};
  for (const f of findings) byKind[`${f.check}/${f.kind}`] = (byKind[`${f.check}/${f.kind}`] ?? 0) + 1;
  return {
    ackedWrites: index.byRevision.size,
    lists: snapshots.listsChecked,
    serializableReads: snapshots.serializableChecked,
    watch: { streams: watch.streams, events: watch.events, resumes: watch.resumes, compacted: watch.compacted },
    anomalies: findings.length,
    byKind,
    examples: findings.slice(0, EXAMPLES_MAX).map((f) => `${f.check}/${f.kind}: ${f.detail}`),
  };
}
