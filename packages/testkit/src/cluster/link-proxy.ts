// A TCP proxy for one directed link (node A dialling peer B): the nemesis cuts it, stalls it or
// slows it down. Blackholed links stall like a real partition (bytes are held, TCP backs up) and
// flow again on heal; reset links kill their connections and refuse new ones.
import * as net from "node:net";

/** pass: forward. blackhole: hold all bytes (both ways) until healed. reset: RST every connection. */
export type LinkMode = "pass" | "blackhole" | "reset";

/** One direction of a proxied connection: bytes held while cut, and chunks waiting out a latency. */
interface Held {
  from: net.Socket;
  to: net.Socket;
  chunks: Buffer[];
  /** Chunks waiting out a latency, oldest first, each with the time it may leave (never decreasing). */
  delayed: Array<{ chunk: Buffer; atMs: number }>;
  /** The one timer draining `delayed`; one timer per direction keeps the order (timers of equal expiry do not). */
  timer: NodeJS.Timeout | undefined;
}

/** One proxied connection: the dialling side (client) and the dialled side (upstream). */
interface Pipe {
  client: net.Socket;
  upstream: net.Socket;
  held: Held[];
}

export class LinkProxy {
  private mode: LinkMode = "pass";
  private latencyMs = 0;
  private readonly pipes = new Set<Pipe>();
  /** Connections accepted since start (for tests and the run summary). */
  acceptedCount = 0;

  private constructor(
    readonly name: string,
    private readonly server: net.Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  /** Listens on 127.0.0.1 at a free port and forwards to 127.0.0.1:targetPort. */
  static async start(name: string, targetPort: number): Promise<LinkProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const proxy = new LinkProxy(name, server, (server.address() as net.AddressInfo).port, targetPort);
    server.on("connection", (socket) => proxy.accept(socket));
    return proxy;
  }

  get currentMode(): LinkMode {
    return this.mode;
  }

  get openConnectionCount(): number {
    return this.pipes.size;
  }

  /** Chunks waiting out a latency right now, over all connections. */
  get delayedChunkCount(): number {
    let count = 0;
    for (const pipe of this.pipes) for (const held of pipe.held) count += held.delayed.length;
    return count;
  }

  setMode(mode: LinkMode): void {
    this.mode = mode;
    if (mode === "reset") for (const pipe of [...this.pipes]) this.destroy(pipe, true);
    if (mode === "pass") for (const pipe of this.pipes) this.release(pipe);
  }

  /** Every chunk is delayed by this much, in order. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  async close(): Promise<void> {
    for (const pipe of [...this.pipes]) this.destroy(pipe, false);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.acceptedCount++;
    if (this.mode === "reset") {
      client.on("error", () => {});
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, "127.0.0.1");
    const pipe: Pipe = { client, upstream, held: [] };
    this.pipes.add(pipe);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on("error", () => this.destroy(pipe, false));
      s.on("close", () => this.destroy(pipe, false));
    }
    this.pump(pipe, client, upstream);
    this.pump(pipe, upstream, client);
  }

  private pump(pipe: Pipe, from: net.Socket, to: net.Socket): void {
    const held: Held = { from, to, chunks: [], delayed: [], timer: undefined };
    pipe.held.push(held);
    from.on("data", (chunk: Buffer) => {
      if (this.mode !== "pass" || held.chunks.length > 0) {
        held.chunks.push(chunk);
        from.pause();
        return;
      }
      this.send(held, chunk);
    });
  }

  /**
   * Writes one chunk, after the link's latency. Chunks still waiting out an earlier latency keep
   * their place: a later chunk never overtakes them, even once the latency is gone.
   */
  private send(held: Held, chunk: Buffer): void {
    const { from, to } = held;
    if (this.latencyMs === 0 && held.delayed.length === 0) {
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => this.mode === "pass" && held.chunks.length === 0 && from.resume());
      }
      return;
    }
    const last = held.delayed[held.delayed.length - 1];
    held.delayed.push({ chunk, atMs: Math.max(Date.now() + this.latencyMs, last?.atMs ?? 0) });
    if (held.timer === undefined) this.drainDelayed(held);
  }

  /** Writes every delayed chunk that is due, in order, then waits for the next one. */
  private drainDelayed(held: Held): void {
    held.timer = undefined;
    const now = Date.now();
    while (held.delayed.length > 0 && held.delayed[0]!.atMs <= now) {
      const { chunk } = held.delayed.shift()!;
      if (!held.to.destroyed) held.to.write(chunk);
    }
    if (held.delayed.length > 0) {
      held.timer = setTimeout(() => this.drainDelayed(held), held.delayed[0]!.atMs - now).unref();
    }
  }

  /** Sends held bytes in order and lets data flow again. */
  private release(pipe: Pipe): void {
    for (const held of pipe.held) {
      for (const chunk of held.chunks.splice(0)) this.send(held, chunk);
      if (!held.from.destroyed) held.from.resume();
    }
  }

  private destroy(pipe: Pipe, reset: boolean): void {
    if (!this.pipes.delete(pipe)) return;
    for (const s of [pipe.client, pipe.upstream]) {
      if (s.destroyed) continue;
      if (reset && s.readyState !== "opening") s.resetAndDestroy();
      else s.destroy();
    }
  }
}
