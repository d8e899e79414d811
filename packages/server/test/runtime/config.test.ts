// metad's command line and config file: flags override the file, peer routes, and one-line errors.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseCommandLine } from "../../src/index.ts";

test("flags build NodeOptions with normalised join URLs and peer routes", () => {
  const o = parseCommandLine([
    "--name", "n1", "--data-dir", "/tmp/x", "--listen", "127.0.0.1:7001",
    "--join", "127.0.0.1:7002,http://127.0.0.1:7003/", "--peer-route", "127.0.0.1:7002=127.0.0.1:9002",
    "--peer-route", "http://127.0.0.1:7003=127.0.0.1:9003", "--max-value-bytes", "2048", "--tick-ms", "10",
  ]);
  assert.equal(o.name, "n1");
  assert.deepEqual(o.listen, { host: "127.0.0.1", port: 7001 });
  assert.deepEqual(o.join, ["http://127.0.0.1:7002", "http://127.0.0.1:7003"]);
  assert.deepEqual(o.peerRoutes, { "127.0.0.1:7002": "127.0.0.1:9002", "127.0.0.1:7003": "127.0.0.1:9003" });
  assert.equal(o.limits?.valueBytesMax, 2048);
  assert.equal(o.tickMs, 10);
});

test("flags override the config file", () => {
  const dir = mkdtempSync(join(tmpdir(), "omnimeta-cfg-"));
  const file = join(dir, "n.json");
  writeFileSync(file, JSON.stringify({ name: "from-file", dataDir: "/d", listen: "127.0.0.1:7100", join: ["127.0.0.1:7200"], maxValueBytes: 10 }));
  const o = parseCommandLine(["--config", file, "--name", "from-flag"]);
  assert.equal(o.name, "from-flag");
  assert.equal(o.dataDir, "/d");
  assert.deepEqual(o.listen, { host: "127.0.0.1", port: 7100 });
  assert.deepEqual(o.join, ["http://127.0.0.1:7200"]);
  assert.equal(o.limits?.valueBytesMax, 10);
});

test("mistakes are one ConfigError naming the problem", () => {
  const cases: Array<[string[], RegExp]> = [
    [["--data-dir", "/d"], /missing --name/],
    [["--name", "a"], /missing --data-dir/],
    [["--name", "a", "--data-dir", "/d", "--listen", "nope"], /--listen: expected HOST:PORT/],
    [["--name", "a", "--data-dir", "/d", "--peer-route", "127.0.0.1:1"], /--peer-route: expected ADDR=VIA/],
    [["--name", "a", "--data-dir", "/d", "--tick-ms", "0"], /--tick-ms: expected a positive integer/],
    [["--name", "a", "--data-dir", "/d", "--bogus"], /Unknown option '--bogus'/],
    [["--config", "/nonexistent/metad.json"], /cannot read config file/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseCommandLine(argv), (e: Error) => e instanceof ConfigError && re.test(e.message.split("\n")[0]!), argv.join(" "));
  }
});
