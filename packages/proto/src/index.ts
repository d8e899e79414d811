// The generated omnimeta.v1 contract, re-exported. The files under gen/ come from `npm run generate`.
export * from "./gen/omnimeta/v1/metadata_pb.ts";
export * from "./gen/omnimeta/v1/cluster_pb.ts";
export * from "./gen/omnimeta/v1/peer_pb.ts";
