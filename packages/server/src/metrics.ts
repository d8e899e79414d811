// Prometheus text exposition for /metrics: counters, gauges and histograms with labels, kept in memory.
// Hand-written on purpose (a few dozen lines) to avoid a dependency; the format is text/plain version 0.0.4.

type Labels = Record<string, string>;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return "";
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

interface Metric {
  render(out: string[]): void;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    if (this.values.size === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.values) out.push(`${this.name}${k} ${v}`);
  }
}

/** A gauge whose value is read when /metrics is scraped. */
export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  private collector: (() => Array<[Labels | undefined, number]>) | undefined;
  constructor(readonly name: string, readonly help: string) {}
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value);
  }
  collect(fn: () => Array<[Labels | undefined, number]>): void {
    this.collector = fn;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    const rows: Array<[string, number]> = this.collector
      ? this.collector().map(([l, v]) => [labelKey(l), v])
      : [...this.values];
    for (const [k, v] of rows) out.push(`${this.name}${k} ${v}`);
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {
    this.counts = new Array<number>(buckets.length).fill(0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) this.counts[i]++;
  }
  get observations(): { count: number; sum: number } {
    return { count: this.count, sum: this.sum };
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
  }
}

const secondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const sizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** Every metric metad exports. */
export class ServerMetrics {
  readonly isLeader = new Gauge("omnimeta_is_leader", "1 when this node is the leader");
  readonly leaderId = new Gauge("omnimeta_leader_id", "The node id of the current leader (0: unknown)");
  readonly ballotN = new Gauge("omnimeta_ballot_n", "The n of the current ballot");
  readonly configurationId = new Gauge("omnimeta_configuration_id", "The current configuration id");
  readonly members = new Gauge("omnimeta_members", "Members of the current configuration");
  readonly decidedIdx = new Gauge("omnimeta_decided_idx", "Decided log index");
  readonly appliedIdx = new Gauge("omnimeta_applied_idx", "Applied log index");
  readonly compactedIdx = new Gauge("omnimeta_compacted_idx", "Log slots below this index are folded into the snapshot");
  readonly compactionSeconds = new Histogram("omnimeta_compaction_seconds", "Duration of one local log compaction (snapshot)", secondsBuckets);
  readonly peerConnected = new Gauge("omnimeta_peer_connected", "1 when the outbound stream to a peer is up");
  readonly commitSeconds = new Histogram("omnimeta_commit_seconds", "Duration of one group commit: the SQLite transaction with its fsync (turns that staged nothing are not counted)", secondsBuckets);
  readonly writeSeconds = new Histogram("omnimeta_write_seconds", "Leader-side latency of a write: proposed until applied, durable and answered", secondsBuckets);
  readonly readBarrierSeconds = new Histogram("omnimeta_read_barrier_seconds", "Leader-side latency of a linearizable read barrier (read-index round + apply wait)", secondsBuckets);
  readonly pendingWrites = new Gauge("omnimeta_pending_writes", "Writes proposed at this leader and not yet answered");
  readonly pendingReads = new Gauge("omnimeta_pending_reads", "Linearizable reads waiting for their barrier at this leader");
  readonly flushSeconds = new Histogram("omnimeta_flush_seconds", "Duration of one event-loop flush (commit, send, answer)", secondsBuckets);
  readonly commitEntries = new Histogram("omnimeta_commit_entries", "Log entries decided and applied per group commit", sizeBuckets);
  readonly flushInputs = new Histogram("omnimeta_flush_inputs", "Inputs (client proposals, peer batches, ticks) per flush", sizeBuckets);
  readonly peerBatchMessages = new Histogram("omnimeta_peer_batch_messages", "Core messages per Exchange batch sent", sizeBuckets);
  readonly readBatch = new Histogram("omnimeta_read_index_batch", "Linearizable reads served by one read-index round", sizeBuckets);
  readonly requests = new Counter("omnimeta_requests_total", "Client requests by method and outcome code");
  readonly forwarded = new Counter("omnimeta_forwarded_total", "Requests forwarded to the leader");
  readonly peerMessagesSent = new Counter("omnimeta_peer_messages_sent_total", "Core messages sent to peers");
  readonly peerMessagesReceived = new Counter("omnimeta_peer_messages_received_total", "Core messages received from peers");
  readonly peerMessagesDropped = new Counter("omnimeta_peer_messages_dropped_total", "Core messages dropped (queue full or stream down)");
  readonly peerReconnects = new Counter("omnimeta_peer_reconnects_total", "Outbound peer stream (re)connections");

  render(): string {
    const out: string[] = [];
    for (const m of Object.values(this)) if (m && typeof (m as Metric).render === "function") (m as Metric).render(out);
    return out.join("\n") + "\n";
  }
}
