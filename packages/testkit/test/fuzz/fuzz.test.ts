// The CI fuzz run (~30 s; `npm run fuzz -- --time 300` for a longer one): a live 3-node cluster of real
// processes gets at least 10,000 random and malformed requests on every RPC over Connect, Connect
// JSON/HTTP/1.1, gRPC and gRPC-web, plus wire attacks and slow-loris connections on the peer port, and
// must come out with no crash, no improper code, the same keys and bounded memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runFuzz } from "../../src/fuzz/run.ts";

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 1_000_000));

test("10,000 random and malformed requests, wire attacks and slow-loris connections leave a 3-node cluster running, its keys unchanged and its memory bounded", { timeout: 240_000 }, async () => {
  const report = await runFuzz({ timeMs: 30_000, seed, requestsMin: 10_000, log: (l) => process.stderr.write(`fuzz: ${l}\n`) });
  const { failures, ...counts } = report;
  process.stderr.write(`fuzz report: ${JSON.stringify(counts)}\n`);
  assert.deepEqual(failures, [], `seed ${seed} (replay: FUZZ_SEED=${seed} node scripts/run-tests.mjs fuzz.test)`);
  assert.ok(report.requests >= 10_000, `only ${report.requests} requests`);
  for (const rpc of ["Get", "GetVersion", "Put", "Delete", "List", "Watch", "Session", "Provision", "Status", "ListMembers", "AddMember", "RemoveMember", "WatchLeader", "Exchange", "Join", "Identify", "Admit"]) {
    assert.ok((report.byRpc[rpc] ?? 0) > 0, `no ${rpc} was sent`);
  }
  assert.equal(Object.keys(report.byProtocol).length, 4);
  assert.equal(report.keysCompared, 40);
});
