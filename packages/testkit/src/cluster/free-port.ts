// Free TCP ports on 127.0.0.1 for test nodes, chosen so that nothing else on the machine takes them
// between the choice and the node's bind, or while a node is down between a kill and a restart
// (a member must come back on the address the configuration names, so it cannot move).
//
// Why not "bind port 0, release, hand out": port 0 and every outbound connection draw from the
// kernel's ephemeral range, so the released port is the next thing any client socket on the machine
// may get. A CI run once lost a test that way ("listen EADDRINUSE" on a node's restart, with a second
// suite running beside it). So the ports here come from below the ephemeral range, where the kernel
// never hands out a port by itself, and each is claimed with a lock file that names the owning
// process, so parallel test processes never pick the same one. A lock whose owner has died is stale
// and may be taken over; the locks of this process are removed when it exits.
import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LOW = 10_000;
const HIGH = ephemeralLow() - 1;
const LOCK_DIR = join(tmpdir(), "omnimeta-test-ports");
const mine = new Set<number>();

process.on("exit", () => {
  for (const port of mine) rmSync(lockPath(port), { force: true });
});

/** A port on 127.0.0.1 that this process owns until it exits: free now and claimed against other test processes. */
export async function freePort(): Promise<number> {
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (mine.has(port) || !claim(port)) continue;
    if (await bindable(port)) {
      mine.add(port);
      return port;
    }
    rmSync(lockPath(port), { force: true }); // in use by something that is not ours: leave it
  }
  throw new Error(`no free port in ${LOW}-${HIGH} after 1000 tries (locks in ${LOCK_DIR}: ${readdirSync(LOCK_DIR).length})`);
}

function lockPath(port: number): string {
  return join(LOCK_DIR, String(port));
}

/** Takes the lock file of `port` for this process, or over from a dead owner; false if a live process holds it. */
function claim(port: number): boolean {
  const path = lockPath(port);
  // Written aside and linked into place, so a lock is never seen without its owner's pid.
  const draft = join(LOCK_DIR, `.${process.pid}-${port}`);
  writeFileSync(draft, String(process.pid));
  try {
    for (let i = 0; i < 2; i++) {
      try {
        linkSync(draft, path);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        if (ownerAlive(path)) return false;
        rmSync(path, { force: true }); // stale: its owner died without cleaning up
      }
    }
    return false;
  } finally {
    rmSync(draft, { force: true });
  }
}

function ownerAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path, "utf8"));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first port of the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range), 32768 elsewhere. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > LOW + 1000) return low;
  } catch {
    // not Linux: the IANA default
  }
  return 32_768;
}
