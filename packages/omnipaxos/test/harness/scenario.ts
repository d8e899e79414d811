// A tiny scenario language for protocol tests (after etcd-io/raft's datadriven files): one
// directive per line, `#` comments state the property. Every directive is checked as it runs and
// a failure names the line. Safety (prefix-consistent decided logs, no duplicates) is checked
// after every delivery round by TestCluster.
//
//   nodes 1 2 3 [priority 3=10] [batch 5] [no-entry-ids]   start configuration 1 with these members
//   start 4 config 2:1,2,4                                 start a node with empty storage in a later configuration
//   tick N | tick-until <expect…> within N                 advance time (each tick is followed by delivery)
//   cut 1-3 2-3 | cut 3>1 | heal 1-3 | heal all | isolate 2  links (both directions, or one way)
//   links 1-2 2-3                                          exactly these links stay up (cuts every other pair)
//   crash 2 | restart 2                                    crash loses writes since the last takeOutgoingMessages
//   append 2 a b c | reconfigure 1 2:1,2,4                 proposals at a node (reconfigure = StopSign)
//   snapshot 1 [idx] [all] | trim 1 [idx]
//   expect leader 3 [on 1,2]     expect leader none [on 3]   expect no-leader [on 1]  expect decided a b c [on 1,2]   expect decided-count 5 [on …]
//   expect config 2 [on …]       expect removed 3          expect compacted 3 >= 2        expect dropped 2 a b
//   expect slot 1 3 c | expect slot 1 2 stopsign:2            what a log slot holds
//   expect append-error 2 reconfigured                     expect accepted-has 1 x / accepted-lacks 1 x
import { ProposalError } from "../../src/index.ts";
import { TestCluster, type NodeOptions } from "./cluster.ts";

function ids(s: string): number[] {
  return s.split(",").filter((x) => x !== "").map(Number);
}

function parseConfig(s: string): { configurationId: number; nodes: number[] } {
  const [id, nodes] = s.split(":");
  return { configurationId: Number(id), nodes: ids(nodes!) };
}

export class Scenario {
  readonly c = new TestCluster();
  private nodeOpts: NodeOptions = {};

  run(script: string): TestCluster {
    const lines = script.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.replace(/#.*/, "").trim();
      if (line === "") continue;
      try {
        this.exec(line.split(/\s+/));
      } catch (e) {
        const err = e as Error;
        err.message = `scenario line ${i + 1} \`${line}\`: ${err.message}`;
        throw err;
      }
    }
    return this.c;
  }

  private targets(words: string[]): number[] {
    const k = words.indexOf("on");
    return k >= 0 ? ids(words[k + 1]!) : this.c.upNodes().map((n) => n.pid);
  }

  private exec(w: string[]): void {
    const c = this.c;
    const [cmd, a1] = w;
    switch (cmd) {
      case "nodes": {
        let k = 1;
        while (k < w.length && /^\d+$/.test(w[k]!)) k++;
        const members = w.slice(1, k).map(Number);
        const prio = new Map<number, number>();
        const pi = w.indexOf("priority");
        if (pi >= 0) for (const kv of w.slice(pi + 1).filter((x) => x.includes("="))) prio.set(Number(kv.split("=")[0]), Number(kv.split("=")[1]));
        const bi = w.indexOf("batch");
        this.nodeOpts = { ...(bi >= 0 ? { batchSize: Number(w[bi + 1]) } : {}), ...(w.includes("no-entry-ids") ? { entryIds: false } : {}) };
        for (const p of members) c.addNode(p, { configurationId: 1, nodes: members }, { ...this.nodeOpts, ...(prio.has(p) ? { priority: prio.get(p)! } : {}) });
        return;
      }
      case "start": return void c.addNode(Number(a1), parseConfig(w[3]!), this.nodeOpts);
      case "tick": return c.tick(Number(a1));
      case "tick-until": {
        const wi = w.indexOf("within");
        const cond = ["expect", ...w.slice(1, wi)];
        const max = Number(w[wi + 1]);
        const used = c.tickUntil(() => { try { this.exec(cond); return true; } catch { return false; } }, max);
        if (used < 0) this.exec(cond); // report why
        return;
      }
      case "cut":
        for (const p of w.slice(1)) {
          if (p.includes(">")) { const [a, b] = p.split(">").map(Number); c.cutOneWay(a!, b!); continue; }
          const [a, b] = p.split("-").map(Number);
          c.cut(a!, b!);
        }
        return;
      case "heal":
        if (a1 === "all") return c.healAll();
        for (const p of w.slice(1)) { const [a, b] = p.split("-").map(Number); c.heal(a!, b!); }
        return;
      case "isolate": for (const n of c.nodes.keys()) if (n !== Number(a1)) c.cut(Number(a1), n); return;
      case "links": {
        const keep = new Set(w.slice(1).flatMap((p) => { const [a, b] = p.split("-").map(Number); return [`${a}-${b}`, `${b}-${a}`]; }));
        const all = [...c.nodes.keys()];
        for (const a of all) for (const b of all) if (a < b) { if (keep.has(`${a}-${b}`)) c.heal(a, b); else c.cut(a, b); }
        return;
      }
      case "step-down": return c.node(Number(a1)).op.stepDown();
      case "crash": return c.crash(Number(a1));
      case "restart": return c.restart(Number(a1));
      case "append": for (const v of w.slice(2)) c.node(Number(a1)).op.append(v); return;
      case "reconfigure": { const cfg = parseConfig(w[2]!); return c.node(Number(a1)).op.reconfigure(cfg); }
      case "snapshot": {
        const idx = w[2] !== undefined && /^\d+$/.test(w[2]) ? Number(w[2]) : undefined;
        return c.node(Number(a1)).op.snapshot(idx, !w.includes("all"));
      }
      case "trim": return c.node(Number(a1)).op.trim(w[2] !== undefined ? Number(w[2]) : undefined);
      case "expect": return this.expect(w.slice(1));
      default: throw new Error(`unknown directive ${cmd}`);
    }
  }

