// Makes the WAL durable off the event loop: fdatasync on libuv's thread pool, grouped.
//
// Why: a synchronous fsync inside SQLite's commit blocks the event loop for its whole duration (0.2-1 ms
// here), so a node reads no socket, parses no request and processes no Accepted while its disk works. With
// the replica's commits run under synchronous=NORMAL (frames written to the WAL, no fsync) and this
// syncer called after them, the disk and the event loop work at once, and every commit made while one
// fdatasync runs is covered by the next one (group commit).
//
// Why it is as durable as synchronous=FULL: in WAL mode a commit is durable once its frames, written by
// pwrite before the transaction returned, are on disk. fdatasync of the WAL file (any descriptor of the same
// inode) puts them there, and the size change with them. A sync started after a commit returned covers that
// commit; callbacks are only run for the syncs that started after their commit. Checkpoints stay SQLite's
// own under NORMAL: it syncs the WAL before copying it into the database and syncs the database before the
// WAL is reused, so frames are never overwritten before they are durable elsewhere. A crash loses only
// commits whose callback has not run, and SQLite's recovery drops a torn tail by its frame checksums.

import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync, statSync } from "node:fs";

/** Called once the commits made before the request are durable (or the sync failed: the node must stop). */
export type SyncDone = (err: Error | undefined) => void;

export class WalSyncer {
  private fd: number | undefined;
  private ino = 0;
  /** Waiting for the fdatasync now running. */
  private covered: SyncDone[] = [];
  /** Requested while one runs: their commits may postdate its start, so the next one covers them. */
  private next: SyncDone[] = [];
  private running = false;
  /** Bumped by syncNow: a completion of an older run finds its callbacks already released. */
  private generation = 0;
  private closed = false;
  /** Duration of each completed fdatasync, for the metrics. */
  onSynced: ((seconds: number) => void) | undefined;

  constructor(private readonly walPath: string) {}

  /** Asks for every commit made so far to be made durable; `done` runs once it is (in request order). */
  sync(done: SyncDone): void {
    if (this.closed) return done(new Error("the store is closed"));
    if (this.running) {
      this.next.push(done);
      return;
    }
    this.covered.push(done);
    this.start();
  }

  /** Whether a requested sync has not completed yet. */
  get pending(): boolean {
    return this.covered.length > 0 || this.next.length > 0;
  }

  /** Makes every commit durable now, blocking, and runs every waiting callback (shutdown). */
  syncNow(): void {
    if (this.closed) return;
    const waiting = [...this.covered, ...this.next];
    this.covered = [];
    this.next = [];
    this.generation++;
    let err: Error | undefined;
    try {
      const fd = this.descriptor();
      const started = performance.now();
      fdatasyncSync(fd);
      this.onSynced?.((performance.now() - started) / 1000);
    } catch (e) {
      err = e as Error;
    }
    for (const done of waiting) done(err);
  }

  /** Closes the descriptor (after a running fdatasync has completed). */
  close(): void {
    this.closed = true;
    if (!this.running) this.closeFd();
  }

  private start(): void {
    let fd: number;
    try {
      fd = this.descriptor();
    } catch (e) {
      const waiting = this.covered;
      this.covered = [];
      for (const done of waiting) done(e as Error);
      return;
    }
    this.running = true;
    const generation = this.generation;
    const started = performance.now();
    fdatasync(fd, (err) => {
      this.running = false;
      if (this.closed) {
        this.closeFd();
        return;
      }
      if (generation === this.generation) {
        if (!err) this.onSynced?.((performance.now() - started) / 1000);
        const waiting = this.covered;
        this.covered = [];
        for (const done of waiting) done(err ?? undefined);
      }
      if (this.next.length > 0) {
        this.covered = this.next;
        this.next = [];
        this.start();
      }
    });
  }

  /** A descriptor of the WAL file SQLite writes now (re-opened if SQLite ever replaced the file). */
  private descriptor(): number {
    const ino = statSync(this.walPath).ino;
    if (this.fd !== undefined && ino === this.ino) return this.fd;
    this.closeFd();
    this.fd = openSync(this.walPath, "r+");
    this.ino = fstatSync(this.fd).ino;
    return this.fd;
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }
}
