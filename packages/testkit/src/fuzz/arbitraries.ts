// fast-check arbitraries of random and malformed requests, one per RPC of the three services. They
// never make a change that is allowed to stick outside the scratch prefix: writes go to SCRATCH_PREFIX,
// or are malformed, or carry a precondition that fails on a seeded key; membership calls name nobody
// real. So a snapshot of the keys outside the scratch prefix must be the same before and after.
import fc from "fast-check";

export const SCRATCH_PREFIX = "zz-fuzz/";

export interface FuzzWorld {
  clusterId: string;
  /** Seeded keys and their versions (targets of failing preconditions and of reads). */
  seeded: ReadonlyMap<string, bigint>;
  /** Node ids and names of the real members (never removed). */
  memberNames: readonly string[];
}

export type FuzzRequest =
  | { rpc: "Get" | "GetVersion"; input: { key: string; consistency: number } }
  | { rpc: "Put"; input: { key: string; value: Uint8Array; precondition?: Precondition; requestId: string } }
  | { rpc: "Delete"; input: { key: string; precondition?: Precondition; requestId: string } }
  | { rpc: "List"; input: { prefix: string; limit: number; pageToken: string; consistency: number; keysOnly: boolean } }
  | { rpc: "Watch"; input: { key: string; prefix: boolean; startRevision: bigint }; holdMs: number }
  | { rpc: "Session"; input: SessionOp[] }
  | { rpc: "Provision" | "Status" | "ListMembers" | "Identify"; input: Record<string, never> }
  | { rpc: "WatchLeader"; input: Record<string, never>; holdMs: number }
  | { rpc: "AddMember"; input: { address: string } }
  | { rpc: "RemoveMember"; input: { nodeId: bigint; name: string } }
  | { rpc: "Exchange"; input: ExchangeMsg[] }
  | { rpc: "Join"; input: { clusterId: string; name: string; address: string; storageId: string } }
  | { rpc: "Admit"; input: { clusterId: string; nodeId: bigint; storageId: string; configurationMetadata: Uint8Array } };

export type Precondition = { condition: { case: "doesNotExist"; value: boolean } | { case: "matchesVersion"; value: bigint } };
export interface SessionOp {
  id: bigint;
  op: { case: "get" | "getVersion"; value: { key: string; consistency: number } } | { case: "put"; value: { key: string; value: Uint8Array; precondition?: Precondition; requestId: string } } | { case: "list"; value: { prefix: string; limit: number; pageToken: string; consistency: number } } | { case: undefined };
}
export interface ExchangeMsg {
  clusterId: string;
  from: bigint;
  to: bigint;
  messages: Uint8Array[];
  fromAddress: string;
  partial: boolean;
}

const u64 = fc.oneof(fc.constant(0n), fc.bigInt(1n, 10n), fc.bigInt(0n, 2n ** 64n - 1n), fc.constant(2n ** 64n - 1n));
const consistency = fc.oneof(fc.constantFrom(0, 1, 2), fc.integer({ min: -3, max: 1000 }));
const junkString = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.constantFrom("", "\u0000", "a\u0000b", "\ud800", "x\udfffy", "\uFFFD", "é", "/", "../.."),
);
/** Keys no write may succeed on: empty, NUL, lone surrogates, U+FFFD, too long. */
const badKey = fc.oneof(
  fc.constantFrom("", "\u0000", "a\u0000", "\ud800", "k\udc00", "bad\uFFFD"),
  fc.integer({ min: 4097, max: 9000 }).map((n) => "k".repeat(n)),
  fc.integer({ min: 1400, max: 3000 }).map((n) => "é€".repeat(n)),
);
const scratchKey = fc.string({ maxLength: 16 }).map((s) => SCRATCH_PREFIX + s.replace(/[\u0000\ud800-\udfff\uFFFD]/g, "_"));
const bigValue = new Uint8Array(1024 * 1024 + 1);
const value = fc.oneof({ weight: 20, arbitrary: fc.uint8Array({ maxLength: 64 }) }, { weight: 1, arbitrary: fc.constant(bigValue) });
const requestId = fc.oneof(fc.constant(""), fc.string({ maxLength: 20 }), fc.constant("r".repeat(200)));
const anyPrecondition: fc.Arbitrary<Precondition | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.boolean().map((b) => ({ condition: { case: "doesNotExist" as const, value: b } })),
  u64.map((v) => ({ condition: { case: "matchesVersion" as const, value: v } })),
);

