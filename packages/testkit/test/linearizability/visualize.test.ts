// The HTML timeline of a violation shows every op of the key around it, witness ops highlighted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkEvents } from "../../src/linearizability/check.ts";
import { pairOperations, partitionByKey } from "../../src/linearizability/history.ts";
import { renderAnomalyHtml } from "../../src/linearizability/visualize.ts";
import { HistoryBuilder, value, written } from "./history-builder.ts";

test("the timeline of a stale read shows both writes and the read, with the witness in red", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", written(1))
    .put(1, [20, 30], "a", "y<&>", written(2))
    .get(2, [40, 50], "a", value("x", 1))
    .put(3, [45, 60], "a", "later", "info");
  const r = checkEvents(h.sorted());
  const keyOps = partitionByKey(pairOperations(h.sorted())).get("a")!;
  const html = renderAnomalyHtml(r.anomalies[0], keyOps);
  assert.match(html, /<svg /);
  assert.equal((html.match(/<rect /g) ?? []).length, 4);
  assert.equal((html.match(/fill="#f4a6a6"/g) ?? []).length, 2);
  assert.match(html, /y&lt;&amp;&gt;/);
  assert.match(html, /stroke-dasharray/);
});
