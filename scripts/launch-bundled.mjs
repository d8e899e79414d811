// Runs a TypeScript entry point from a cached single-file esbuild bundle (esbuild ships with tsx), so that a
// binary neither pays the TypeScript loader's start-up (~1 s for ctl) nor carries its hook thread (~40 MB of
// RSS for a metad). Shared by packages/server/bin/metad.js and packages/ctl/bin/ctl.js.
// The bundle is rebuilt whenever one of its input files changed (checked by size and mtime, without loading
// esbuild when nothing did); the tsx loader is the fallback, or forced with OMNIMETA_NO_BUNDLE=1.
// OMNIMETA_LAUNCH_TRACE=1 prints one line on stderr saying which of the two ran (the start-time test uses it).
import { createRequire } from "node:module";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
// Inside <root>/node_modules, so that the bundle's external imports (better-sqlite3) resolve from there.
const cacheDir = join(repoRoot, "node_modules", ".cache", "omnimeta");
/** Bundles no longer referenced by a manifest are removed once they are this old (a process started at the
 *  same moment may have read the previous manifest and not have imported its bundle yet). */
const staleBundleMs = 10 * 60 * 1000;

function inputsUnchanged(inputs) {
  try {
    for (const i of inputs) {
      const s = statSync(i.path);
      if (s.size !== i.size || s.mtimeMs !== i.mtimeMs) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function cachedBundle(manifestPath, entry) {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    if (manifest.entry === entry && inputsUnchanged(manifest.inputs)) return manifest.bundle;
  } catch {
    // no usable cache
  }
  return undefined;
}

function build(name, entry, external, manifestPath) {
  const esbuild = createRequire(import.meta.url)("esbuild");
  mkdirSync(cacheDir, { recursive: true });
  const tag = `${process.pid}-${Date.now()}`;
  const out = join(cacheDir, `${name}-${tag}.mjs`);
  const result = esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: out,
    external,
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
  const staleBeforeMs = Date.now() - staleBundleMs;
  for (const f of readdirSync(cacheDir)) {
    const p = join(cacheDir, f);
    if (!f.startsWith(`${name}-`) || !f.endsWith(".mjs") || p === out) continue;
    try {
      if (statSync(p).mtimeMs < staleBeforeMs) rmSync(p, { force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
  return out;
}

/** [path of an up-to-date bundle, "cached" | "built"], or [undefined, reason] when bundling is not possible. */
function bundle(name, entry, external) {
  if (process.env.OMNIMETA_NO_BUNDLE === "1") return [undefined, "OMNIMETA_NO_BUNDLE=1"];
  const manifestPath = join(cacheDir, `${name}.json`);
  const cached = cachedBundle(manifestPath, entry);
  if (cached !== undefined) return [cached, "cached"];
  try {
    return [build(name, entry, external, manifestPath), "built"];
  } catch (e) {
    return [undefined, `cannot bundle: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`];
  }
}

/**
 * Imports `entry` (an absolute path to a .ts file) from its bundle, or under tsx when there is none.
 * `name` names the cache files (`<name>.json`, `<name>-*.mjs`); `external` lists packages left out of the
 * bundle (native addons).
 */
export async function launchBundled({ name, entry, external = [] }) {
  const [path, how] = bundle(name, entry, external);
  if (process.env.OMNIMETA_LAUNCH_TRACE === "1") {
    process.stderr.write(path !== undefined ? `launch: bundle ${how} ${path}\n` : `launch: tsx (${how})\n`);
  }
  if (path !== undefined) {
    await import(pathToFileURL(path).href);
    return;
  }
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(entry).href);
}
