// ctl without a cluster: argument parsing and usage errors (exit 2), help texts, the exit-code
// mapping, error lines (text and JSON), the renderers, and an unreachable address (exit 3).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { Chalk } from "chalk";
import { Code } from "@connectrpc/connect";
import {
  DeadlineExceededError, NodeState, NotFoundError, PermissionDeniedError, PreconditionFailedError, ServerError, UnavailableError,
  type StatusResponse,
} from "@omnimeta/client";
import { exitCodeFor, renderError, UsageError } from "../src/errors.ts";
import { renderTable } from "../src/render/table.ts";
import { renderJson } from "../src/render/json.ts";
import { statusText, summarize } from "../src/commands/cluster.ts";
import { kvView, nodeStatusView } from "../src/views.ts";
import type { NodeStatusView } from "../src/views.ts";
import { runInProcess } from "./memory-io.ts";

/** A deadline kept: under half the deadline again (plus 100 ms) for a loaded CI machine's timers. A
 *  deadline restarted per attempt or per node would take at least twice it. */
const slackOf = (timeoutMs: number): number => timeoutMs * 1.5 + 100;

const closedAddress = "http://127.0.0.1:1";

describe("ctl usage errors exit 2", () => {
  const cases: [string, string[], RegExp][] = [
    ["a missing argument", ["metadata", "get"], /missing required argument 'key'/],
    ["an unknown command", ["metadata", "gett", "k"], /unknown command 'gett'/],
    ["an unknown option", ["--bogus", "cluster", "status"], /unknown option '--bogus'/],
    ["a bad number", ["metadata", "put", "k", "v", "--if-version", "x"], /non-negative integer/],
    ["conflicting preconditions", ["metadata", "put", "k", "v", "--if-version", "1", "--if-absent"], /exclude each other/],
    ["a missing value", ["metadata", "put", "k"], /missing value/],
    ["value and --file", ["metadata", "put", "k", "v", "--file", "/etc/hostname"], /not both/],
    ["an unreadable file", ["metadata", "put", "k", "--file", "/nonexistent/x"], /cannot read \/nonexistent\/x: ENOENT/],
    ["watch without key or prefix", ["metadata", "watch"], /KEY or --prefix/],
    ["a bad --output", ["metadata", "get", "k", "--output", "yaml"], /text or raw/],
    ["a group without a command", ["cluster"], /Usage: ctl cluster/],
  ];
  for (const [what, args, message] of cases) {
    it(`reports ${what} on one stderr line`, async () => {
      const r = await runInProcess(["--address", closedAddress, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }

  it("prints usage errors as JSON on stderr with --json", async () => {
    const r = await runInProcess(["--json", "metadata", "get"]);
    assert.equal(r.code, 2);
    assert.deepEqual(JSON.parse(r.stderr), { error: { code: "usage", message: "missing required argument 'key'", exitCode: 2 } });
  });
});

describe("ctl help", () => {
  it("lists every group with a description and examples, and exits 0", async () => {
    const r = await runInProcess(["--help"]);
    assert.equal(r.code, 0);
    for (const group of ["cluster", "metadata", "members", "leader", "bench"]) assert.match(r.stdout, new RegExp(`\\n  ${group} +\\S`));
    assert.match(r.stdout, /Examples:\n {2}\$ ctl cluster provision/);
  });

  for (const [group, commands] of [
    ["cluster", ["provision", "status"]], ["metadata", ["get", "put", "delete", "list", "watch"]],
    ["members", ["list", "add", "remove"]], ["leader", ["watch"]], ["bench", ["put", "get"]],
  ] as const) {
    it(`ctl ${group} --help lists ${commands.join(", ")} with examples`, async () => {
      const r = await runInProcess([group, "--help"]);
      assert.equal(r.code, 0);
      for (const c of commands) assert.match(r.stdout, new RegExp(`\\n  ${c}\\b.* {2,}\\S`));
      assert.match(r.stdout, new RegExp(`Examples:\\n {2}\\$ ctl .*${group}`));
    });
  }
});

describe("ctl exit codes and error lines", () => {
  it("maps each error class to the documented exit code", () => {
    assert.equal(exitCodeFor(new NotFoundError(Code.NotFound, "x")), 1);
    assert.equal(exitCodeFor(new PreconditionFailedError("x", undefined)), 1);
    assert.equal(exitCodeFor(new UsageError("x")), 2);
    assert.equal(exitCodeFor(new UnavailableError("x", "server")), 3);
    assert.equal(exitCodeFor(new DeadlineExceededError(Code.DeadlineExceeded, "x")), 3);
    assert.equal(exitCodeFor(new ServerError(Code.Internal, "x")), 4);
    assert.equal(exitCodeFor(new Error("bug")), 4);
    assert.equal(exitCodeFor(new PermissionDeniedError(Code.Unauthenticated, "x")), 5);
    assert.equal(exitCodeFor(new PermissionDeniedError(Code.PermissionDenied, "x")), 5);
  });

  it("renders a refused token as one line that says what failed and how to give a token", () => {
    assert.equal(renderError(new PermissionDeniedError(Code.Unauthenticated, "the token is not valid"), false),
      "ctl: authentication failed: the token is not valid (give the token with --token-file, CTL_TOKEN or --token)\n");
    assert.equal(renderError(new PermissionDeniedError(Code.PermissionDenied, "this call needs the admin token"), false),
      "ctl: permission denied: this call needs the admin token\n");
    assert.deepEqual(JSON.parse(renderError(new PermissionDeniedError(Code.Unauthenticated, "x"), true)).error.exitCode, 5);
  });

  it("renders a CAS conflict with the current version, as text and as JSON", () => {
    const err = new PreconditionFailedError("version mismatch", {
      $typeName: "omnimeta.v1.PreconditionFailure", key: "k", exists: true, currentVersion: 3n,
    });
    assert.equal(renderError(err, false), 'ctl: precondition failed on key "k": its current version is 3\n');
    assert.deepEqual(JSON.parse(renderError(err, true)), {
      error: { code: "failed_precondition", message: 'precondition failed on key "k": its current version is 3', exitCode: 1, key: "k", exists: true, currentVersion: 3 },
    });
  });

  it("exits 3 within --timeout when the only address refuses connections", async () => {
    const r = await runInProcess(["--address", closedAddress, "--timeout", "700", "metadata", "get", "k"]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^ctl: deadline exceeded: .*ECONNREFUSED.*\n$/);
    assert.ok(r.elapsedMs < slackOf(700), `took ${r.elapsedMs} ms`);
  });

  it("exits 3 within --timeout when the address accepts connections but never answers", async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const r = await runInProcess(["--json", "--address", `http://127.0.0.1:${port}`, "--timeout", "800", "members", "list"]);
      assert.equal(r.code, 3);
      assert.equal(JSON.parse(r.stderr).error.code, "deadline_exceeded");
      assert.ok(r.elapsedMs < slackOf(800), `took ${r.elapsedMs} ms`);
    } finally {
      silent.close();
    }
  });

  it("exits 3 within --timeout from the watches when no node answers", async () => {
    for (const args of [["metadata", "watch", "k", "--rev", "5"], ["leader", "watch"]]) {
      const r = await runInProcess(["--address", closedAddress, "--timeout", "600", ...args]);
      assert.equal(r.code, 3, args.join(" "));
      assert.ok(r.elapsedMs < slackOf(600), `${args.join(" ")} took ${r.elapsedMs} ms`);
    }
  });

  it("gives every unreachable node of cluster status a row with its reason, and exits 3 when none answers", async () => {
    const r = await runInProcess(["--address", `${closedAddress},http://127.0.0.1:2`, "--timeout", "500", "cluster", "status"]);
    assert.equal(r.code, 3);
    assert.match(r.stdout, /^unreachable\nADDRESS +REASON\nhttp:\/\/127\.0\.0\.1:1 +unavailable: cannot connect: .*ECONNREFUSED/);
    assert.match(r.stdout, /http:\/\/127\.0\.0\.1:2 +unavailable: cannot connect/);
    assert.match(r.stderr, /^ctl: no node reachable/);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
  });
});

describe("ctl rendering", () => {
  it("colours output on a terminal, unless --no-color", async () => {
    const args = ["--address", closedAddress, "--timeout", "200", "cluster", "status"];
    const tty = await runInProcess(args, { tty: true });
    assert.match(tty.stdout, /\x1b\[31munreachable\x1b\[39m/);
    const noColor = await runInProcess(["--no-color", ...args], { tty: true });
    assert.doesNotMatch(noColor.stdout, /\x1b\[/);
    const piped = await runInProcess(args);
    assert.doesNotMatch(piped.stdout, /\x1b\[/);
  });

  const plain = new Chalk({ level: 0 });

  it("aligns table columns, right-aligning numbers", () => {
    const out = renderTable([
      { header: "KEY", value: (r: { k: string; v: number }) => r.k },
      { header: "VERSION", value: (r) => String(r.v), align: "right" },
      { header: "VALUE", value: () => "x" },
    ], [{ k: "a", v: 1 }, { k: "longer", v: 12 }], plain);
    assert.equal(out, "KEY     VERSION  VALUE\na             1  x\nlonger       12  x\n");
  });

  it("shows values as UTF-8 text, or null plus base64 when they are not UTF-8", () => {
    const kv = (value: Uint8Array) => kvView({ $typeName: "omnimeta.v1.KeyValue", key: "k", value, version: 2n, createRevision: 1n, modRevision: 5n });
    assert.deepEqual(kv(new TextEncoder().encode("héllo")), { key: "k", value: "héllo", valueBase64: "aMOpbGxv", version: 2, createRevision: 1, modRevision: 5 });
    assert.equal(kv(new Uint8Array([0xff, 0xfe])).value, null);
    assert.equal(renderJson({ big: 5n }), '{"big":5}\n');
  });

  it("computes each node's lag from the highest decided index and lists unreachable nodes last", () => {
    const node = (nodeId: number, decidedIdx: number, appliedIdx: number, isLeader: boolean): NodeStatusView => ({
      address: `http://n${nodeId}`, reachable: true, nodeId, name: `n${nodeId}`, state: "active", stateDetail: "", clusterId: "c",
      isLeader, leaderId: 1, ballot: { n: 1, priority: 0, pid: 1 }, configurationId: 1,
      acceptedIdx: decidedIdx, decidedIdx, appliedIdx, compactedIdx: 0, lag: 0, transfer: null,
    });
    const view = summarize([
      { address: "http://down", reachable: false, error: { code: "unavailable", message: "refused" } },
      node(2, 10, 7, false), node(1, 12, 12, true),
    ]);
    assert.deepEqual(view.nodes.map((n) => (n.reachable ? [n.name, n.lag] : [n.address])), [["n1", 0], ["n2", 5], ["http://down"]]);
    assert.equal(view.leaderId, 1);
    assert.equal(view.clusterId, "c");
  });

  it("shows a snapshot under way on the receiving node: bytes and percent, in the table and in --json", () => {
    const status = {
      nodeId: 4n, name: "n4", address: "http://n4", state: NodeState.JOINING, stateDetail: "", clusterId: "c", leaderId: 1n, isLeader: false,
      acceptedIdx: 0n, decidedIdx: 0n, appliedIdx: 0n, compactedIdx: 0n,
      transfer: { fromNodeId: 1n, revision: 5000n, bytesReceived: BigInt(3 * 1024 * 1024), recordsReceived: 250n, recordsTotal: 1000n, startedAtUnixMs: 0n },
    } as unknown as StatusResponse;
    const receiving = nodeStatusView("http://n4", status);
    assert.deepEqual(receiving.reachable && receiving.transfer, { fromNodeId: 1, revision: 5000, bytesReceived: 3 * 1024 * 1024, recordsReceived: 250, recordsTotal: 1000, percent: 25, startedAt: "1970-01-01T00:00:00.000Z" });
    const text = statusText({ chalk: new Chalk({ level: 0 }) } as unknown as Parameters<typeof statusText>[0], summarize([receiving]));
    assert.match(text, /n4: receiving a snapshot from node 1 \(revision 5000\): 3\.0 MiB, 25% of 1000 records/);
  });
});
