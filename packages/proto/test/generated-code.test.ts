// The checked-in generated code must be exactly what `npm run generate` makes from proto/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../../..");

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

test("the checked-in generated code matches proto/ (run `npm run generate` if this fails)", () => {
  const tmp = mkdtempSync(join(tmpdir(), "omnimeta-gen-"));
  try {
    const buf = join(root, "node_modules/.bin/buf");
    execFileSync(buf, ["generate", "--output", tmp], { cwd: root, stdio: "pipe" });
    const fresh = files(join(tmp, "packages/proto/src/gen"));
    const committed = files(join(root, "packages/proto/src/gen"));
    assert.deepEqual([...committed.keys()].sort(), [...fresh.keys()].sort());
    for (const [name, text] of fresh) assert.equal(committed.get(name), text, `${name} is stale`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("the proto files are lint-clean under buf lint", () => {
  const buf = join(root, "node_modules/.bin/buf");
  execFileSync(buf, ["lint"], { cwd: root, stdio: "pipe" });
});
