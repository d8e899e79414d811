// Provision, join, add and remove: every change of who is in the cluster. Membership changes go through
// the leader as one OmniPaxos reconfiguration (a StopSign carrying the next members), one at a time.

import { Code } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { NodeState, type IdentifyResponse, type JoinRequest, type JoinResponse } from "@omnimeta/proto";
import { OpError, unavailable } from "../rpc/op-error.ts";
import { FORWARDED_HEADER } from "./leader-forwarder.ts";
import {
  configurationToProto,
  decodeMembership,
  encodeMembership,
  withMemberAdded,
  withMemberRemoved,
  type Membership,
} from "./membership.ts";
import type { MemberInfo } from "./node-status.ts";
import type { NodeRuntime } from "./node-runtime.ts";

const reconfigureTimeoutMs = 15_000;

export interface ProvisionOptions {
  /** Provision although some --join peers cannot be reached (ProvisionRequest.force_new_cluster). */
  forceNewCluster?: boolean;
}
const joinBackoffMinMs = 100;
/** How long provision waits for a --join peer's Identify: under a client's 3 s attempt, so the refusal arrives. */
const peerAskTimeoutMs = 2000;
const joinBackoffMaxMs = 3000;

export class MembershipChanges {
  private provisioning: Promise<{ alreadyProvisioned: boolean; clusterId: string }> | undefined;
  private reconfiguring = false;

  constructor(private readonly rt: NodeRuntime) {}

  // ---- provision ----

  provision(options: ProvisionOptions = {}): Promise<{ alreadyProvisioned: boolean; clusterId: string }> {
    this.provisioning ??= this.doProvision(options).finally(() => (this.provisioning = undefined));
    return this.provisioning;
  }

  private async doProvision(options: ProvisionOptions): Promise<{ alreadyProvisioned: boolean; clusterId: string }> {
    const rt = this.rt;
    if (rt.replica || rt.clusterId !== "") return { alreadyProvisioned: true, clusterId: rt.clusterId };
    try {
      await this.checkJoinPeers(options.forceNewCluster ?? false);
    } catch (e) {
      if (rt.replica) return { alreadyProvisioned: true, clusterId: rt.clusterId }; // joined meanwhile
      throw e;
    }
    if (rt.replica) return { alreadyProvisioned: true, clusterId: rt.clusterId };
    const membership: Membership = {
      clusterId: randomUUID(),
      nextNodeId: 2,
      configuration: {
        configurationId: 1,
        startIdx: 0,
        members: [{ nodeId: 1, name: rt.options.name, address: rt.address, storageId: rt.store.identity.storageId }],
      },
    };
    rt.install(1, membership);
    rt.logger.info("provisioned", { clusterId: membership.clusterId, nodeId: 1 });
    return { alreadyProvisioned: false, clusterId: membership.clusterId };
  }

  /**
   * A node told to join peers never founds a second cluster next to theirs: every --join peer is asked
   * first. Both refusals are FAILED_PRECONDITION, not UNAVAILABLE: this node is up and answering, and
   * what blocks the call is the state around it, which an operator must change (bring the peers up, or
   * decide with force_new_cluster); UNAVAILABLE would make clients re-send it on their own, and a
   * blind retry is exactly what must never end in a new cluster.
   */
  private async checkJoinPeers(forceNewCluster: boolean): Promise<void> {
    const peers = this.rt.options.join ?? [];
    const answers = await Promise.all(peers.map((address) =>
      this.identify(address, peerAskTimeoutMs).then((id) => ({ address, id }), (e: unknown) => ({ address, error: `${address} (${OpError.from(e).message})` }))));
    const member = answers.find((a) => "id" in a && a.id.clusterId !== "");
    if (member && "id" in member) {
      throw new OpError(Code.FailedPrecondition,
        `not provisioning: --join peer ${member.address} is a member of cluster ${member.id.clusterId}; this node joins that cluster instead`);
    }
    const unreachable = answers.flatMap((a) => ("error" in a ? [a.error] : []));
    if (unreachable.length > 0 && !forceNewCluster) {
      throw new OpError(Code.FailedPrecondition,
        `not provisioning: --join peer${unreachable.length > 1 ? "s" : ""} ${unreachable.join(", ")} cannot be reached and may already ` +
        "be in a cluster; start them, or provision with --force-new-cluster to found a new cluster anyway");
    }
    if (unreachable.length > 0) this.rt.logger.warn("provisioning without asking unreachable --join peers (force_new_cluster)", { unreachable });
  }

  identify(address: string, timeoutMs = 3000): Promise<IdentifyResponse> {
    return this.rt.clients.get(address).peer.identify({}, { timeoutMs });
  }

