// The synchronous Storage interface the core is given, and the durability contract the
// application must honour. The core is correct under crash-restart only if the contract holds.
import type { Ballot } from "./ballot.ts";
import type { ConfigurationRecord, StoredEntry } from "./log-entry.ts";

/**
 * Durable state of one OmniPaxos node. All indexes are absolute log positions (0-based; a length
 * or "Idx" means "number of slots before it"): slots [compactedIdx, logLen) are in the log, slots
 * [0, compactedIdx) are covered by the snapshot (or were trimmed).
 *
 * DURABILITY CONTRACT (read this before implementing):
 *  1. Every call into OmniPaxos (constructor, append, reconfigure, tick, handleIncoming,
 *     takeOutgoingMessages, trim, snapshot, readIndex, ...) may write to storage. Writes must
 *     become durable IN ORDER. Reads must observe all earlier writes (durable or not).
 *  2. Before any message returned by takeOutgoingMessages() leaves the node, every write made
 *     before that takeOutgoingMessages() call returned must be durable.
 *  3. A crash may lose any not-yet-durable writes, but only as a suffix, and never in the middle
 *     of one call into OmniPaxos: group writes per call (or per event-loop turn, as the server
 *     does with one SQLite transaction) and make each group atomic.
 *  4. Restart = construct a new OmniPaxos on the surviving storage. Nothing else is needed.
 * Rule 2 is what makes promises, accepted entries and decided indexes safe: a Promise or an
 * Accepted leaves only once the state it vouches for is on disk. The simplest implementation
 * (the server's) is: make everything staged durable, then send everything taken.
 *
 * Getters are called often (e.g. getLogLen); keep them O(1).
 */
export interface Storage<T, S> {
  /** Appends at the end of the log (slot getLogLen()). */
  appendEntries(entries: readonly StoredEntry<T>[]): void;
  /** Drops every slot >= fromIdx, then appends `entries` starting at slot fromIdx.
   *  compactedIdx <= fromIdx <= getLogLen() always holds. */
  appendOnPrefix(fromIdx: number, entries: readonly StoredEntry<T>[]): void;
  /** Slots [fromIdx, toIdx); compactedIdx <= fromIdx <= toIdx <= getLogLen(). May return a view
   *  or a copy; the core never mutates it. */
  getEntries(fromIdx: number, toIdx: number): StoredEntry<T>[];
  /** One past the last slot in the log (the accepted index). Equals compactedIdx when empty. */
  getLogLen(): number;

  /** The highest ballot promised (undefined on empty storage). */
  getPromise(): Ballot | undefined;
  setPromise(ballot: Ballot): void;
  /** The ballot in which the log suffix was last accepted (undefined on empty storage). */
  getAcceptedRound(): Ballot | undefined;
  setAcceptedRound(ballot: Ballot): void;
  /** Number of decided slots. */
  getDecidedIdx(): number;
  setDecidedIdx(idx: number): void;

  /** Slots below this are no longer in the log. 0 on empty storage. */
  getCompactedIdx(): number;
  /** Discards slots < idx without touching the snapshot (compactedIdx <= idx <= getLogLen()). */
  trim(idx: number): void;
  /** The snapshot covering [0, getCompactedIdx()), if any. */
  getSnapshot(): S | undefined;
  /** Installs `snapshot` as the state of slots [0, compactedIdx) and discards those slots from
   *  the log. If compactedIdx > getLogLen(), the log becomes empty and getLogLen() = compactedIdx. */
  setSnapshot(compactedIdx: number, snapshot: S): void;

  /** The configuration this node is in (undefined on empty storage: the constructor's applies).
   *  The constructor rewrites it on every start (ConfigurationRecord.incarnation); keep the whole
   *  record as given, including fields this interface does not name. */
  getConfiguration(): ConfigurationRecord | undefined;
  setConfiguration(record: ConfigurationRecord): void;
}
