// The endpoints the client knows and which one to use next: the leader when known, else
// round-robin. Grows from membership (ListMembers) and leader hints; never forgets a seed.

export function normalizeAddress(address: string): string {
  const trimmed = address.trim().replace(/\/+$/, "");
  return /^[a-z]+:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
}

export class Endpoints {
  private readonly addresses: string[] = [];
  private nextIdx = 0;
  private leaderAddress: string | undefined;
  /** Invariant: every address in `addresses` is normalized and appears once. */

  constructor(seeds: readonly string[]) {
    for (const seed of seeds) this.add(seed);
    if (this.addresses.length === 0) throw new Error("at least one endpoint is required");
  }

  all(): readonly string[] {
    return this.addresses;
  }

  leader(): string | undefined {
    return this.leaderAddress;
  }

  /** Where the next attempt goes: the known leader, else the round-robin position. */
  preferred(): string {
    return this.leaderAddress ?? this.addresses[this.nextIdx % this.addresses.length];
  }

  /** The address failed (refused, reset, timed out, no leader): forget it as leader, move on. */
  markFailed(address: string): void {
    const normalized = normalizeAddress(address);
    if (this.leaderAddress === normalized) this.leaderAddress = undefined;
    const idx = this.addresses.indexOf(normalized);
    this.nextIdx = ((idx >= 0 ? idx : this.nextIdx) + 1) % this.addresses.length;
  }

  /** True when the round-robin position is back at the first endpoint (a full round failed). */
  wrapped(): boolean {
    return this.nextIdx === 0;
  }

  /** A leader hint or a status said who leads. Returns true when that changes the target. */
  setLeader(address: string): boolean {
    const normalized = this.add(address);
    const changed = this.leaderAddress !== normalized;
    this.leaderAddress = normalized;
    return changed;
  }

  clearLeader(): void {
    this.leaderAddress = undefined;
  }

  /** Adds the members' addresses (from ListMembers) and the leader among them. */
  learn(members: readonly { nodeId: bigint; address: string }[], leaderId: bigint): void {
    for (const m of members) if (m.address !== "") this.add(m.address);
    const leader = members.find((m) => m.nodeId === leaderId && leaderId !== 0n);
    if (leader && leader.address !== "") this.setLeader(leader.address);
  }

  private add(address: string): string {
    const normalized = normalizeAddress(address);
    if (!this.addresses.includes(normalized)) this.addresses.push(normalized);
    return normalized;
  }
}