  identity(): Omit<IdentifyResponse, "$typeName"> {
    const rt = this.rt;
    const state = { unprovisioned: NodeState.UNPROVISIONED, joining: NodeState.JOINING, active: NodeState.ACTIVE, removed: NodeState.REMOVED }[rt.state];
    return { name: rt.options.name, address: rt.address, storageId: rt.store.identity.storageId, clusterId: rt.clusterId, nodeId: BigInt(rt.nodeId), state };
  }

  // ---- the joiner's side ----

  /** Asks the --join targets to be added, with backoff, until a configuration is installed. */
  async joinLoop(): Promise<void> {
    const rt = this.rt;
    const targets = rt.options.join ?? [];
    let failures = 0;
    let lastError = "";
    rt.setState("joining", "asking a member to be added");
    while (!rt.replica && !rt.closing) {
      const target = targets[failures % targets.length]!;
      try {
        const resp = await rt.clients.get(target).peer.join(
          { clusterId: rt.clusterId, name: rt.options.name, address: rt.address, storageId: rt.store.identity.storageId },
          { timeoutMs: reconfigureTimeoutMs + 5000 },
        );
        if (rt.replica || rt.closing) return; // admitted meanwhile (AddMember), or stopping
        this.installJoined(Number(resp.nodeId), resp.configurationMetadata);
        rt.logger.info("joined", { nodeId: Number(resp.nodeId), clusterId: resp.clusterId, via: target });
        return;
      } catch (e) {
        const msg = OpError.from(e).message;
        failures++;
        if (msg !== lastError) {
          rt.logger.warn("join refused or failed; retrying", { target, error: msg });
          lastError = msg;
        }
        rt.stateDetail = msg;
        const capMs = Math.min(joinBackoffMaxMs, joinBackoffMinMs * 2 ** Math.min(failures, 8));
        await new Promise((r) => setTimeout(r, capMs / 2 + Math.random() * capMs / 2));
      }
    }
  }

  private installJoined(nodeId: number, metadata: Uint8Array): void {
    const membership = decodeMembership(metadata);
    if (!membership.configuration.members.some((m) => m.nodeId === nodeId)) {
      throw new OpError(Code.Internal, `the join answer does not list node ${nodeId} as a member`);
    }
    this.rt.install(nodeId, membership);
  }

  /** PeerService.Admit: a member made us a member (AddMember). */
  admit(clusterId: string, nodeId: number, storageId: string, metadata: Uint8Array): void {
    const rt = this.rt;
    if (storageId !== rt.store.identity.storageId) {
      throw new OpError(Code.FailedPrecondition, `this node's storage id is ${rt.store.identity.storageId}, not ${storageId}`);
    }
    if (rt.replica) {
      if (rt.clusterId === clusterId && rt.nodeId === nodeId) return; // already installed (joined or admitted)
      throw new OpError(Code.FailedPrecondition, `this node is ${rt.state} in cluster ${rt.clusterId || "(none)"} as node ${rt.nodeId}`);
    }
    this.installJoined(nodeId, metadata);
    rt.logger.info("admitted", { nodeId, clusterId });
  }

  // ---- the leader's side ----

  /** PeerService.Join at any member: the leader adds the node, a follower passes the request on. */
  async join(req: JoinRequest, headers: Headers): Promise<Omit<JoinResponse, "$typeName">> {
    const rt = this.rt;
    if (rt.state !== "active") throw unavailable(`node ${rt.options.name} is ${rt.state}, not a member that can add nodes`);
    if (req.clusterId !== "" && req.clusterId !== rt.clusterId) {
      throw new OpError(Code.FailedPrecondition, `the joiner belongs to cluster ${req.clusterId}, this is cluster ${rt.clusterId}`);
    }
    if (!rt.replica?.isLeader()) {
      const hint = rt.leaderHint();
      if (headers.get(FORWARDED_HEADER) === "1" || !hint?.leaderAddress) throw unavailable("not the leader", hint);
      return rt.clients.get(hint.leaderAddress).peer.join(req, { headers: { [FORWARDED_HEADER]: "1" }, timeoutMs: reconfigureTimeoutMs + 2000 });
    }
    const [membership, nodeId] = await this.addMember({ name: req.name, address: req.address, storageId: req.storageId });
    return {
      nodeId: BigInt(nodeId),
      clusterId: membership.clusterId,
      configuration: configurationToProto(membership.configuration),
      configurationMetadata: encodeMembership(membership),
    };
  }

