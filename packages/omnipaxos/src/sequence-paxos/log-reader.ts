// Reading the log for the application: slots as LogEntry values, a compacted prefix as one
// "snapshotted" (or "trimmed") item, each slot marked decided or not.
import type { LogEntry } from "../log-entry.ts";
import type { SequencePaxos } from "./sequence-paxos.ts";

/** Slots [fromIdx, toIdx) clipped to the log; undefined when that range is empty. */
export function readLog<T, S>(sp: SequencePaxos<T, S>, fromIdx: number, toIdx: number): LogEntry<T, S>[] | undefined {
  const to = Math.min(toIdx, sp.acceptedIdx);
  if (fromIdx < 0 || fromIdx >= to) return undefined;
  const out: LogEntry<T, S>[] = [];
  let from = fromIdx;
  if (from < sp.compactedIdx) {
    const snapshot = sp.storage.getSnapshot();
    out.push(snapshot !== undefined ? { kind: "snapshotted", trimmedIdx: sp.compactedIdx, snapshot } : { kind: "trimmed", trimmedIdx: sp.compactedIdx });
    from = sp.compactedIdx;
  }
  if (from >= to) return out;
  const entries = sp.storage.getEntries(from, to);
  const decided = sp.decidedIdx;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const idx = from + i;
    out.push(e.kind === "entry" ? { kind: "entry", idx, entry: e.entry, decided: idx < decided } : { kind: "stopsign", idx, stopSign: e.stopSign, decided: idx < decided });
  }
  return out;
}
