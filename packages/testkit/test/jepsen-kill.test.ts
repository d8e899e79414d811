// A short fault run in CI: 3 real metad processes, 8 clients, the kill nemesis; the history
// must be linearizable and no acknowledged write may be lost.
import { test } from "node:test";
import { assertValidRun, shortRun } from "./jepsen-helpers.ts";

test("under the kill nemesis the history of 3 real nodes stays linearizable and loses no acknowledged write", async () => {
  assertValidRun(await shortRun("kill", 101), "kill");
});
