// Embedding omnimeta: run a metad node inside your own process with startNode, provision it as a
// one-node cluster, write and read a key over its Connect API, then close it.
// Run: node --import tsx examples/embedded/main.ts [DATA_DIR]   (default: a fresh temp dir)

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService, MetadataService } from "@omnimeta/proto";
import { silentLogger, startNode } from "@omnimeta/server";

const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "omnimeta-embedded-"));

// Port 0 picks a free port; node.address tells which one.
const node = await startNode({ name: "embedded", dataDir, listen: { host: "127.0.0.1", port: 0 }, logger: silentLogger });
try {
  const { alreadyProvisioned, clusterId } = await node.provision();
  console.log(`node ${node.name} at ${node.address}, cluster ${clusterId}${alreadyProvisioned ? " (reused)" : " (new)"}`);
  await node.waitForState("active");

  const transport = createGrpcTransport({ baseUrl: node.address });
  // A fresh or restarted node elects itself leader within a few ticks; WatchLeader says when.
  for await (const change of createClient(ClusterService, transport).watchLeader({})) {
    if (change.leaderId !== 0n) break;
  }
  const kv = createClient(MetadataService, transport);
  const put = await kv.put({ key: "config/greeting", value: new TextEncoder().encode("hello, omnimeta") });
  console.log(`put config/greeting -> version ${put.version}, revision ${put.revision}`);
  const got = await kv.get({ key: "config/greeting" });
  console.log(`get config/greeting -> "${new TextDecoder().decode(got.kv?.value)}" (version ${got.kv?.version})`);
} finally {
  await node.close();
  console.log("closed");
}
