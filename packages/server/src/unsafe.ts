// Debug-only fault injection for the fault-testing harness ("show that the checker bites"). Off unless
// OMNIMETA_UNSAFE lists flags; each one breaks a guarantee on purpose. A loud warning is logged at start.

import type { Logger } from "./log.ts";

export interface UnsafeFlags {
  /** Serve linearizable reads from the local replica at any node, without a read-index barrier. */
  staleReads: boolean;
  /** Answer clients and send peer messages before the group commit; commit later. */
  ackBeforeFsync: boolean;
  /** Ignore request ids: every retry is applied again. */
  noDedup: boolean;
  /** Serve linearizable Lists from the local replica at any node, without a read-index barrier. */
  listStale: boolean;
  /** Serve every other serializable read from a copy of the state up to a second old. */
  serializableBackwards: boolean;
  /** Drop one in every WATCH_GAP_EVERY_EVENTS live events handed to watchers. */
  watchGap: boolean;
  /** Flip a byte in the first chunk of each snapshot offer's first transfer (after its CRC was computed). */
  corruptTransfer: boolean;
}

/** watch-gap (unsafe): one live event in this many is not delivered to a watcher. */
export const WATCH_GAP_EVERY_EVENTS = 50;

const names: Record<string, keyof UnsafeFlags> = {
  "stale-reads": "staleReads",
  "ack-before-fsync": "ackBeforeFsync",
  "no-dedup": "noDedup",
  "list-stale": "listStale",
  "serializable-backwards": "serializableBackwards",
  "watch-gap": "watchGap",
  "corrupt-transfer": "corruptTransfer",
};

export function parseUnsafeFlags(env: string | undefined): UnsafeFlags {
  const flags: UnsafeFlags = { staleReads: false, ackBeforeFsync: false, noDedup: false, listStale: false, serializableBackwards: false, watchGap: false, corruptTransfer: false };
  for (const raw of (env ?? "").split(",")) {
    const name = raw.trim();
    if (name === "") continue;
    const key = names[name];
    if (!key) throw new Error(`OMNIMETA_UNSAFE: unknown flag "${name}" (known: ${Object.keys(names).join(", ")})`);
    flags[key] = true;
  }
  return flags;
}

export function warnUnsafe(flags: UnsafeFlags, logger: Logger): void {
  const on = Object.entries(names).filter(([, k]) => flags[k]).map(([n]) => n);
  if (on.length === 0) return;
  logger.warn("UNSAFE FAULT INJECTION ENABLED: this node breaks its guarantees on purpose (testing only)", { unsafe: on });
}
