#!/usr/bin/env node
// The metad binary: runs src/main.ts from a cached esbuild bundle, tsx as the fallback
// (scripts/launch-bundled.mjs says how; no build step for developers).
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { launchBundled } from "../../../scripts/launch-bundled.mjs";

// V8 grows the young generation to its 16 MiB-per-semi-space default while the bundle loads and never gives
// it back: an idle node held 81 MB of RSS, 69 MB with 8 MiB (set before anything else allocates much).
// Small requests die young either way; a scavenge costs what survives, not the space's size.
setFlagsFromString("--max-semi-space-size=8");
// After a full GC V8 lets the old space grow to up to 4x what survived before the next one; a node receiving
// a state transfer (a stream of short-lived rows) grew its heap to 67-77 MB around 24 MB of live objects.
// 1.5x keeps the heap near what is live, for a full GC more often (its cost is the live heap, ~20 ms here).
setFlagsFromString("--heap-growing-percent=50");

await launchBundled({ name: "metad", entry: fileURLToPath(new URL("../src/main.ts", import.meta.url)), external: ["better-sqlite3"] });
