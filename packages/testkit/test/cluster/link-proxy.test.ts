// The per-link fault proxies against a plain TCP echo server: pass, blackhole then heal, reset,
// latency; and the link faults of LinkNetwork mapped onto the right directed proxies.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { once } from "node:events";
import { LinkProxy } from "../../src/cluster/link-proxy.ts";
import { LinkNetwork } from "../../src/cluster/link-network.ts";

async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.pipe(s);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A link proxy "a->b" in front of a fresh echo server; both are closed when the test ends. */
async function proxiedEcho(t: TestContext): Promise<LinkProxy> {
  const echo = await echoServer();
  const proxy = await LinkProxy.start("a->b", echo.port);
  t.after(async () => {
    await proxy.close();
    await echo.close();
  });
  return proxy;
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, "127.0.0.1");
  await once(s, "connect");
  return s;
}

/** Resolves with the next data chunk, or "silence" if none arrives within ms. */
function nextData(s: net.Socket, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.off("data", onData);
      resolve("silence");
    }, ms);
    const onData = (b: Buffer) => {
      clearTimeout(timer);
      resolve(b.toString());
    };
    s.once("data", onData);
  });
}

test("a passing link forwards both ways; a blackholed link holds bytes and delivers them in order on heal", async (t) => {
  const proxy = await proxiedEcho(t);
  const s = await connect(proxy.port);
  s.write("hello");
  assert.equal(await nextData(s, 2000), "hello");
  proxy.setMode("blackhole");
  s.write("one,");
  s.write("two");
  assert.equal(await nextData(s, 150), "silence");
  let received = "";
  s.on("data", (b) => (received += b.toString()));
  proxy.setMode("pass");
  while (received !== "one,two") await once(s, "data");
  s.destroy();
});

test("a reset link kills open connections and refuses new ones until healed", async (t) => {
  const proxy = await proxiedEcho(t);
  const s = await connect(proxy.port);
  s.on("error", () => {});
  s.write("x");
  assert.equal(await nextData(s, 2000), "x");
  const closed = new Promise((resolve) => s.on("close", resolve));
  proxy.setMode("reset");
  await closed;
  const refused = net.connect(proxy.port, "127.0.0.1");
  const [err] = (await once(refused, "error")) as [NodeJS.ErrnoException];
  assert.equal(err.code, "ECONNRESET");
  proxy.setMode("pass");
  const again = await connect(proxy.port);
  again.write("back");
  assert.equal(await nextData(again, 2000), "back");
  again.destroy();
});

test("latency delays every chunk on the link", async (t) => {
  const proxy = await proxiedEcho(t);
  proxy.setLatency(100);
  const s = await connect(proxy.port);
  const started = performance.now();
  s.write("slow");
  assert.equal(await nextData(s, 3000), "slow");
  const rttMs = performance.now() - started;
  assert.ok(rttMs >= 190, `round trip took ${rttMs.toFixed(0)} ms, expected two delayed hops`);
  s.destroy();
});

test("removing latency never lets a later chunk overtake one still delayed", async (t) => {
  const proxy = await proxiedEcho(t);
  const s = await connect(proxy.port);
  let received = "";
  s.on("data", (b) => (received += b.toString()));
  proxy.setLatency(150);
  s.write("first,");
  while (proxy.delayedChunkCount === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  proxy.setLatency(0);
  s.write("second");
  while (received.length < "first,second".length) await once(s, "data");
  assert.equal(received, "first,second");
  s.destroy();
});

test("link faults map onto the directed proxies: one-way cut, isolate, split and bridge", async (t) => {
  const echo = await echoServer();
  const net3 = await LinkNetwork.start(new Map([["n1", echo.port], ["n2", echo.port], ["n3", echo.port]]));
  t.after(async () => {
    await net3.close();
    await echo.close();
  });
  assert.equal(net3.peerRoutesOf("n1", (n) => `127.0.0.1:${n === "n2" ? 7002 : 7003}`).length, 2);
  assert.match(net3.peerRoutesOf("n1", () => "127.0.0.1:7002")[0], /^127\.0\.0\.1:7002=127\.0\.0\.1:\d+$/);
  net3.cut("n1", "n2", { oneWay: true });
  assert.deepEqual(net3.faults(), ["n1->n2 blackhole"]);
  net3.heal();
  net3.isolate("n3", "reset");
  assert.deepEqual(net3.faults().sort(), ["n1->n3 reset", "n2->n3 reset", "n3->n1 reset", "n3->n2 reset"]);
  net3.heal();
  net3.split(["n1"], ["n2", "n3"]);
  assert.deepEqual(net3.faults().sort(), ["n1->n2 blackhole", "n1->n3 blackhole", "n2->n1 blackhole", "n3->n1 blackhole"]);
  net3.heal();
  net3.bridge(["n1", "n2"], "n2", ["n2", "n3"]);
  assert.deepEqual(net3.faults().sort(), ["n1->n3 blackhole", "n3->n1 blackhole"]);
  net3.heal();
  assert.deepEqual(net3.faults(), []);
  // Through a real proxy of the network: n1 reaches "n2" (the echo server) only while n1->n2 passes.
  const s = await connect(net3.proxy("n1", "n2").port);
  net3.cut("n2", "n1", { oneWay: true });
  s.write("still");
  assert.equal(await nextData(s, 2000), "still");
  s.destroy();
});
