#!/usr/bin/env node
// The metad binary. It runs src/main.ts from a cached single-file bundle (esbuild, which tsx ships) so
// that a node does not carry the TypeScript loader's hook thread (~40 MB of RSS) for its whole life.
// The bundle is rebuilt whenever one of its input files changed (checked by size and mtime), and the
// tsx loader is the fallback (or forced with OMNIMETA_NO_BUNDLE=1). No build step for developers.
import { createRequire } from "node:module";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const entry = fileURLToPath(new URL("../src/main.ts", import.meta.url));

function inputsUnchanged(inputs) {
  try {
    return inputs.every((i) => {
      const s = statSync(i.path);
      return s.size === i.size && s.mtimeMs === i.mtimeMs;
    });
  } catch {
    return false;
  }
}

/** The path of an up-to-date bundle of src/main.ts, or undefined when bundling is not possible. */
function bundle() {
  if (process.env.OMNIMETA_NO_BUNDLE === "1") return undefined;
  let esbuild;
  let cacheDir;
  try {
    const require = createRequire(import.meta.url);
    const esbuildPath = require.resolve("esbuild");
    esbuild = require(esbuildPath);
    // <root>/node_modules/esbuild/lib/main.js -> <root>/node_modules/.cache/omnimeta (resolves externals)
    cacheDir = join(esbuildPath.slice(0, esbuildPath.lastIndexOf("node_modules") + "node_modules".length), ".cache", "omnimeta");
  } catch {
    return undefined;
  }
  const manifestPath = join(cacheDir, "metad.json");
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    if (manifest.entry === entry && inputsUnchanged(manifest.inputs)) return manifest.bundle;
  } catch {
    // no usable cache: build below
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
    const tag = `${process.pid}-${Date.now()}`;
    const out = join(cacheDir, `metad-${tag}.mjs`);
    const result = esbuild.buildSync({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: out,
      external: ["better-sqlite3"],
      metafile: true,
      logLevel: "silent",
      banner: { js: "import { createRequire as __omnimetaCreateRequire } from 'node:module'; const require = __omnimetaCreateRequire(import.meta.url);" },
    });
    const cwd = process.cwd();
    const inputs = Object.keys(result.metafile.inputs).map((p) => {
      const path = resolve(cwd, p);
      const s = statSync(path);
      return { path, size: s.size, mtimeMs: s.mtimeMs };
    });
    const tmp = `${manifestPath}.${tag}`;
    writeFileSync(tmp, JSON.stringify({ entry, bundle: out, inputs }));
    renameSync(tmp, manifestPath);
    // Older bundles are no longer referenced. Only those older than ten minutes are removed: a process
    // started at the same moment may have read the previous manifest and not have imported its bundle yet.
    const staleBeforeMs = Date.now() - 10 * 60 * 1000;
    for (const f of readdirSync(cacheDir)) {
      const p = join(cacheDir, f);
      if (!f.startsWith("metad-") || !f.endsWith(".mjs") || p === out) continue;
      try {
        if (statSync(p).mtimeMs < staleBeforeMs) rmSync(p, { force: true });
      } catch {
        // removed by another process meanwhile
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

const bundled = bundle();
if (bundled !== undefined) {
  await import(pathToFileURL(bundled).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/main.ts");
}
