// Node id -> advertised address, learnt from every configuration's members and from inbound peer
// streams (a joiner is known by its first message before its configuration is).

export class AddressBook {
  private readonly byId = new Map<number, string>();

  set(nodeId: number, address: string): void {
    if (nodeId > 0 && address !== "") this.byId.set(nodeId, address);
  }

  get(nodeId: number): string | undefined {
    return this.byId.get(nodeId);
  }

  addMembers(members: ReadonlyArray<{ nodeId: number; address: string }>): void {
    for (const m of members) this.set(m.nodeId, m.address);
  }
}
