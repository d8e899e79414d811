// `npm run bench:ctl [-- --runs N] [-- --address URL,...]`: the wall time of `ctl --help` and of
// `ctl metadata get` against a local cluster (a fresh 3-node one of real metad processes unless
// --address names one), with `node -e 0` beside it as this machine's floor. One JSON line on stdout.
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { ProcessCluster } from "@omnimeta/testkit";
import { summarise, timeBareNode, timeCtl, type TimedRun } from "./start-time.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" }, address: { type: "string" } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs needs a positive integer");

function check(run: TimedRun, what: string): number {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}: ${run.stderr}`);
  if (run.launch !== "bundle") throw new Error(`${what} did not run from the bundle (launch: ${run.launch})`);
  return run.wallMs;
}

const cluster = values.address === undefined ? await ProcessCluster.start({ size: 3, direct: true }) : undefined;
try {
  const address = values.address ?? cluster!.nodes.map((n) => n.address).join(",");
  const key = `bench/ctl-start-${process.pid}`;
  // Warm-up: (re)builds the bundle if a source changed, and writes the key the gets read.
  check(await timeCtl(["--address", address, "metadata", "put", key, "value"]), "ctl metadata put");
  const help: number[] = [];
  const get: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push(await timeBareNode());
    help.push(check(await timeCtl(["--help"]), "ctl --help"));
    get.push(check(await timeCtl(["--address", address, "metadata", "get", key]), "ctl metadata get"));
  }
  const result = {
    bench: "ctl-start",
    launch: "bundle",
    help: summarise(help),
    get: summarise(get),
    bareNode: summarise(node),
    loadavg1m: Math.round(loadavg()[0]! * 100) / 100,
    targetMs: 150,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await cluster?.close();
}