  /** At the leader: adds a node (idempotent for the same name and storage id). */
  async addMember(node: Omit<MemberInfo, "nodeId">): Promise<[Membership, number]> {
    const current = this.currentMembership();
    const same = current.configuration.members.find((m) => m.name === node.name);
    if (same && same.storageId === node.storageId) return [current, same.nodeId];
    if (same) {
      const msg =
        `node "${node.name}" is already a member (node id ${same.nodeId}) with storage id ${same.storageId}, but this incarnation has ` +
        `storage id ${node.storageId} (its data dir was lost or replaced); remove the old incarnation first: ctl members remove ${node.name}`;
      this.rt.logger.warn("rejoin refused", { name: node.name, oldNodeId: same.nodeId, oldStorageId: same.storageId, storageId: node.storageId });
      throw new OpError(Code.FailedPrecondition, msg);
    }
    const byAddress = current.configuration.members.find((m) => m.address === node.address);
    if (byAddress) {
      throw new OpError(Code.FailedPrecondition, `address ${node.address} already belongs to member "${byAddress.name}" (node id ${byAddress.nodeId})`);
    }
    const [next, nodeId] = withMemberAdded(current, node);
    await this.reconfigure(next);
    this.rt.logger.info("member added", { nodeId, name: node.name, address: node.address });
    return [next, nodeId];
  }

  /** ClusterService.AddMember at the leader: Identify the node, add it, tell it (Admit). */
  async addByAddress(address: string): Promise<Membership> {
    const id = await this.identify(address).catch((e: unknown) => {
      throw new OpError(Code.Unavailable, `cannot reach ${address} to identify it: ${OpError.from(e).message}`);
    });
    if (id.clusterId !== "" && id.clusterId !== this.rt.clusterId) {
      throw new OpError(Code.FailedPrecondition, `the node at ${address} belongs to another cluster (${id.clusterId})`);
    }
    const [membership, nodeId] = await this.addMember({ name: id.name, address: id.address || address, storageId: id.storageId });
    await this.rt.clients
      .get(address)
      .peer.admit({ clusterId: membership.clusterId, nodeId: BigInt(nodeId), storageId: id.storageId, configurationMetadata: encodeMembership(membership) }, { timeoutMs: 5000 })
      .catch((e: unknown) => this.rt.logger.warn("admit failed; the node joins when it next asks", { address, error: OpError.from(e).message }));
    return membership;
  }

  /** ClusterService.RemoveMember at the leader. */
  async remove(nodeId: number, name: string): Promise<Membership> {
    const current = this.currentMembership();
    const member = current.configuration.members.find((m) => (nodeId !== 0 ? m.nodeId === nodeId : m.name === name));
    if (!member) throw new OpError(Code.NotFound, `no member ${nodeId !== 0 ? `with node id ${nodeId}` : `named "${name}"`}`);
    if (current.configuration.members.length === 1) throw new OpError(Code.FailedPrecondition, "cannot remove the last member of the cluster");
    const next = withMemberRemoved(current, member.nodeId);
    await this.reconfigure(next);
    this.rt.logger.info("member removed", { nodeId: member.nodeId, name: member.name });
    return next;
  }

  private currentMembership(): Membership {
    const rt = this.rt;
    if (rt.state !== "active" || !rt.membership || !rt.replica) throw unavailable(`node is ${rt.state}`);
    if (!rt.replica.isLeader()) throw unavailable("not the leader", rt.leaderHint());
    return rt.membership;
  }

  /** Proposes the StopSign for `next` and waits until it is decided. One change at a time. */
  private async reconfigure(next: Membership): Promise<void> {
    const rt = this.rt;
    const replica = rt.replica!;
    const pending = replica.core.isReconfigured();
    if (this.reconfiguring || (pending && pending.nextConfig.configurationId > replica.core.getConfiguration().configurationId)) {
      throw unavailable("another membership change is in progress; retry shortly", rt.leaderHint());
    }
    this.reconfiguring = true;
    try {
      const nextId = next.configuration.configurationId;
      try {
        replica.core.reconfigure(
          { configurationId: nextId, nodes: next.configuration.members.map((m) => m.nodeId) },
          encodeMembership(next),
        );
      } catch (e) {
        throw new OpError(Code.FailedPrecondition, `the membership change was refused: ${(e as Error).message}`);
      }
      rt.addresses.addMembers(next.configuration.members);
      replica.wake();
      const deadline = Date.now() + reconfigureTimeoutMs;
      for (;;) {
        const decided = replica.core.isReconfigured()?.nextConfig.configurationId === nextId || replica.core.getConfiguration().configurationId >= nextId;
        if (decided) return;
        if (rt.closing) throw unavailable("node is shutting down");
        if (Date.now() > deadline) throw unavailable(`the membership change was not decided within ${reconfigureTimeoutMs} ms; check status and retry`);
        await Promise.race([rt.nextFlush(), new Promise((r) => setTimeout(r, 100))]);
      }
    } finally {
      this.reconfiguring = false;
    }
  }
}
