// Every metric metad exports on /metrics, rendered by prom-client (Prometheus text 0.0.4) beside the
// process's default metrics (process-metrics.ts). The hot path pays an addition per event: counters and
// histograms keep plain numbers in pre-bound cells (one per label set, made once), and prom-client reads
// them at scrape time, so no request allocates a label object or hashes label names.

import { Counter as PromCounter, Gauge as PromGauge, Registry, type Metric as PromMetric } from "prom-client";
import { processRegistry } from "./process-metrics.ts";

export type Labels = Record<string, string>;

/** The labels with their keys sorted, so that every cell renders its labels in one stable order. */
function sortedLabels(labels: Labels | undefined): Labels {
  const out: Labels = {};
  if (labels) for (const k of Object.keys(labels).sort()) out[k] = labels[k]!;
  return out;
}

function keyOf(labels: Labels | undefined): string {
  return labels === undefined ? "" : JSON.stringify(sortedLabels(labels));
}

/** One label set of a counter: keep it and `inc()` costs an addition. */
export class CounterCell {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class Counter {
  private readonly cells = new Map<string, CounterCell>();
  private readonly unlabelled: CounterCell | undefined;

  constructor(registry: Registry, readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    const cells = this.cells;
    new PromCounter({
      name,
      help,
      labelNames: [...labelNames].sort(),
      registers: [registry],
      collect(this: PromCounter<string>) {
        this.reset();
        for (const c of cells.values()) this.inc(c.labels, c.value);
      },
    });
    if (labelNames.length === 0) this.unlabelled = this.cell();
  }

  /** The cell of one label set (made on first use). Label values must be bounded (method, code, peer id). */
  cell(labels?: Labels): CounterCell {
    const key = keyOf(labels);
    let c = this.cells.get(key);
    if (c === undefined) this.cells.set(key, (c = new CounterCell(sortedLabels(labels))));
    return c;
  }

  inc(labels?: Labels, by = 1): void {
    (labels === undefined && this.unlabelled ? this.unlabelled : this.cell(labels)).value += by;
  }

  get(labels?: Labels): number {
    return this.cells.get(keyOf(labels))?.value ?? 0;
  }
}

/** A gauge whose value is read when /metrics is scraped (collect), or set. */
export class Gauge {
  private readonly prom: PromGauge<string>;
  private collector: (() => Array<[Labels | undefined, number]>) | undefined;

  constructor(registry: Registry, readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    const self = this;
    this.prom = new PromGauge({
      name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      collect(this: PromGauge<string>) {
        if (self.collector === undefined) return;
        this.reset();
        for (const [labels, v] of self.collector()) {
          if (labels === undefined) this.set(v);
          else this.set(labels, v);
        }
      },
    });
  }

  set(value: number, labels?: Labels): void {
    if (labels === undefined) this.prom.set(value);
    else this.prom.set(labels, value);
  }

  /** From now on the gauge's rows are what `fn` returns at each scrape. */
  collect(fn: () => Array<[Labels | undefined, number]>): void {
    this.collector = fn;
  }
}

/** The buckets of one label set of a histogram (counts per bucket, not cumulative: summed at scrape). */
export class HistogramCell {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly labels: Labels, private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram kept in cells, registered with prom-client as a metric object whose get() returns
 * the values prom-client's own Histogram returns (name_bucket{le}, name_sum, name_count).
 */
export class Histogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly cells = new Map<string, HistogramCell>();
  private readonly unlabelled: HistogramCell | undefined;
  /** Another histogram that records every observation too (a second, standard name for one measurement). */

  constructor(registry: Registry, readonly name: string, readonly help: string, readonly buckets: readonly number[], labelled = false) {
    registry.registerMetric(this as unknown as PromMetric);
    if (!labelled) this.unlabelled = this.cell();
  }

  cell(labels?: Labels): HistogramCell {
    const key = keyOf(labels);
    let c = this.cells.get(key);
    if (c === undefined) this.cells.set(key, (c = new HistogramCell(sortedLabels(labels), this.buckets)));
    return c;
  }

  observe(value: number): void {
    this.unlabelled!.observe(value);
  }


