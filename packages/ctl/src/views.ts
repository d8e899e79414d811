// The collected data of every command as plain objects (numbers, strings, booleans): what
// `--json` prints verbatim and what the tables render. Protobuf messages stop here.

import { EventType, NodeState } from "@omnimeta/client";
import type {
  Ballot, Configuration, DeleteResponse, KeyValue, ListMembersResponse, PutResponse, StatusResponse,
  WatchEvent, WatchLeaderResponse,
} from "@omnimeta/client";
import { num } from "./render/json.ts";

export interface KvView {
  key: string;
  /** The value as UTF-8 text, or null when it is not valid UTF-8 (then use valueBase64). */
  value: string | null;
  valueBase64: string;
  version: number;
  createRevision: number;
  modRevision: number;
}

export interface BallotView { n: number; priority: number; pid: number }

export interface MemberView { nodeId: number; name: string; address: string; storageId: string; leader: boolean }

export interface ConfigurationView { configurationId: number; startIdx: number; leaderId: number; members: MemberView[] }

export type NodeStatusView =
  | {
      address: string; reachable: true; nodeId: number; name: string; state: string; stateDetail: string;
      clusterId: string; isLeader: boolean; leaderId: number; ballot: BallotView; configurationId: number;
      acceptedIdx: number; decidedIdx: number; appliedIdx: number; compactedIdx: number; lag: number;
      /** The snapshot the node is receiving from a peer (null when none). */
      transfer: TransferView | null;
    }
  | { address: string; reachable: false; error: { code: string; message: string } };

export interface TransferView {
  fromNodeId: number; revision: number; bytesReceived: number; recordsReceived: number; recordsTotal: number;
  /** Records received of the announced total, 0-100 (one decimal). */
  percent: number;
  startedAt: string;
}

export interface WatchEventView {
  type: "put" | "delete";
  key: string;
  value: string | null;
  valueBase64: string;
  version: number;
  revision: number;
}

export interface LeaderChangeView {
  time: string;
  leaderId: number;
  leaderName: string;
  leaderAddress: string;
  ballot: BallotView;
  configurationId: number;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export function textOrNull(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

export function kvView(kv: KeyValue): KvView {
  return {
    key: kv.key,
    value: textOrNull(kv.value),
    valueBase64: Buffer.from(kv.value).toString("base64"),
    version: num(kv.version),
    createRevision: num(kv.createRevision),
    modRevision: num(kv.modRevision),
  };
}

export function putView(key: string, r: PutResponse) {
  return { key, version: num(r.version), revision: num(r.revision) };
}

export function deleteView(key: string, r: DeleteResponse) {
  return { key, revision: num(r.revision), previousVersion: num(r.previousVersion) };
}

export function ballotView(b: Ballot | undefined): BallotView {
  return { n: num(b?.n ?? 0n), priority: b?.priority ?? 0, pid: num(b?.pid ?? 0n) };
}

export function configurationView(c: Configuration | undefined, leaderId: bigint): ConfigurationView {
  return {
    configurationId: num(c?.configurationId ?? 0n),
    startIdx: num(c?.startIdx ?? 0n),
    leaderId: num(leaderId),
    members: (c?.members ?? []).map((m) => ({
      nodeId: num(m.nodeId), name: m.name, address: m.address, storageId: m.storageId,
      leader: leaderId !== 0n && m.nodeId === leaderId,
    })),
  };
}

export function membersView(r: ListMembersResponse): ConfigurationView {
  return configurationView(r.configuration, r.leaderId);
}

export function nodeStateName(state: NodeState): string {
  return (NodeState[state] ?? "UNSPECIFIED").toLowerCase();
}

/** One reachable node's row; `lag` is filled in by the fan-out once every answer is in. */
export function nodeStatusView(address: string, s: StatusResponse): NodeStatusView {
  return {
    address: s.address !== "" ? s.address : address, reachable: true, nodeId: num(s.nodeId), name: s.name,
    state: nodeStateName(s.state), stateDetail: s.stateDetail, clusterId: s.clusterId, isLeader: s.isLeader,
    leaderId: num(s.leaderId), ballot: ballotView(s.ballot), configurationId: num(s.configuration?.configurationId ?? 0n),
    acceptedIdx: num(s.acceptedIdx), decidedIdx: num(s.decidedIdx), appliedIdx: num(s.appliedIdx),
    compactedIdx: num(s.compactedIdx), lag: 0, transfer: s.transfer ? transferView(s.transfer) : null,
  };
}

function transferView(t: NonNullable<StatusResponse["transfer"]>): TransferView {
  const total = num(t.recordsTotal);
  const received = num(t.recordsReceived);
  return {
    fromNodeId: num(t.fromNodeId), revision: num(t.revision), bytesReceived: num(t.bytesReceived),
    recordsReceived: received, recordsTotal: total,
    percent: total === 0 ? 0 : Math.floor((received / total) * 1000) / 10,
    startedAt: new Date(num(t.startedAtUnixMs)).toISOString(),
  };
}

export function watchEventView(e: WatchEvent): WatchEventView {
  const kv = e.kv;
  const value = kv?.value ?? new Uint8Array();
  const isDelete = e.type === EventType.DELETE;
  return {
    type: isDelete ? "delete" : "put",
    key: kv?.key ?? "",
    value: isDelete ? null : textOrNull(value),
    valueBase64: isDelete ? "" : Buffer.from(value).toString("base64"),
    version: num(kv?.version ?? 0n),
    revision: num(e.revision),
  };
}

export function leaderChangeView(r: WatchLeaderResponse, nowMs: number): LeaderChangeView {
  const atMs = r.observedAtUnixMs > 0n ? Number(r.observedAtUnixMs) : nowMs;
  return {
    time: new Date(atMs).toISOString(),
    leaderId: num(r.leaderId), leaderName: r.leaderName, leaderAddress: r.leaderAddress,
    ballot: ballotView(r.ballot), configurationId: num(r.configurationId),
  };
}

export function ballotText(b: BallotView): string {
  return `${b.n}.${b.priority}.${b.pid}`;
}
