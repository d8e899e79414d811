// Who the members are: the ConfigurationMetadata carried by configuration 1 and by every StopSign
// (cluster id, members with name/address/storage id, next node id), and its codec.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ConfigurationMetadataSchema, ConfigurationSchema, type Configuration } from "@omnimeta/proto";
import type { ConfigurationInfo, MemberInfo } from "./node-status.ts";

export interface Membership {
  clusterId: string;
  configuration: ConfigurationInfo;
  /** Node ids are never reused; the next one assigned is at least this. */
  nextNodeId: number;
}

export function encodeMembership(m: Membership): Uint8Array {
  return toBinary(
    ConfigurationMetadataSchema,
    create(ConfigurationMetadataSchema, {
      clusterId: m.clusterId,
      configuration: configurationToProto(m.configuration),
      nextNodeId: BigInt(m.nextNodeId),
    }),
  );
}

export function decodeMembership(bytes: Uint8Array): Membership {
  const pb = fromBinary(ConfigurationMetadataSchema, bytes);
  if (!pb.configuration) throw new Error("configuration metadata without a configuration");
  return { clusterId: pb.clusterId, configuration: configurationFromProto(pb.configuration), nextNodeId: Number(pb.nextNodeId) };
}

export function configurationToProto(c: ConfigurationInfo): Configuration {
  return create(ConfigurationSchema, {
    configurationId: BigInt(c.configurationId),
    startIdx: BigInt(c.startIdx),
    members: c.members.map((m) => ({ nodeId: BigInt(m.nodeId), name: m.name, address: m.address, storageId: m.storageId })),
  });
}

export function configurationFromProto(c: Configuration): ConfigurationInfo {
  return {
    configurationId: Number(c.configurationId),
    startIdx: Number(c.startIdx),
    members: c.members.map((m) => ({ nodeId: Number(m.nodeId), name: m.name, address: m.address, storageId: m.storageId })),
  };
}

/** The next configuration with `member` added under a new node id. startIdx (the StopSign's slot) is not
 *  known when the StopSign is proposed; nodes fill it in when they see the StopSign decided. */
export function withMemberAdded(current: Membership, member: Omit<MemberInfo, "nodeId">): [Membership, number] {
  const nodeId = Math.max(current.nextNodeId, ...current.configuration.members.map((m) => m.nodeId + 1));
  return [
    {
      clusterId: current.clusterId,
      nextNodeId: nodeId + 1,
      configuration: {
        configurationId: current.configuration.configurationId + 1,
        startIdx: 0,
        members: [...current.configuration.members, { ...member, nodeId }],
      },
    },
    nodeId,
  ];
}

export function withMemberRemoved(current: Membership, nodeId: number): Membership {
  return {
    clusterId: current.clusterId,
    nextNodeId: Math.max(current.nextNodeId, nodeId + 1),
    configuration: {
      configurationId: current.configuration.configurationId + 1,
      startIdx: 0,
      members: current.configuration.members.filter((m) => m.nodeId !== nodeId),
    },
  };
}
