// Reads single values out of a node's /metrics (Prometheus text): the benchmarks watch the server
// from outside, through what it exports, as an operator would.

/** The value of the first sample named `name` (with any labels matching `labels`), or undefined. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const matches = Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`));
    if (!matches) continue;
    const value = Number(rest.slice(rest.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) return value;
  }
  return undefined;
}

/** The largest finite `le` bucket that holds any observation of histogram `name` (an upper bound on its max). */
export function histogramMaxBound(text: string, name: string): number | undefined {
  let previous = 0;
  let bound: number | undefined;
  for (const line of text.split("\n")) {
    const m = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const count = Number(m[2]);
    if (m[1] === "+Inf") {
      if (count > previous) bound = Infinity;
      continue;
    }
    if (count > previous) bound = Number(m[1]);
    previous = count;
  }
  return bound;
}

export async function scrapeMetrics(address: string): Promise<string> {
  const res = await fetch(`${address}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${address}/metrics: HTTP ${res.status}`);
  return res.text();
}
