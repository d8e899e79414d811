// exportFullSnapshot: the encoded full state a stored snapshot handle stands for, read from a backup of the
// committed database without blocking; it must equal the state machine's own export at that revision
// and leave no copy behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openNodeStore } from "../../src/storage/node-store.ts";
import { exportFullSnapshot } from "../../src/snapshot/export-snapshot.ts";
import { decodeKvSnapshot, encodeKvSnapshot, materialize } from "../../src/state-machine/kv-snapshot.ts";
import { randomCommands } from "../state-machine/random-commands.ts";

test("the export of the committed state equals the state machine's at that revision, whatever is staged after it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "omnimeta-export-"));
  try {
    const { store, stateMachine } = openNodeStore({ dataDir: dir, name: "n1" });
    const commands = randomCommands(5, 12_000); // more rows than one turn reads (rowsPerTurn)
    commands.slice(0, 10_000).forEach((c, i) => stateMachine.apply(i + 1, c));
    store.commit();
    const atCommit = encodeKvSnapshot(materialize(stateMachine));
    // Staged, not committed: the export must not see it (it is not durable, and its revision is not the export's).
    commands.slice(10_000).forEach((c, i) => stateMachine.apply(10_001 + i, c));
    const exported = await exportFullSnapshot(store, dir);
    assert.equal(exported.lastRevision, 10_000);
    assert.deepEqual(Buffer.from(encodeKvSnapshot(exported)), Buffer.from(atCommit));
    const decoded = decodeKvSnapshot(exported.bytes);
    assert.ok(decoded.kind === "full" && decoded.state.keys.length > 0 && decoded.state.dedup.length > 0);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith("snapshot-copy-")), [], "the backup copy is removed");
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
