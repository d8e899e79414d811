// HTTP/2 flow-control windows for node-to-node and client connections.
import type * as http2 from "node:http2";

/**
 * The receive window of peer connections and of each stream on them. HTTP/2 starts both at 64 KiB, so a
 * peer could send 64 KiB before waiting a round trip of two event loops for a WINDOW_UPDATE: a snapshot
 * chunk or a large accept batch (1 MiB) waited 16 times. The window is still what bounds memory (a reader
 * that stops reading stops the sender at 2 MiB), so flow control keeps working, in larger steps.
 * 2 MiB, not 8: bench:join joined as fast (9.4 s for 200 MB) and the receiver buffered less (its RSS growth
 * 104-121 MB -> 94 MB together with the smaller SQLite page cache, open-database.ts).
 */
export const peerWindowBytes = 2 * 1024 * 1024;

const widened = new WeakSet<http2.Http2Session>();

/** Raises the connection-level window (SETTINGS only sets the streams'); once per session. */
export function widenConnectionWindow(session: http2.Http2Session | undefined): void {
  if (session === undefined || widened.has(session) || session.destroyed) return;
  widened.add(session);
  session.setLocalWindowSize(peerWindowBytes);
}
