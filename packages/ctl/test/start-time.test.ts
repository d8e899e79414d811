// ctl starts at once: it runs from the cached esbuild bundle (never the TypeScript loader), a changed
// source rebuilds the bundle, tsx remains the fallback, and `--help` and `metadata get` against a real
// node stay within a loose wall-time bound (the 150 ms target is measured by `npm run bench:ctl`; the
// bound here is loose so that a loaded CI machine does not fail it, while tsx takes over a second).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { statSync, utimesSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { OmnimetaClient } from "@omnimeta/client";
import { ProcessCluster } from "@omnimeta/testkit";
import { timeCtl, type TimedRun } from "../bench/start-time.ts";

const looseBoundMs = 800;

/** The fastest start of a bare `node -e 0` now: on a loaded machine both it and ctl slow down, so the bound
 *  scales with it (ctl from the bundle is about 2-3x a bare node; under tsx, 10x). */
function bareNodeMs(): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    spawnSync(process.execPath, ["-e", "0"]);
    best = Math.min(best, performance.now() - t);
  }
  return best;
}
const boundMs = (): number => Math.max(looseBoundMs, 5 * bareNodeMs());
let cluster: ProcessCluster;
let address = "";

before(async () => {
  cluster = await ProcessCluster.start({ size: 1, direct: true });
  address = cluster.nodes[0]!.address;
  const client = new OmnimetaClient({ endpoints: [address], mode: "unary" });
  try {
    await client.put("start-time/key", new TextEncoder().encode("v"));
  } finally {
    client.close();
  }
});

after(async () => {
  await cluster?.close();
});

async function fastest(args: string[], runs: number): Promise<TimedRun> {
  await timeCtl(args); // warm-up: builds the bundle if a source changed since the last run
  let best: TimedRun | undefined;
  for (let i = 0; i < runs; i++) {
    const run = await timeCtl(args);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.launch, "bundle", `ctl ${args.join(" ")} ran under ${run.launch}, not the bundle`);
    if (best === undefined || run.wallMs < best.wallMs) best = run;
  }
  return best!;
}

describe("ctl start time", () => {
  it("runs --help from the bundle, without the TypeScript loader, within a loose bound", async () => {
    const best = await fastest(["--help"], 5);
    assert.match(best.stdout, /Usage: ctl/);
    const bound = boundMs();
    assert.ok(best.wallMs < bound, `fastest ctl --help took ${best.wallMs.toFixed(0)} ms (bound ${bound.toFixed(0)} ms)`);
  });

  it("runs metadata get against a live node from the bundle within a loose bound", async () => {
    const best = await fastest(["--address", address, "--json", "metadata", "get", "start-time/key"], 3);
    assert.equal(JSON.parse(best.stdout).value, "v");
    const bound = boundMs();
    assert.ok(best.wallMs < bound, `fastest ctl metadata get took ${best.wallMs.toFixed(0)} ms (bound ${bound.toFixed(0)} ms)`);
  });

  it("rebuilds the bundle when one of its sources changes", async () => {
    const before = await timeCtl(["--help"]);
    const source = fileURLToPath(new URL("../src/main.ts", import.meta.url));
    const { atime, mtimeMs } = statSync(source);
    utimesSync(source, atime, new Date(Math.max(Date.now(), mtimeMs + 1000)));
    const afterTouch = await timeCtl(["--help"]);
    assert.equal(afterTouch.code, 0, afterTouch.stderr);
    assert.equal(afterTouch.launch, "bundle");
    assert.notEqual(afterTouch.bundle, before.bundle, "a new bundle after the source changed");
  });

  it("falls back to tsx with OMNIMETA_NO_BUNDLE=1 and still works", async () => {
    const run = await timeCtl(["--help"], { OMNIMETA_NO_BUNDLE: "1" });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.launch, "tsx");
    assert.match(run.stdout, /Usage: ctl/);
  });
});
