// @omnimeta/testkit: the linearizability checker, the process-cluster harness and the nemesis.
export * from "./linearizability/index.ts";
