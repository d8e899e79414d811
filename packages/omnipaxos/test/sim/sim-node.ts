// One simulated server: an OmniPaxos instance (absent while crashed) over crash-prone storage.
// Restart is what the durability contract says it is: a new OmniPaxos on the surviving storage.

import type { ClusterConfig, OmniPaxos, OmniPaxosOptions, ServerConfig } from "../../src/index.ts";
import type { DigestState } from "./digest-snapshot.ts";
import { DurableStorage } from "./durable-storage.ts";
import type { CoreModule } from "./core-module.ts";

export type Entry = number;
export type Node = OmniPaxos<Entry, DigestState>;

export class SimNode {
  instance: Node | undefined;
  readonly storage: DurableStorage<Entry, DigestState>;
  /** Tick at which a crashed node comes back (undefined while up or stopped for good). */
  restartAtTick: number | undefined;
  /** Shut down for good (a removed member, after it had time to tell the others). */
  stopped = false;
  removedAtTick: number | undefined;
  /** Decided slots [0, checkedIdx) of this life were compared with the global log. */
  checkedIdx = 0;
  /** Highest decidedIdx seen in this life. */
  decidedIdxSeen = 0;
  crashCount = 0;

  constructor(
    readonly pid: number,
    private readonly core: CoreModule,
    private readonly cluster: ClusterConfig,
    private readonly server: ServerConfig,
    private readonly options: OmniPaxosOptions<Entry, DigestState>,
  ) {
    this.storage = new DurableStorage<Entry, DigestState>(new core.MemoryStorage<Entry, DigestState>());
  }

  get up(): boolean {
    return this.instance !== undefined;
  }

  /** Starts (or restarts) the node on whatever its storage holds. */
  start(): void {
    this.instance = new this.core.OmniPaxos<Entry, DigestState>({ cluster: this.cluster, server: this.server }, this.storage, this.options);
    this.restartAtTick = undefined;
    this.checkedIdx = 0;
    this.decidedIdxSeen = 0;
  }

  /** Crashes the node: its unflushed writes and unsent messages are gone. */
  crash(restartAtTick: number | undefined): void {
    this.instance = undefined;
    this.storage.crash();
    this.restartAtTick = restartAtTick;
    this.crashCount++;
  }

  /** Ends the turn: takes the outgoing messages and makes the storage durable before they leave. */
  endTurn(): ReturnType<Node["takeOutgoingMessages"]> {
    const op = this.instance;
    if (op === undefined) return [];
    const out = op.takeOutgoingMessages();
    this.storage.flush();
    return out;
  }
}
