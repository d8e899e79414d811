// After the nemesis healed everything: every key is read at every node (linearizable reads,
// retried until answered) and the reads go into the history, so that an acknowledged write that
// was lost, or a node that stays behind, shows up as a violation.
import { setTimeout as sleep } from "node:timers/promises";
import type { ProcessCluster } from "../cluster/process-cluster.ts";
import { executeOp } from "../workload/execute-op.ts";
import type { HistoryRecorder } from "../workload/history-recorder.ts";

/** History process ids of the final readers start here (workload clients are 0..N-1). */
export const FINAL_READER_PROCESS = 1000;

/** Answers how many final reads never got an answer (0 when all did). */
export async function finalReads(cluster: ProcessCluster, keys: readonly string[], recorder: HistoryRecorder, timeoutMs: number): Promise<number> {
  let unanswered = 0;
  await Promise.all(
    cluster.nodes.map(async (node, i) => {
      const process = FINAL_READER_PROCESS + i;
      for (const key of keys) {
        const input = { f: "get" as const, key };
        const opId = recorder.invoke(process, input);
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const r = await executeOp(cluster.client(node.name), input, `final-${i}-${key}`, 2000);
          if (r.type !== "info") {
            recorder.complete(process, opId, r.type, r.output, r.type === "fail" ? r.error : undefined);
            break;
          }
          if (Date.now() > deadline) {
            recorder.complete(process, opId, "info", undefined, r.error);
            unanswered++;
            break;
          }
          await sleep(100);
        }
      }
    }),
  );
  return unanswered;
}
