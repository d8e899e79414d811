import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";
import { freePort } from "../../src/cluster/free-port.ts";

test("freePort hands out distinct ports below the ephemeral range, each locked by this process and bindable", async () => {
  const ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  const ports: number[] = [];
  for (let i = 0; i < 50; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length);
  for (const port of ports) {
    assert.ok(port >= 10_000 && port < ephemeralLow, `${port} is outside [10000, ${ephemeralLow})`);
    assert.equal(readFileSync(join(tmpdir(), "omnimeta-test-ports", String(port)), "utf8"), String(process.pid));
  }
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(ports[0], "127.0.0.1", resolve));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
