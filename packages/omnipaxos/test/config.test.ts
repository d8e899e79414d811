// Config validation: one clear ConfigError per mistake, naming the field.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, MemoryStorage, OmniPaxos, ProposalError, validateConfig } from "../src/index.ts";

const ok = { cluster: { configurationId: 1, nodes: [1, 2, 3] }, server: { pid: 1 } };
const cases: [string, unknown, RegExp][] = [
  ["a missing config", undefined, /config must be an object/],
  ["a missing cluster", { server: { pid: 1 } }, /cluster is missing/],
  ["a zero configuration id", { ...ok, cluster: { configurationId: 0, nodes: [1] } }, /cluster.configurationId must be an integer/],
  ["empty nodes", { ...ok, cluster: { configurationId: 1, nodes: [] } }, /cluster.nodes must be a non-empty array/],
  ["a negative node id", { ...ok, cluster: { configurationId: 1, nodes: [1, -2] } }, /cluster.nodes contains -2/],
  ["a duplicate node id", { ...ok, cluster: { configurationId: 1, nodes: [1, 2, 2] } }, /lists node 2 twice/],
  ["a missing server", { cluster: ok.cluster }, /server is missing/],
  ["a fractional pid", { ...ok, server: { pid: 1.5 } }, /server.pid must be an integer/],
  ["a pid outside the cluster", { ...ok, server: { pid: 9 } }, /server.pid 9 is not a member of cluster.nodes \[1, 2, 3\]/],
  ["a zero election timeout", { ...ok, server: { pid: 1, electionTickTimeout: 0 } }, /server.electionTickTimeout must be an integer between 1/],
  ["a string resend timeout", { ...ok, server: { pid: 1, resendMessageTickTimeout: "5" } }, /server.resendMessageTickTimeout must be an integer/],
  ["a huge batch size", { ...ok, server: { pid: 1, batchSize: 10_000_000 } }, /server.batchSize must be an integer between 1 and 100000/],
  ["a negative priority", { ...ok, server: { pid: 1, leaderPriority: -1 } }, /server.leaderPriority must be an integer between 0/],
];

for (const [name, config, message] of cases) {
  test(`validation reports ${name} in one line`, () => {
    assert.throws(() => validateConfig(config), (e: unknown) => e instanceof ConfigError && message.test(e.message) && !e.message.includes("\n"));
  });
}

test("a valid config passes and the constructor validates too", () => {
  validateConfig(ok);
  assert.throws(() => new OmniPaxos({ ...ok, server: { pid: 4 } }, new MemoryStorage<string, never>()), ConfigError);
});

test("reconfigure rejects a next configuration that does not follow the current one", () => {
  const op = new OmniPaxos<string>(ok, new MemoryStorage<string, never>());
  assert.throws(() => op.reconfigure({ configurationId: 3, nodes: [1, 2] }), (e: unknown) => e instanceof ProposalError && e.code === "invalid-config" && /must be 2/.test(e.message));
  assert.throws(() => op.reconfigure({ configurationId: 2, nodes: [1, 1] }), (e: unknown) => e instanceof ProposalError && e.code === "invalid-config" && /twice/.test(e.message));
});
