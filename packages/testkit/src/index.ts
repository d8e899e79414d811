// @omnimeta/testkit: the linearizability checker, the process-cluster harness and the nemesis.
export * from "./linearizability/index.ts";
export { LinkProxy, type LinkMode } from "./cluster/link-proxy.ts";
export { LinkNetwork, type CutMode } from "./cluster/link-network.ts";
export { MetadProcess, type MetadSpec } from "./cluster/metad-process.ts";
export { ProcessCluster, type ProcessClusterOptions } from "./cluster/process-cluster.ts";
export { NodeClient } from "./cluster/node-client.ts";
export { freePort } from "./cluster/free-port.ts";
export { trackChild } from "./cluster/cleanup.ts";
export { waitFor } from "./util/wait-for.ts";
export { Nemesis, NEMESIS_KINDS, type NemesisKind, type FaultRecord } from "./nemesis/nemesis.ts";
export { runJepsen, defaultRunOptions, type RunOptions, type Verdict } from "./jepsen/run.ts";
export { makeCa, issueCert, type TestCa, type TestCert } from "./tls/test-pki.ts";
