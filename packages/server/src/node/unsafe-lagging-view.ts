// serializable-backwards (OMNIMETA_UNSAFE, testing only): a copy of the key space taken at most
// LAGGING_VIEW_MAX_AGE_MS ago, from which every other serializable read is answered, so that
// successive serializable reads at one node can go back in time. Never used unless the flag is set.
import type { KvStateMachine } from "../state-machine/kv-state-machine.ts";
import type { KeyRecord } from "../state-machine/kv-types.ts";

const LAGGING_VIEW_MAX_AGE_MS = 1000;
const LAGGING_VIEW_KEYS_MAX = 10_000;

/** The read surface readLocal needs, served by the live state machine or by a lagging copy. */
export interface ReadView {
  readonly appliedRevision: number;
  get(key: string): KeyRecord | undefined;
  list(prefix: string, afterKey: string, limit: number): { records: KeyRecord[]; more: boolean };
}

export class UnsafeLaggingView {
  private copy: { takenAtMs: number; view: ReadView } | undefined;
  private serveCopy = false;

  /** The view to answer this serializable read from: alternately the live machine and the old copy. */
  viewFor(machine: KvStateMachine): ReadView {
    const now = Date.now();
    if (this.copy === undefined || now - this.copy.takenAtMs > LAGGING_VIEW_MAX_AGE_MS) this.copy = { takenAtMs: now, view: snapshotOf(machine) };
    this.serveCopy = !this.serveCopy;
    return this.serveCopy ? this.copy.view : machine;
  }
}

function snapshotOf(machine: KvStateMachine): ReadView {
  const appliedRevision = machine.appliedRevision;
  const records = machine.list("", "", LAGGING_VIEW_KEYS_MAX).records;
  return {
    appliedRevision,
    get: (key) => records.find((r) => r.key === key),
    list(prefix, afterKey, limit) {
      const all = records.filter((r) => r.key.startsWith(prefix) && r.key > afterKey);
      return { records: all.slice(0, limit), more: all.length > limit };
    },
  };
}
