// `npm run fuzz -- --time 300 [--seed N] [--concurrency N]`: the fuzz run of run.ts for longer than CI
// does; prints progress, then one JSON report line; exits 1 when a requirement failed.
import { parseArgs } from "node:util";
import { runFuzz } from "./run.ts";

const { values } = parseArgs({ options: { time: { type: "string", default: "60" }, seed: { type: "string" }, concurrency: { type: "string" } } });
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 1_000_000);
const report = await runFuzz({
  timeMs: Number(values.time) * 1000,
  seed,
  ...(values.concurrency !== undefined ? { concurrency: Number(values.concurrency) } : {}),
  log: (line) => process.stderr.write(`fuzz: ${line}\n`),
});
process.stdout.write(`${JSON.stringify(report)}\n`);
if (report.failures.length > 0) {
  process.stderr.write(`fuzz FAILED (replay: npm run fuzz -- --time ${values.time} --seed ${seed}):\n  ${report.failures.join("\n  ")}\n`);
  process.exit(1);
}
process.stderr.write(`fuzz passed: ${report.requests} requests, ${Object.values(report.wireAttacks).reduce((a, b) => a + b, 0)} wire attacks, ${report.slowLorisConnections} slow-loris connections\n`);
process.exit(0);
