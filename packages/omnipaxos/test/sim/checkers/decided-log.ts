// Uniform Agreement, Integrity and Validity over the decided logs: one global log that every node's decided
// prefix must match (across nodes, over time, across restarts), built only from appended, never-repeated values.

import { type DigestState, EMPTY_DIGEST, digestAppend } from "../digest-snapshot.ts";
import { check } from "./violation.ts";

/** One decided log slot as the checker sees it. */
export type Slot = { kind: "entry"; value: number } | { kind: "stopsign"; configurationId: number; nodesKey: string };

export function describeSlot(s: Slot | undefined): string {
  if (s === undefined) return "nothing";
  return s.kind === "entry" ? `entry ${s.value}` : `stopsign(config ${s.configurationId} [${s.nodesKey}])`;
}

export class DecidedLogChecker {
  /** The decided log, as first reported by any node. Invariant: never changes once set. */
  private readonly slots: Array<Slot | undefined> = [];
  private readonly idxOfValue = new Map<number, number>();
  private readonly appended = new Set<number>();
  /** prefixDigests[i] = state of the entries in slots [0, i); valid for i <= prefixDigests.length - 1. */
  private readonly prefixDigests: DigestState[] = [EMPTY_DIGEST];

  recordAppend(value: number): void {
    check(!this.appended.has(value), "harness", () => `value ${value} appended twice by the harness`);
    this.appended.add(value);
  }

  /** The number of contiguous known decided slots from index 0. */
  get knownLength(): number {
    return this.prefixDigests.length - 1;
  }

  slotAt(idx: number): Slot | undefined {
    return this.slots[idx];
  }

  /** Node `pid` says slot `idx` is decided with content `slot`. True if nobody had said so before. */
  observe(pid: number, idx: number, slot: Slot): boolean {
    const known = this.slots[idx];
    if (known !== undefined) {
      check(sameSlot(known, slot), "agreement", () => `node ${pid} decided ${describeSlot(slot)} at index ${idx}, but ${describeSlot(known)} was decided there before`);
      return false;
    }
    if (slot.kind === "entry") {
      check(this.appended.has(slot.value), "validity", () => `node ${pid} decided value ${slot.value} at index ${idx}, which was never appended`);
      const other = this.idxOfValue.get(slot.value);
      check(other === undefined, "integrity", () => `node ${pid} decided value ${slot.value} at index ${idx}, already decided at index ${other}`);
      this.idxOfValue.set(slot.value, idx);
    }
    this.slots[idx] = slot;
    this.extendPrefix();
    return true;
  }

  /** One past the highest slot known as decided. */
  get length(): number {
    return this.slots.length;
  }

  /** The application state after the first `idx` slots, or undefined if some of them are not known yet. */
  stateBefore(idx: number): DigestState | undefined {
    return this.prefixDigests[idx];
  }

  isDecided(value: number): boolean {
    return this.idxOfValue.has(value);
  }

  decidedValueCount(): number {
    return this.idxOfValue.size;
  }

  private extendPrefix(): void {
    for (;;) {
      const n = this.prefixDigests.length - 1;
      const s = this.slots[n];
      if (s === undefined) return;
      const prev = this.prefixDigests[n];
      this.prefixDigests.push(s.kind === "entry" ? digestAppend(prev, s.value) : prev);
    }
  }
}

function sameSlot(a: Slot, b: Slot): boolean {
  if (a.kind === "entry") return b.kind === "entry" && a.value === b.value;
  return b.kind === "stopsign" && a.configurationId === b.configurationId && a.nodesKey === b.nodesKey;
}
