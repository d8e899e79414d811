// The bounded buffer of outgoing messages shared by Ballot Leader Election and Sequence Paxos;
// drained by OmniPaxos.takeOutgoingMessages().
import { assert } from "./assert.ts";
import { limits } from "./limits.ts";
import type { Message } from "./messages.ts";

export class Outbox<T, S> {
  private msgs: Message<T, S>[] = [];

  push(m: Message<T, S>): void {
    assert(this.msgs.length < limits.outgoingMessagesMax, () => `more than ${limits.outgoingMessagesMax} outgoing messages buffered: call takeOutgoingMessages()`);
    this.msgs.push(m);
  }

  take(): Message<T, S>[] {
    const m = this.msgs;
    this.msgs = [];
    return m;
  }
}