  get observations(): { count: number; sum: number } {
    let count = 0;
    let sum = 0;
    for (const c of this.cells.values()) (count += c.count), (sum += c.sum);
    return { count, sum };
  }

  /** prom-client's metric-object contract (Registry.getMetricsAsString). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: unknown[] }> {
    const values: unknown[] = [];
    for (const c of this.cells.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += c.counts[i]!;
        values.push({ labels: { ...c.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...c.labels, le: "+Inf" }, value: c.count, metricName: `${this.name}_bucket` });
      values.push({ labels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  // Registry.resetMetrics and getMetricsAsJSON call these on every metric object.
  reset(): void {
    for (const c of this.cells.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}

const secondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const sizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** Every metric of one node (its own registry: an embedding process may run several nodes). */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly r = this.registry;
  readonly isLeader = new Gauge(this.r, "omnimeta_is_leader", "1 when this node is the leader");
  readonly leaderId = new Gauge(this.r, "omnimeta_leader_id", "The node id of the current leader (0: unknown)");
  readonly ballotN = new Gauge(this.r, "omnimeta_ballot_n", "The n of the current ballot");
  readonly configurationId = new Gauge(this.r, "omnimeta_configuration_id", "The current configuration id");
  readonly members = new Gauge(this.r, "omnimeta_members", "Members of the current configuration");
  readonly decidedIdx = new Gauge(this.r, "omnimeta_decided_idx", "Decided log index");
  readonly appliedIdx = new Gauge(this.r, "omnimeta_applied_idx", "Applied log index");
  readonly compactedIdx = new Gauge(this.r, "omnimeta_compacted_idx", "Log slots below this index are folded into the snapshot");
  readonly compactionSeconds = new Histogram(this.r, "omnimeta_compaction_seconds", "Duration of one local log compaction (snapshot)", secondsBuckets);
  readonly peerConnected = new Gauge(this.r, "omnimeta_peer_connected", "1 when the outbound stream to a peer is up", ["peer"]);
  readonly peerRoundTripSeconds = new Histogram(this.r, "omnimeta_network_peer_round_trip_time_seconds", "Round-trip time of a probe (PeerService.Identify) to each peer, every few seconds", secondsBuckets, true);
  readonly peerProbeFailures = new Counter(this.r, "omnimeta_peer_probe_failures_total", "Probes to a peer that failed or timed out", ["peer"]);
  readonly commitSeconds = new Histogram(this.r, "omnimeta_commit_seconds", "Duration of one group commit: the SQLite transaction with its fsync (turns that staged nothing are not counted)", secondsBuckets);
  readonly walFsyncSeconds = new Histogram(this.r, "omnimeta_disk_wal_fsync_duration_seconds", "Latency of making one group commit durable: the fdatasync of the SQLite WAL, run off the event loop (or a commit with its fsync outside the hot path), under etcd's name", secondsBuckets);
  readonly writeSeconds = new Histogram(this.r, "omnimeta_write_seconds", "Leader-side latency of a write: proposed until applied, durable and answered", secondsBuckets);
  readonly readBarrierSeconds = new Histogram(this.r, "omnimeta_read_barrier_seconds", "Leader-side latency of a linearizable read barrier (read-index round + apply wait)", secondsBuckets);
  readonly pendingWrites = new Gauge(this.r, "omnimeta_pending_writes", "Writes proposed at this leader and not yet answered");
  readonly pendingReads = new Gauge(this.r, "omnimeta_pending_reads", "Linearizable reads waiting for their barrier at this leader");
  readonly flushSeconds = new Histogram(this.r, "omnimeta_flush_seconds", "Duration of one event-loop flush (commit, send, answer)", secondsBuckets);
  readonly commitEntries = new Histogram(this.r, "omnimeta_commit_entries", "Log entries decided and applied per group commit", sizeBuckets);
  readonly flushInputs = new Histogram(this.r, "omnimeta_flush_inputs", "Inputs (client proposals, peer batches, ticks) per flush", sizeBuckets);
  readonly peerBatchMessages = new Histogram(this.r, "omnimeta_peer_batch_messages", "Core messages per Exchange batch sent", sizeBuckets);
  readonly readBatch = new Histogram(this.r, "omnimeta_read_index_batch", "Linearizable reads served by one read-index round", sizeBuckets);
  readonly requests = new Counter(this.r, "omnimeta_requests_total", "Client requests by method and outcome code", ["method", "code"]);
  readonly forwarded = new Counter(this.r, "omnimeta_forwarded_total", "Requests forwarded to the leader");
  readonly authFailures = new Counter(this.r, "omnimeta_auth_failures_total", "Calls refused by authentication (unauthenticated) or authorisation (permission_denied), by reason (missing_token, invalid_token, not_admin, missing_peer_secret, invalid_peer_secret)", ["code", "reason"]);
  readonly peerMessagesSent = new Counter(this.r, "omnimeta_peer_messages_sent_total", "Core messages sent to peers");
  readonly peerMessagesReceived = new Counter(this.r, "omnimeta_peer_messages_received_total", "Core messages received from peers");
  readonly peerMessagesDropped = new Counter(this.r, "omnimeta_peer_messages_dropped_total", "Core messages dropped (queue full or stream down)");
  readonly peerReconnects = new Counter(this.r, "omnimeta_peer_reconnects_total", "Outbound peer stream (re)connections");
  readonly stateTransferBytes = new Counter(this.r, "omnimeta_state_transfer_bytes_total", "Bytes of state transfer (snapshot chunks pulled by a joining or lagging node, and log-carrying sync batches), by direction", ["direction"]);
  readonly stateTransferFailures = new Counter(this.r, "omnimeta_state_transfer_failures_total", "Snapshot transfers this node received that failed and started over (sender gone, corrupt chunk, leader change)");
  readonly stateTransferActive = new Gauge(this.r, "omnimeta_state_transfer_active", "1 while this node receives a snapshot from a peer");
  /** The largest encoded core-message batch sent to a peer (built whole in memory before it is cut into frames). */
  readonly peerBatchBytesMax = new Gauge(this.r, "omnimeta_peer_batch_bytes_max", "Largest encoded core-message batch sent to a peer since start (whole in memory before chunking), in bytes");
  /** The largest enveloped ExchangeRequest frame written onto a peer stream. */
  readonly peerFrameBytesMax = new Gauge(this.r, "omnimeta_peer_frame_bytes_max", "Largest ExchangeRequest frame (envelope included) written to a peer stream since start, in bytes");
  private batchBytesMax = 0;
  private frameBytesMax = 0;
  private readonly stateSent = this.stateTransferBytes.cell({ direction: "sent" });
  private readonly stateReceived = this.stateTransferBytes.cell({ direction: "received" });
  /** method -> code -> cell: two map look-ups per request, no allocation after the first of each pair. */
  private readonly requestCells = new Map<string, Map<string, CounterCell>>();


