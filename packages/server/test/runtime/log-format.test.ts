// Logs: JSON lines for machines, one readable line per event on a terminal, the same fields in both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createJsonLogger } from "../../src/log.ts";

test("the JSON format writes one object per line with level, node, message and fields", () => {
  const lines: string[] = [];
  createJsonLogger({ level: "info", fields: { node: "n1" }, write: (l) => lines.push(l) }).child({ peer: 2 }).warn("peer down", { error: new Error("ECONNREFUSED"), lag: 3n });
  assert.equal(lines.length, 1);
  const o = JSON.parse(lines[0]!);
  assert.deepEqual({ ...o, ts: undefined }, { ts: undefined, level: "warn", node: "n1", peer: 2, msg: "peer down", error: "ECONNREFUSED", lag: "3" });
});

test("the text format is one readable line: time, level, node, message, key=value with quoted spaces", () => {
  const lines: string[] = [];
  const log = createJsonLogger({ level: "info", fields: { node: "n1" }, write: (l) => lines.push(l), format: "text" });
  log.debug("hidden");
  log.info("leader", { leaderId: 2, leaderName: "n 2", ballot: { n: 1, pid: 2 }, skipped: undefined });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d\d\d INFO  n1 leader leaderId=2 leaderName="n 2" ballot=\{"n":1,"pid":2\}\n$/);
});
