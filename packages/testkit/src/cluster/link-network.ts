// The proxied peer network of a cluster: one LinkProxy per directed pair of nodes, and the link
// faults of the nemesis expressed on it (cut, one-way cut, isolate, split, bridge, latency, heal).
import { LinkProxy, type LinkMode } from "./link-proxy.ts";

/** How a cut link behaves: a silent partition (blackhole) or refused connections (reset). */
export type CutMode = Exclude<LinkMode, "pass">;

export class LinkNetwork {
  private constructor(
    readonly names: readonly string[],
    private readonly proxies: Map<string, LinkProxy>,
  ) {}

  /** Starts a proxy from every node to every other node; `ports` are the nodes' listen ports. */
  static async start(ports: ReadonlyMap<string, number>): Promise<LinkNetwork> {
    const names = [...ports.keys()];
    const proxies = new Map<string, LinkProxy>();
    try {
      for (const from of names) {
        for (const to of names) {
          if (from !== to) proxies.set(linkName(from, to), await LinkProxy.start(linkName(from, to), ports.get(to)!));
        }
      }
    } catch (e) {
      await Promise.all([...proxies.values()].map((p) => p.close()));
      throw e;
    }
    return new LinkNetwork(names, proxies);
  }

  /** The proxy `from` dials to reach `to`. */
  proxy(from: string, to: string): LinkProxy {
    const p = this.proxies.get(linkName(from, to));
    if (p === undefined) throw new Error(`no link ${linkName(from, to)}`);
    return p;
  }

  /** The `--peer-route` values node `from` needs: every peer address dialled through its proxy. */
  peerRoutesOf(from: string, addressOf: (name: string) => string): string[] {
    return this.names.filter((to) => to !== from).map((to) => `${addressOf(to)}=127.0.0.1:${this.proxy(from, to).port}`);
  }

  /** Cuts a->b, and b->a too unless oneWay. */
  cut(a: string, b: string, options: { oneWay?: boolean; mode?: CutMode } = {}): void {
    this.proxy(a, b).setMode(options.mode ?? "blackhole");
    if (!options.oneWay) this.proxy(b, a).setMode(options.mode ?? "blackhole");
  }

  /** Cuts every link between `node` and the others. */
  isolate(node: string, mode: CutMode = "blackhole"): void {
    for (const other of this.names) if (other !== node) this.cut(node, other, { mode });
  }

  /** Cuts every link between the two groups. */
  split(left: readonly string[], right: readonly string[], mode: CutMode = "blackhole"): void {
    for (const a of left) for (const b of right) this.cut(a, b, { mode });
  }

  /**
   * The chained case: `bridge` keeps its links to everyone, every other pair in different
   * halves is cut. With 3 nodes, a - bridge - c where a and c cannot talk.
   */
  bridge(left: readonly string[], bridge: string, right: readonly string[], mode: CutMode = "blackhole"): void {
    this.split(left.filter((n) => n !== bridge), right.filter((n) => n !== bridge), mode);
  }

  /** Adds latency to every link (or to the given ones). */
  slow(ms: number, links?: readonly [string, string][]): void {
    for (const [key, proxy] of this.proxies) {
      if (links === undefined || links.some(([a, b]) => linkName(a, b) === key)) proxy.setLatency(ms);
    }
  }

  /** Every link passes again, without latency. */
  heal(): void {
    for (const proxy of this.proxies.values()) {
      proxy.setLatency(0);
      proxy.setMode("pass");
    }
  }

  /** The links that are not passing, e.g. ["n1->n2 blackhole"]. */
  faults(): string[] {
    return [...this.proxies.values()].filter((p) => p.currentMode !== "pass").map((p) => `${p.name} ${p.currentMode}`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }
}

function linkName(from: string, to: string): string {
  return `${from}->${to}`;
}
