// The core is a pure value: no node:* imports, no wall clock, randomness, timers or promises in
// packages/omnipaxos/src. This test greps the sources and fails on any of them.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const srcDir = fileURLToPath(new URL("../src", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const forbidden: [RegExp, string][] = [
  [/from\s+["']node:/, "node:* import"],
  [/from\s+["'](fs|path|os|crypto|child_process|net|http|http2|timers|worker_threads)["']/, "Node built-in import"],
  [/from\s+["']@omnimeta\//, "import of another omnimeta package"],
  [/\brequire\s*\(/, "require()"],
  [/\bimport\s*\(/, "dynamic import"],
  [/\bDate\b/, "Date (wall clock)"],
  [/\bperformance\b/, "performance (wall clock)"],
  [/Math\.random/, "Math.random"],
  [/\bset(Timeout|Interval|Immediate)\b/, "timers"],
  [/\bqueueMicrotask\b|process\.nextTick/, "deferred execution"],
  [/\bPromise\s*[.<(]|\basync\s|\bawait\s/, "promises / async"],
  [/\bprocess\./, "process"],
];

test("the core imports nothing from node:* and uses no clock, randomness, timers or promises", () => {
  const files = sources(srcDir);
  assert.ok(files.length > 10, `found only ${files.length} source files under ${srcDir}`);
  const violations: string[] = [];
  for (const f of files) {
    const lines = readFileSync(f, "utf8").split("\n");
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
      for (const [re, what] of forbidden) if (re.test(code)) violations.push(`${f}:${i + 1}: ${what}: ${line.trim()}`);
    });
  }
  assert.deepEqual(violations, []);
});

test("the purity check itself catches a forbidden import", () => {
  const sample = `import { readFileSync } from "node:fs";`;
  assert.ok(forbidden.some(([re]) => re.test(sample)));
});
