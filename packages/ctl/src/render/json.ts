// Script output: exactly the collected view object, one JSON document per line (so watch
// streams are JSON Lines). bigint never reaches here: views convert with `num()`.

/** A uint64 from the wire as a JSON number (exact below 2^53, which log indexes and versions stay under). */
export function num(value: bigint): number {
  return Number(value);
}

export function renderJson(view: unknown): string {
  return JSON.stringify(view, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v)) + "\n";
}
