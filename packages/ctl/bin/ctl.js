#!/usr/bin/env node
// The ctl binary: runs src/main.ts from a cached esbuild bundle so that a call starts in tens of
// milliseconds, tsx as the fallback (scripts/launch-bundled.mjs says how; no build step for developers).
import { fileURLToPath } from "node:url";
import { launchBundled } from "../../../scripts/launch-bundled.mjs";

await launchBundled({ name: "ctl", entry: fileURLToPath(new URL("../src/main.ts", import.meta.url)) });