export function fuzzRequest(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const seededKeys = [...world.seeded.keys()];
  const seededKey = fc.constantFrom(...seededKeys);
  const readKey = fc.oneof(seededKey, badKey, junkString, scratchKey);
  /** A write target with a precondition that cannot hold when the key is real. */
  const failingWrite = seededKey.chain((key) =>
    fc.oneof(
      fc.constant({ key, precondition: { condition: { case: "doesNotExist" as const, value: true } } as Precondition }),
      fc.bigInt(1n, 2n ** 64n - 1n).filter((v) => v !== world.seeded.get(key)).map((v) => ({ key, precondition: { condition: { case: "matchesVersion" as const, value: v } } as Precondition })),
    ),
  );
  const writeTarget = fc.oneof(
    fc.record({ key: badKey, precondition: anyPrecondition }),
    fc.record({ key: scratchKey, precondition: anyPrecondition }),
    failingWrite,
  );
  const put = fc.record({ target: writeTarget, value, requestId }).map(({ target, value, requestId }) => ({ key: target.key, value, precondition: target.precondition, requestId }));
  const del = fc.record({ target: writeTarget, requestId }).map(({ target, requestId }) => ({ key: target.key, precondition: target.precondition, requestId }));
  const read = fc.record({ key: readKey, consistency });
  const list = fc.record({
    prefix: fc.oneof(fc.constant(""), readKey),
    limit: fc.oneof(fc.constantFrom(0, 1, 10_001, 2 ** 32 - 1), fc.integer({ min: 0, max: 50 })),
    pageToken: fc.oneof(fc.constant(""), readKey),
    consistency,
    keysOnly: fc.boolean(),
  });
  const sessionOp: fc.Arbitrary<SessionOp> = fc.record({
    id: u64,
    op: fc.oneof(
      read.map((value) => ({ case: "get" as const, value })),
      read.map((value) => ({ case: "getVersion" as const, value })),
      put.map((value) => ({ case: "put" as const, value })),
      list.map((value) => ({ case: "list" as const, value })),
      fc.constant({ case: undefined }),
    ),
  });
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 256 }),
    fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([1, ...b])),
    fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([1, 0xff, 0x0f, ...b])),
  );
  const exchangeMsg: fc.Arbitrary<ExchangeMsg> = fc.record({
    clusterId: fc.oneof(fc.constant(world.clusterId), junkString),
    from: u64,
    to: fc.oneof(fc.bigInt(1n, 3n), u64),
    messages: fc.array(bytes, { maxLength: 3 }),
    fromAddress: fc.oneof(fc.constant(""), junkString),
    partial: fc.boolean(),
  });
  const notAMember = junkString.filter((s) => !world.memberNames.includes(s));
  // A join must never be acceptable: a field missing, another cluster, or a field past its bound.
  const join = fc.oneof(
    fc.record({ clusterId: fc.constant(""), name: fc.constant(""), address: junkString, storageId: junkString }),
    fc.record({ clusterId: junkString.filter((s) => s !== "" && s !== world.clusterId), name: notAMember, address: junkString, storageId: junkString }),
    fc.record({ clusterId: fc.constant(""), name: fc.constant("n".repeat(300)), address: fc.constant("http://127.0.0.1:1"), storageId: fc.constant("s") }),
  );
  const hold = fc.integer({ min: 10, max: 300 });
  return fc.oneof(
    read.map((input) => ({ rpc: "Get" as const, input })),
    read.map((input) => ({ rpc: "GetVersion" as const, input })),
    put.map((input) => ({ rpc: "Put" as const, input })),
    del.map((input) => ({ rpc: "Delete" as const, input })),
    list.map((input) => ({ rpc: "List" as const, input })),
    fc.record({ input: fc.record({ key: readKey, prefix: fc.boolean(), startRevision: u64 }), holdMs: hold }).map((r) => ({ rpc: "Watch" as const, ...r })),
    fc.array(sessionOp, { minLength: 1, maxLength: 8 }).map((input) => ({ rpc: "Session" as const, input })),
    fc.constantFrom("Provision" as const, "Status" as const, "ListMembers" as const, "Identify" as const).map((rpc) => ({ rpc, input: {} })),
    hold.map((holdMs) => ({ rpc: "WatchLeader" as const, input: {}, holdMs })),
    fc.oneof(junkString, fc.constant("x".repeat(5000)), fc.constant("ftp://[::1")).map((address) => ({ rpc: "AddMember" as const, input: { address } })),
    fc.record({ nodeId: fc.oneof(fc.constant(0n), fc.bigInt(100n, 2n ** 64n - 1n)), name: notAMember }).map((input) => ({ rpc: "RemoveMember" as const, input })),
    fc.array(exchangeMsg, { minLength: 1, maxLength: 3 }).map((input) => ({ rpc: "Exchange" as const, input })),
    join.map((input) => ({ rpc: "Join" as const, input })),
    fc.record({ clusterId: junkString, nodeId: u64, storageId: junkString, configurationMetadata: fc.uint8Array({ maxLength: 64 }) }).map((input) => ({ rpc: "Admit" as const, input })),
  );
}
