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

/** The cumulative buckets [le, count] of an unlabelled histogram `name`, in order, +Inf as Infinity. */
export function histogramBuckets(text: string, name: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`);
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (m) out.push([m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2])]);
  }
  return out;
}

export async function scrapeMetrics(address: string): Promise<string> {
  const res = await fetch(`${address}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${address}/metrics: HTTP ${res.status}`);
  return res.text();
}
