// The embedding example (examples/embedded/main.ts) runs as a user would run it, twice on the same
// data dir: the second run reuses the cluster and sees the key's version grow.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./metad-process.ts";

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), "omnimeta-embedded-test-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test("the embedded example provisions, puts, gets and closes, and reuses its data dir", async () => {
  const args = ["--import", "tsx", join(REPO_ROOT, "examples", "embedded", "main.ts"), dataDir];
  const first = await run(process.execPath, args, { cwd: REPO_ROOT, timeout: 60_000 });
  assert.match(first.stdout, /node embedded at http:\/\/127\.0\.0\.1:\d+, cluster \S+ \(new\)/);
  assert.match(first.stdout, /put config\/greeting -> version 1, revision \d+/);
  assert.match(first.stdout, /get config\/greeting -> "hello, omnimeta" \(version 1\)/);
  assert.match(first.stdout, /closed\n$/);
  const second = await run(process.execPath, args, { cwd: REPO_ROOT, timeout: 60_000 });
  assert.match(second.stdout, /\(reused\)/);
  assert.match(second.stdout, /put config\/greeting -> version 2/);
});
