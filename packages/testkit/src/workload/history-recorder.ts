// Records a run's history as it happens: one JSONL event per invoke and per completion, with
// times in µs from a monotonic clock, appended to a file so that a crashed run keeps its history.
import { createWriteStream, type WriteStream } from "node:fs";
import type { CompletionType, HistoryEvent, OpInput, OpOutput } from "../linearizability/history.ts";

export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private readonly out: WriteStream;
  private readonly originNs = process.hrtime.bigint();
  private nextOpId = 1;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: "w" });
  }

  /** Microseconds since the recorder started (monotonic). */
  nowUs(): number {
    return Number((process.hrtime.bigint() - this.originNs) / 1000n);
  }

  invoke(process: number, input: OpInput): number {
    const opId = this.nextOpId++;
    this.write({ type: "invoke", process, opId, timeUs: this.nowUs(), input });
    return opId;
  }

  complete(process: number, opId: number, type: CompletionType, output?: OpOutput, error?: string): void {
    const event: HistoryEvent = { type, process, opId, timeUs: this.nowUs() };
    if (output !== undefined) event.output = output;
    if (error !== undefined) event.error = error;
    this.write(event);
  }

  private write(event: HistoryEvent): void {
    this.events.push(event);
    this.out.write(JSON.stringify(event) + "\n");
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.out.end(() => resolve()));
  }
}
