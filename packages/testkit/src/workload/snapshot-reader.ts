// A reader "process" for the wider checks: Lists (linearizable and serializable) and serializable
// Gets at random nodes, each recorded with the revision and node that answered. Reads have no
// effect, so one without an answer is simply dropped; so is a serializable Get of a missing key
// (NOT_FOUND carries no revision) and a read that spanned a wipe of its node.
import { setTimeout as sleep } from "node:timers/promises";
import { ReadConsistency, type KeyValue } from "@omnimeta/proto";
import type { NodeClient } from "../cluster/node-client.ts";
import type { KvSeen, SnapshotRead } from "../linearizability/observations.ts";
import type { Prng } from "../util/prng.ts";

/** A node as readers and watchers see it: its client and its current incarnation. */
export interface ReadTarget {
  name: string;
  client: NodeClient;
  incarnation(): number;
}

const decoder = new TextDecoder();
/** Far more than the workload's keys: a list answer is complete unless the server cuts it wrongly. */
const LIST_LIMIT = 100;

export function seenOf(kv: KeyValue): KvSeen {
  return { key: kv.key, value: decoder.decode(kv.value), version: Number(kv.version), modRevision: Number(kv.modRevision) };
}

export class SnapshotReader {
  private nextId = 1;

  constructor(
    readonly process: number,
    private readonly targets: () => readonly ReadTarget[],
    private readonly nowUs: () => number,
    private readonly rng: Prng,
    private readonly keys: readonly string[],
    private readonly reads: SnapshotRead[],
    private readonly timeoutMs: number,
  ) {}

  async run(stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      const target = this.rng.pick(this.targets());
      const r = this.rng.float();
      if (r < 0.4) await this.list(target, "linearizable", this.listPrefix());
      else if (r < 0.65) await this.list(target, "serializable", this.listPrefix());
      else await this.serializableGet(target, this.rng.pick(this.keys));
      await sleep(this.rng.int(20));
    }
  }

  private listPrefix(): string {
    return this.rng.chance(0.7) ? "k" : this.rng.pick(this.keys);
  }

  /** One List at `target`; records and answers it, or undefined when it got no answer. */
  async list(target: ReadTarget, consistency: SnapshotRead["consistency"], prefix: string): Promise<SnapshotRead | undefined> {
    const incarnation = target.incarnation();
    const callUs = this.nowUs();
    const level = consistency === "linearizable" ? ReadConsistency.LINEARIZABLE : ReadConsistency.SERIALIZABLE;
    let answer;
    try {
      answer = await target.client.metadata.list({ prefix, limit: LIST_LIMIT, consistency: level }, { timeoutMs: this.timeoutMs });
    } catch {
      return undefined;
    }
    const returnUs = this.nowUs();
    if (target.incarnation() !== incarnation) return undefined;
    const read: SnapshotRead = {
      id: this.id(), kind: "list", consistency, node: target.name, incarnation, prefix, callUs, returnUs,
      revision: Number(answer.revision), kvs: answer.kvs.map(seenOf), complete: answer.nextPageToken === "",
    };
    this.reads.push(read);
    return read;
  }

  private async serializableGet(target: ReadTarget, key: string): Promise<void> {
    const incarnation = target.incarnation();
    const callUs = this.nowUs();
    let answer;
    try {
      answer = await target.client.metadata.get({ key, consistency: ReadConsistency.SERIALIZABLE }, { timeoutMs: this.timeoutMs });
    } catch {
      return;
    }
    const returnUs = this.nowUs();
    if (target.incarnation() !== incarnation || answer.kv === undefined) return;
    this.reads.push({
      id: this.id(), kind: "get", consistency: "serializable", node: target.name, incarnation, prefix: key, callUs, returnUs,
      revision: Number(answer.revision), kvs: [seenOf(answer.kv)], complete: true,
    });
  }

  private id(): number {
    return this.process * 1_000_000 + this.nextId++;
  }
}
