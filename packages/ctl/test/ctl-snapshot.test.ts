// `ctl snapshot save` as a subprocess against an in-process ClusterService double: FILE appears only once
// the whole stream is on disk (a stream cut half-way leaves an earlier FILE as it was and no FILE.tmp),
// the header's revision, cluster and key count are reported, and local and network failures are one line.
// The real save -> restore round trip runs in packages/server/test/e2e/snapshot-restore.test.ts.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ClusterService } from "@omnimeta/proto";
import { freePort } from "@omnimeta/testkit";
import { ctl } from "./ctl-process.ts";

/** The start of a snapshot file: magic, format version 1, the HEADER frame (revision, cluster id, key count). */
function snapshotHead(revision: number, clusterId: string, keyCount: number): Buffer {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
    return [...out, n];
  };
  const id = Buffer.from(clusterId, "utf8");
  const payload = Buffer.from([...varint(revision), ...varint(id.length), ...id, ...varint(keyCount)]);
  const frameHead = Buffer.alloc(5);
  frameHead.writeUInt8(1, 0);
  frameHead.writeUInt32BE(payload.length, 1);
  return Buffer.concat([Buffer.from("OMNISNAP", "ascii"), Buffer.from([1]), frameHead, payload]);
}

const head = snapshotHead(300, "cluster-a", 2);
const body = Buffer.alloc(200_000, 7);
/** What the double does with the next SaveSnapshot: the whole stream, or two chunks and then UNAVAILABLE. */
let mode: "whole" | "cut" = "whole";

const server = http2.createServer(connectNodeAdapter({
  routes: (router: ConnectRouter) => router.service(ClusterService, {
    async *saveSnapshot() {
      yield { chunk: head };
      yield { chunk: body };
      if (mode === "cut") throw new ConnectError("node is shutting down", Code.Unavailable);
      yield { chunk: Buffer.from("the rest") };
    },
  }),
}));
let address = "";
const scratch = mkdtempSync(join(tmpdir(), "ctl-snapshot-"));

before(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("ctl snapshot save", () => {
  it("writes every chunk to FILE and reports the snapshot's revision, cluster and key count", async () => {
    mode = "whole";
    const file = join(scratch, "whole.snap");
    const r = await ctl(["--address", address, "--json", "snapshot", "save", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      file, bytes: head.length + body.length + 8, revision: 300, keyCount: 2, clusterId: "cluster-a", node: address, formatVersion: 1,
    });
    assert.ok(readFileSync(file).equals(Buffer.concat([head, body, Buffer.from("the rest")])));
    assert.ok(!existsSync(`${file}.tmp`));
    const text = await ctl(["--address", address, "snapshot", "save", file]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, `saved ${file}: revision 300, 2 keys, ${head.length + body.length + 8} bytes from ${address} (cluster cluster-a)\n`);
  });

  it("leaves an earlier FILE untouched and no FILE.tmp when the stream is cut, and exits 3 with one line", async () => {
    mode = "cut";
    const file = join(scratch, "cut.snap");
    writeFileSync(file, "the previous backup");
    const r = await ctl(["--address", address, "snapshot", "save", file]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^ctl: unavailable: node is shutting down\n$/);
    assert.equal(readFileSync(file, "utf8"), "the previous backup");
    assert.ok(!existsSync(`${file}.tmp`), "the partial file is removed");
  });

  it("exits 2 with one line when FILE cannot be written, without asking any node", async () => {
    const file = join(scratch, "no-such-dir", "x.snap");
    const r = await ctl(["--address", "http://127.0.0.1:1", "snapshot", "save", file]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `ctl: cannot write ${file}.tmp: ENOENT\n`);
  });

  it("exits 3 within --timeout when no node answers, and writes nothing", async () => {
    const file = join(scratch, "unreachable.snap");
    const r = await ctl(["--address", `http://127.0.0.1:${await freePort()}`, "--timeout", "1500", "snapshot", "save", file]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr.split("\n").filter((l) => l !== "").length, 1, r.stderr);
    assert.ok(!existsSync(file) && !existsSync(`${file}.tmp`));
  });
});
