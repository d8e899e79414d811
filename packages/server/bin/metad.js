#!/usr/bin/env node
// The metad binary: runs src/main.ts from a cached esbuild bundle, tsx as the fallback
// (scripts/launch-bundled.mjs says how; no build step for developers).
import { fileURLToPath } from "node:url";
import { launchBundled } from "../../../scripts/launch-bundled.mjs";

await launchBundled({ name: "metad", entry: fileURLToPath(new URL("../src/main.ts", import.meta.url)), external: ["better-sqlite3"] });