  private expect(w: string[]): void {
    const c = this.c;
    const [what, a1] = w;
    const on = this.targets(w);
    const values = (from: number): string[] => { const k = w.indexOf("on"); return w.slice(from, k >= 0 ? k : undefined); };
    switch (what) {
      case "leader": {
        if (a1 === "none") {
          for (const p of on) if (c.node(p).op.getCurrentLeader() !== undefined) throw new Error(`node ${p} follows ${c.node(p).op.getCurrentLeader()}, expected no leader`);
          return;
        }
        for (const p of on) {
          const l = c.node(p).op.getCurrentLeader();
          if (l !== Number(a1)) throw new Error(`node ${p} follows ${l}, expected ${a1}`);
        }
        const st = c.node(Number(a1)).op.getStatus();
        if (st.role !== "leader" || st.phase !== "accept") throw new Error(`node ${a1} is ${st.role}/${st.phase}, expected leader/accept`);
        return;
      }
      case "no-leader": for (const p of on) { const st = c.node(p).op.getStatus(); if (st.role === "leader") throw new Error(`node ${p} leads`); } return;
      case "decided": {
        const want = values(1);
        for (const p of on) { const got = c.decidedState(p); if (got.join(" ") !== want.join(" ")) throw new Error(`node ${p} decided [${got.join(" ")}], expected [${want.join(" ")}]`); }
        return;
      }
      case "decided-count": for (const p of on) { const n = c.decidedState(p).length; if (n !== Number(a1)) throw new Error(`node ${p} decided ${n} entries, expected ${a1}`); } return;
      case "config": for (const p of on) { const id = c.node(p).op.getConfiguration().configurationId; if (id !== Number(a1)) throw new Error(`node ${p} is in configuration ${id}, expected ${a1}`); } return;
      case "removed": if (!c.node(Number(a1)).op.isRemoved()) throw new Error(`node ${a1} does not know it was removed`); return;
      case "compacted": {
        const got = c.node(Number(a1)).op.getCompactedIdx();
        if (!(got >= Number(w[3]))) throw new Error(`node ${a1} compactedIdx ${got}, expected >= ${w[3]}`);
        return;
      }
      case "dropped": { const got = c.node(Number(a1)).dropped.join(" "); if (got !== w.slice(2).join(" ")) throw new Error(`node ${a1} dropped [${got}], expected [${w.slice(2).join(" ")}]`); return; }
      case "append-error": {
        try { c.node(Number(a1)).op.append("probe"); } catch (e) { if (e instanceof ProposalError && e.code === w[2]) return; throw e; }
        throw new Error(`append at ${a1} succeeded, expected ${w[2]}`);
      }
      case "accepted-has":
      case "accepted-lacks": {
        const log = (c.node(Number(a1)).op.readEntries(0, Number.MAX_SAFE_INTEGER) ?? []).flatMap((e) => (e.kind === "entry" ? [e.entry] : e.kind === "stopsign" ? [`stopsign:${e.stopSign.nextConfig.configurationId}`] : []));
        const has = log.includes(w[2]!);
        if (has !== (what === "accepted-has")) throw new Error(`node ${a1} log [${log.join(" ")}] ${has ? "has" : "lacks"} ${w[2]}`);
        return;
      }
      case "slot": {
        // expect slot <node> <idx> <entry | stopsign:N>
        const e = c.node(Number(a1)).op.read(Number(w[2]));
        const got = e === undefined ? "none" : e.kind === "entry" ? e.entry : e.kind === "stopsign" ? `stopsign:${e.stopSign.nextConfig.configurationId}` : e.kind;
        if (got !== w[3]) throw new Error(`node ${a1} slot ${w[2]} holds ${got}, expected ${w[3]}`);
        return;
      }
      default: throw new Error(`unknown expectation ${what}`);
    }
  }
}

export function scenario(script: string): TestCluster {
  return new Scenario().run(script);
}
