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
    "--watch-history-revisions", "500",
  ]);
  assert.equal(o.name, "n1");
  assert.deepEqual(o.listen, { host: "127.0.0.1", port: 7001 });
  assert.deepEqual(o.join, ["http://127.0.0.1:7002", "http://127.0.0.1:7003"]);
  assert.deepEqual(o.peerRoutes, { "127.0.0.1:7002": "127.0.0.1:9002", "127.0.0.1:7003": "127.0.0.1:9003" });
  assert.equal(o.limits?.valueBytesMax, 2048);
  assert.equal(o.tickMs, 10);
  assert.equal(o.limits?.watchHistoryRevisions, 500);
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
    [["--name", "a", "--data-dir", "/d", "--watch-history-revisions", "0"], /--watch-history-revisions: expected a positive integer/],
    [["--name", "a", "--data-dir", "/d", "--bogus"], /Unknown option '--bogus'/],
    [["--config", "/nonexistent/metad.json"], /cannot read config file/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseCommandLine(argv), (e: Error) => e instanceof ConfigError && re.test(e.message.split("\n")[0]!), argv.join(" "));
  }
});

test("auth files: flags or the config file's \"auth\" give the tokens (first line); a bad file is one ConfigError that never shows its content", () => {
  const dir = mkdtempSync(join(tmpdir(), "omnimeta-cfg-auth-"));
  const put = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const client = put("client", "c1ient-t0ken-0123456789\nignored second line\n");
  const admin = put("admin", "  adm1n-t0ken-0123456789  \n");
  const peer = put("peer", "peer-secret-0123456789");
  const config = put("n.json", JSON.stringify({ name: "n", dataDir: "/d", auth: { tokenFile: client, peerSecretFile: peer } }));
  const base = ["--name", "n", "--data-dir", "/d"];
  assert.deepEqual(parseCommandLine([...base, "--auth-token-file", client, "--admin-token-file", admin, "--peer-secret-file", peer]).auth,
    { token: "c1ient-t0ken-0123456789", adminToken: "adm1n-t0ken-0123456789", peerSecret: "peer-secret-0123456789" });
  assert.deepEqual(parseCommandLine(["--config", config, "--admin-token-file", admin]).auth,
    { token: "c1ient-t0ken-0123456789", adminToken: "adm1n-t0ken-0123456789", peerSecret: "peer-secret-0123456789" });
  assert.equal(parseCommandLine(base).auth, undefined);
  const refused = (args: string[], pattern: RegExp, secret?: string): void => {
    assert.throws(() => parseCommandLine([...base, ...args]), (e: Error) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes("\n") && (secret === undefined || !e.message.includes(secret)));
  };
  refused(["--auth-token-file", join(dir, "missing")], /--auth-token-file: cannot read .*ENOENT/);
  refused(["--auth-token-file", put("empty", "\n")], /is empty/);
  refused(["--peer-secret-file", put("short", "tooshort\n")], /fewer than 16 characters/, "tooshort");
  refused(["--admin-token-file", put("spaces", "has spaces in the token\n")], /printable ASCII/, "has spaces");
  refused(["--auth-token-file", client, "--admin-token-file", client], /another token/, "c1ient");
});
