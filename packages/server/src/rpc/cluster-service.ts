// ClusterService handlers: provisioning, status, membership and leadership. Membership changes run at
// the leader; a follower passes them on (marked forwarded, so they are never passed twice).

import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { AddMemberResponseSchema, BallotSchema, SnapshotTransferSchema, ClusterService, NodeState, RemoveMemberResponseSchema, type StatusResponse } from "@omnimeta/proto";
import { FORWARDED_HEADER } from "../node/leader-forwarder.ts";
import { configurationToProto } from "../node/membership.ts";
import type { MembershipChanges } from "../node/membership-changes.ts";
import type { LeaderInfo, NodeRuntime } from "../node/node-runtime.ts";
import type { NodeStatus } from "../node/node-status.ts";
import { OpError, unavailable } from "./op-error.ts";
import { saveSnapshot } from "../snapshot/save-snapshot.ts";
import { validateMemberAddress, validateName } from "./validate.ts";

const nodeStates: Record<NodeStatus["state"], NodeState> = {
  unprovisioned: NodeState.UNPROVISIONED,
  joining: NodeState.JOINING,
  active: NodeState.ACTIVE,
  removed: NodeState.REMOVED,
};

export function statusToProto(s: NodeStatus): Omit<StatusResponse, "$typeName"> {
  return {
    nodeId: BigInt(s.nodeId),
    name: s.name,
    address: s.address,
    state: nodeStates[s.state],
    stateDetail: s.stateDetail,
    clusterId: s.clusterId,
    storageId: s.storageId,
    configuration: s.configuration ? configurationToProto(s.configuration) : undefined,
    leaderId: BigInt(s.leaderId),
    leaderAddress: s.leaderAddress,
    ballot: s.ballot ? create(BallotSchema, { n: BigInt(s.ballot.n), priority: s.ballot.priority, pid: BigInt(s.ballot.pid) }) : undefined,
    isLeader: s.isLeader,
    decidedIdx: BigInt(s.decidedIdx),
    appliedIdx: BigInt(s.appliedIdx),
    compactedIdx: BigInt(s.compactedIdx),
    acceptedIdx: BigInt(s.acceptedIdx),
    transfer: s.transfer
      ? create(SnapshotTransferSchema, {
          fromNodeId: BigInt(s.transfer.fromNodeId),
          revision: BigInt(s.transfer.revision),
          bytesReceived: BigInt(s.transfer.bytesReceived),
          recordsReceived: BigInt(s.transfer.recordsReceived),
          recordsTotal: BigInt(s.transfer.recordsTotal),
          startedAtUnixMs: BigInt(s.transfer.startedAtUnixMs),
        })
      : undefined,
  };
}

function leaderToProto(l: LeaderInfo) {
  return {
    leaderId: BigInt(l.leaderId),
    leaderName: l.leaderName,
    leaderAddress: l.leaderAddress,
    ballot: l.ballot ? { n: BigInt(l.ballot.n), priority: l.ballot.priority, pid: BigInt(l.ballot.pid) } : undefined,
    configurationId: BigInt(l.configurationId),
    observedAtUnixMs: BigInt(l.observedAtUnixMs),
  };
}

/** A LeaderHint naming no leader: "not done here, and I know no leader to send you to". */
const NO_LEADER = { leaderId: 0, leaderAddress: "" } as const;

