// The deterministic key-value state machine: applies decided commands in log order, keeps
// per-key versions, revisions, request-id de-duplication and the watch history.

import { assert } from "./assert.ts";
import type { Command, DeleteCommand, Precondition, PutCommand } from "./command.ts";
import type { KvBackend, KvFullState, MemberDirectory } from "./kv-backend.ts";
import { dedupTargetOf, type ApplyResult, type DedupRecord, type KeyRecord, type WatchEvent, type WatchFilter } from "./kv-types.ts";
import { DEDUP_GC_EVERY_REVISIONS, DEFAULT_STATE_MACHINE_LIMITS, type StateMachineLimits } from "./limits.ts";
import type { KvSnapshot } from "./kv-snapshot.ts";

/** Watch asked for revisions the history no longer holds (map to Connect OUT_OF_RANGE). */
export class WatchCompactedError extends Error {
  override name = "WatchCompactedError";
  constructor(
    readonly requestedRevision: number,
    readonly oldestRetainedRevision: number,
  ) {
    super(`revision ${requestedRevision} is compacted; the oldest retained revision is ${oldestRetainedRevision}`);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Applies commands at strictly increasing revisions (revision = 0-based log index + 1, so after
 * apply(r, ...) the applied revision is r). Every replica that applies the same commands at the same
 * revisions reaches the same keys, versions and de-dup table. Slots that carry no command (a
 * StopSign) are passed to `skip(revision)` so revisions stay equal to log positions.
 *
 * Writes go to the backend; with the SQLite backend they are staged and become durable on the
 * store's commit(), in the same transaction as the applied revision, so a crash never loses or
 * doubles an apply. Events for live watchers are collected until takeEvents() (call it after commit).
 */
/** Revisions a snapshot install skipped: applied went from `from` to `to` with no events in between. */
export interface SnapshotJump {
  from: number;
  to: number;
}

export class KvStateMachine {
  private pendingEvents: WatchEvent[] = [];
  private pendingJump: SnapshotJump | undefined;

  constructor(
    readonly backend: KvBackend,
    readonly limits: StateMachineLimits = DEFAULT_STATE_MACHINE_LIMITS,
  ) {}

  get appliedRevision(): number {
    return this.backend.getAppliedRevision();
  }

  apply(revision: number, command: Command): ApplyResult {
    this.advanceTo(revision);
    const result = this.execute(revision, command);
    if (revision % DEDUP_GC_EVERY_REVISIONS === 0) this.backend.pruneDedup(revision - this.limits.dedupWindowRevisions);
    return result;
  }

  /** Advances the applied revision over a slot without a command (a StopSign). */
  skip(revision: number): void {
    this.advanceTo(revision);
  }

  private advanceTo(revision: number): void {
    const applied = this.backend.getAppliedRevision();
    assert(revision > applied, () => `apply at revision ${revision} but already applied ${applied}`);
    this.backend.setAppliedRevision(revision);
  }

  private execute(revision: number, command: Command): ApplyResult {
    switch (command.kind) {
      case "noop":
        return { kind: "applied", revision };
      case "members":
        this.backend.setDirectory({ clusterId: command.clusterId, members: command.members });
        return { kind: "applied", revision };
      case "put":
      case "delete": {
        const target = dedupTargetOf(command);
        const previous = this.lookupRequest(revision, command.requestId);
        // A request id names one request: a retry repeats its operation and key and gets the first answer;
        // the same id on another operation or key is refused (answering it the first one's result would
        // report a write that was never made).
        if (previous) return previous.target === undefined || previous.target === target ? previous.result : { kind: "requestIdReused", revision, requestId: command.requestId };
        const result = command.kind === "put" ? this.put(revision, command) : this.delete(revision, command);
        if (command.requestId !== "") this.backend.putDedup(command.requestId, { revision, result, target });
        return result;
      }
    }
  }

  /** The first use of a request id still inside the de-dup window, if any. */
  private lookupRequest(revision: number, requestId: string): DedupRecord | undefined {
    if (requestId === "") return undefined;
    const rec = this.backend.getDedup(requestId);
    if (!rec || rec.revision <= revision - this.limits.dedupWindowRevisions) return undefined;
    return rec;
  }

  private put(revision: number, cmd: PutCommand): ApplyResult {
    const current = this.backend.getKey(cmd.key);
    const failed = checkPrecondition(revision, cmd.key, cmd.precondition, current);
    if (failed) return failed;
    const record: KeyRecord = {
      key: cmd.key,
      value: cmd.value,
      version: current ? current.version + 1 : 1,
      createRevision: current ? current.createRevision : revision,
      modRevision: revision,
    };
    this.backend.putKey(record);
    this.recordEvent({ type: "put", kv: record, revision });
    return { kind: "ok", revision, version: record.version, previousVersion: current?.version ?? 0 };
  }

  private delete(revision: number, cmd: DeleteCommand): ApplyResult {
    const current = this.backend.getKey(cmd.key);
    const failed = checkPrecondition(revision, cmd.key, cmd.precondition, current);
    if (failed) return failed;
    if (!current) return { kind: "notFound", revision, key: cmd.key };
    this.backend.deleteKey(cmd.key);
    const tombstone: KeyRecord = { ...current, value: EMPTY, modRevision: revision };
    this.recordEvent({ type: "delete", kv: tombstone, revision });
    return { kind: "ok", revision, version: 0, previousVersion: current.version };
  }

  private recordEvent(event: WatchEvent): void {
    if (this.limits.watchHistoryRevisions > 0) {
      this.backend.appendEvent(event);
      this.backend.pruneEvents(event.revision - this.limits.watchHistoryRevisions + 1, this.limits.watchHistoryBytes);
    }
    this.pendingEvents.push(event);
  }

  /** Events applied since the last call, in revision order. Deliver them only after commit(). */
  takeEvents(): WatchEvent[] {
    const events = this.pendingEvents;
    this.pendingEvents = [];
    return events;
  }

  /** The revisions snapshot installs skipped since the last call (a live watch cannot be told them: it
   *  must end as compacted, or it would silently miss their events). */
  takeSnapshotJump(): SnapshotJump | undefined {
    const j = this.pendingJump;
    this.pendingJump = undefined;
    return j;
  }

  /** The state jumped from revision `from` to `to` outside apply (the store swapped in a received snapshot's tables). */
  noteSnapshotJump(from: number, to: number): void {
    this.pendingJump = { from: this.pendingJump?.from ?? from, to };
  }

  /** Drops collected events (e.g. after a failed commit, before the process stops). */
  discardEvents(): void {
    this.pendingJump = undefined;
    this.pendingEvents = [];
  }

  get(key: string): KeyRecord | undefined {
    return this.backend.getKey(key);
  }

  /** Keys with `prefix` after `afterKey`, ascending; `more` is true when further keys follow. */
  list(prefix: string, afterKey: string, limit: number): { records: KeyRecord[]; more: boolean } {
    assert(limit > 0, () => `list limit must be positive, got ${limit}`);
    const records = this.backend.listKeys(prefix, afterKey, limit + 1);
    const more = records.length > limit;
    if (more) records.length = limit;
    return { records, more };
  }

  directory(): MemberDirectory | undefined {
    return this.backend.getDirectory();
  }

  /**
   * Retained events matching `filter` with revision >= fromRevision (at most `limit`).
   * Throws WatchCompactedError when fromRevision is older than the retained history.
   */
  readEvents(filter: WatchFilter, fromRevision: number, limit: number): WatchEvent[] {
    const floor = this.backend.eventFloor();
    if (fromRevision < floor && fromRevision <= this.appliedRevision) {
      throw new WatchCompactedError(fromRevision, floor);
    }
    return this.backend.readEvents(filter, fromRevision, limit);
  }

  /** The whole replicated state now (for a full snapshot or a state transfer). */
  exportState(): KvFullState {
    const state = this.backend.exportState();
    const horizon = state.appliedRevision - this.limits.dedupWindowRevisions;
    return { ...state, dedup: state.dedup.filter(([, rec]) => rec.revision > horizon) };
  }

  /**
   * Installs a snapshot the core handed over (LogEntry kind "snapshotted"). A full snapshot newer
   * than the applied revision replaces the state; a delta snapshot applies its commands that lie
   * past the applied revision. Older snapshots change nothing.
   */
  installSnapshot(snapshot: KvSnapshot): void {
    if (snapshot.lastRevision <= this.appliedRevision) return;
    // Our own tables stand for at least their applied revision: a handle beyond it cannot exist.
    assert(snapshot.kind !== "stored", () => `stored snapshot at ${snapshot.lastRevision} beyond applied ${this.appliedRevision}`);
    assert(snapshot.kind !== "offer" && snapshot.kind !== "staged", () => `a${snapshot.kind === "offer" ? "n offered" : " staged"} snapshot at ${snapshot.lastRevision} beyond applied ${this.appliedRevision}: the store swaps one in when the core records it`);
    if (snapshot.kind === "full") {
      const from = this.pendingJump?.from ?? this.appliedRevision;
      this.backend.importState(snapshot.state);
      this.pendingJump = { from, to: this.appliedRevision };
      return;
    }
    assert(snapshot.firstRevision <= this.appliedRevision + 1, () =>
      `delta snapshot starts at ${snapshot.firstRevision} but applied is only ${this.appliedRevision}`);
    for (const { revision, command } of snapshot.commands) {
      if (revision > this.appliedRevision) this.apply(revision, command);
    }
    if (snapshot.lastRevision > this.appliedRevision) this.skip(snapshot.lastRevision);
  }
}

function checkPrecondition(revision: number, key: string, p: Precondition, current: KeyRecord | undefined): ApplyResult | undefined {
  switch (p.kind) {
    case "none":
      return undefined;
    case "doesNotExist":
      return current ? { kind: "preconditionFailed", revision, key, exists: true, currentVersion: current.version } : undefined;
    case "matchesVersion":
      if (current && current.version === p.version) return undefined;
      return { kind: "preconditionFailed", revision, key, exists: current !== undefined, currentVersion: current?.version ?? 0 };
  }
}