  /** Counts one client request (omnimeta_requests_total{method,code}); code "ok" or a Connect code name. */
  countRequest(method: string, code: string): void {
    let byCode = this.requestCells.get(method);
    if (byCode === undefined) this.requestCells.set(method, (byCode = new Map()));
    let cell = byCode.get(code);
    if (cell === undefined) byCode.set(code, (cell = this.requests.cell({ method, code })));
    cell.value++;
  }

  /** For the peer transport: the size of one encoded batch sent (omnimeta_peer_batch_bytes_max). */
  observePeerBatchBytes(bytes: number): void {
    if (bytes > this.batchBytesMax) this.peerBatchBytesMax.set((this.batchBytesMax = bytes));
  }

  /** For the peer transport: the size of one frame written (omnimeta_peer_frame_bytes_max). */
  observePeerFrameBytes(bytes: number): void {
    if (bytes > this.frameBytesMax) this.peerFrameBytesMax.set((this.frameBytesMax = bytes));
  }

  /** For the state-transfer code: bytes of one chunk sent to, or received from, a peer. */
  addStateTransferBytes(direction: "sent" | "received", bytes: number): void {
    (direction === "sent" ? this.stateSent : this.stateReceived).value += bytes;
  }

  /** The exposition: this node's metrics, then the process's (default metrics, event-loop delay). */
  async render(): Promise<string> {
    const [own, proc] = await Promise.all([this.registry.metrics(), processRegistry().metrics()]);
    return own + proc;
  }

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
}