export function clusterService(rt: NodeRuntime, changes: MembershipChanges): ServiceImpl<typeof ClusterService> {
  /** Runs `local` at the leader, or passes the call to the leader through `remote`. */
  const atLeader = async <R>(ctx: HandlerContext, local: () => Promise<R>, remote: (address: string, headers: Record<string, string>) => Promise<R>): Promise<R> => {
    try {
      // Every refusal here carries a LeaderHint detail, empty when no leader is known: it tells the client
      // that this node did not act on the call, so an at-most-once change (members add/remove) is safe to
      // re-send. Without it, the window right after a reconfiguration (no leader elected yet) failed
      // `ctl members remove` at once instead of retrying (seen in CI).
      if (rt.state !== "active" || !rt.replica) throw unavailable(typeof rt.servingReplica() === "string" ? (rt.servingReplica() as string) : "not active", rt.leaderHint() ?? NO_LEADER);
      if (rt.replica.isLeader()) return await local();
      const hint = rt.leaderHint();
      if (ctx.requestHeader.get(FORWARDED_HEADER) === "1" || !hint?.leaderAddress) throw unavailable("not the leader; no leader known", hint ?? NO_LEADER);
      // The leader checks the caller's own token again (the node's credentials must not stand in for it).
      const authorization = ctx.requestHeader.get("authorization");
      return await remote(hint.leaderAddress, { [FORWARDED_HEADER]: "1", ...(authorization !== null ? { authorization } : {}) });
    } catch (e) {
      throw OpError.from(e).toConnectError();
    }
  };
  return {
    async provision(req) {
      try {
        const r = await changes.provision({ forceNewCluster: req.forceNewCluster });
        return {
          alreadyProvisioned: r.alreadyProvisioned,
          clusterId: r.clusterId,
          configuration: rt.membership ? configurationToProto(rt.membership.configuration) : undefined,
        };
      } catch (e) {
        throw OpError.from(e).toConnectError();
      }
    },
    status: () => statusToProto(rt.status()),
    listMembers() {
      if (!rt.membership) throw new OpError(Code.FailedPrecondition, `node is ${rt.state}: no configuration yet`).toConnectError();
      return { configuration: configurationToProto(rt.membership.configuration), leaderId: BigInt(rt.replica?.leaderId() ?? 0) };
    },
    addMember: (req, ctx) =>
      atLeader(
        ctx,
        async () => {
          if (req.address === "") throw new OpError(Code.InvalidArgument, "address is required");
          validateMemberAddress(req.address, rt.limits);
          return create(AddMemberResponseSchema, { configuration: configurationToProto((await changes.addByAddress(req.address)).configuration) });
        },
        (address, headers) => rt.clients.get(address).cluster.addMember(req, { headers }),
      ),
    removeMember: (req, ctx) =>
      atLeader(
        ctx,
        async () => {
          if (req.nodeId === 0n && req.name === "") throw new OpError(Code.InvalidArgument, "node_id or name is required");
          if (req.nodeId === 0n) validateName(req.name, rt.limits.nameBytesMax, "name");
          return create(RemoveMemberResponseSchema, { configuration: configurationToProto((await changes.remove(Number(req.nodeId), req.name)).configuration) });
        },
        (address, headers) => rt.clients.get(address).cluster.removeMember(req, { headers }),
      ),
    // Disaster recovery: this node's applied state as a snapshot file, streamed (snapshot/save-snapshot.ts).
    saveSnapshot: () => saveSnapshot(rt),
    // Each message is the node's leader at the moment it is sent, never a queued one: a change noticed
    // while a message was in flight is read afresh, so a watcher is never told a leader that this node
    // already knows to be superseded (changes in between are coalesced, as etcd's watch does).
    async *watchLeader(_req, ctx) {
      let dirty = true;
      let wake: (() => void) | undefined;
      const off = rt.onLeaderChange(() => {
        dirty = true;
        wake?.();
      });
      const onAbort = (): void => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        let last: LeaderInfo | undefined;
        while (!ctx.signal.aborted && !rt.closing) {
          if (!dirty) {
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
            continue;
          }
          dirty = false;
          const l = rt.currentLeader();
          if (last && sameLeadership(last, l)) continue;
          last = l;
          yield leaderToProto(l);
        }
      } finally {
        off();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

/** Same leader, ballot and configuration: nothing for a watcher to learn. */
function sameLeadership(a: LeaderInfo, b: LeaderInfo): boolean {
  return a.leaderId === b.leaderId && a.configurationId === b.configurationId && a.ballot?.n === b.ballot?.n && a.ballot?.pid === b.ballot?.pid;
}
