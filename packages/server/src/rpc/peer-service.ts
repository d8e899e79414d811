// PeerService handlers (node to node): the inbound half of consensus Exchange streams, Join, Identify
// and Admit. Messages from another cluster or addressed to another node are refused, and so is, on a TLS
// listener, every caller without a client certificate from the cluster's CA (it cannot join, send or vote).

import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { PeerService } from "@omnimeta/proto";
import type { MembershipChanges } from "../node/membership-changes.ts";
import type { NodeRuntime } from "../node/node-runtime.ts";
import { OpError } from "./op-error.ts";
import { UnknownOfferError } from "../snapshot/snapshot-offers.ts";
import { requirePeerCertificate } from "../tls/peer-auth.ts";
import { validateMemberAddress, validateName } from "./validate.ts";

export function peerService(rt: NodeRuntime, changes: MembershipChanges): ServiceImpl<typeof PeerService> {
  return {
    async exchange(requests, ctx) {
      requirePeerCertificate(ctx);
      let partial: Uint8Array[] = [];
      let partialBytes = 0;
      for await (const req of requests) {
        if (rt.closing) break;
        if (req.clusterId !== rt.clusterId || rt.clusterId === "") {
          throw new ConnectError(`this node belongs to cluster "${rt.clusterId}", not "${req.clusterId}"`, Code.FailedPrecondition);
        }
        if (Number(req.to) !== rt.nodeId) {
          throw new ConnectError(`this is node ${rt.nodeId}, not node ${req.to}`, Code.FailedPrecondition);
        }
        if (req.partial || partial.length > 0) {
          for (const m of req.messages) {
            partial.push(m);
            partialBytes += m.length;
          }
          if (partialBytes > rt.limits.peerBatchBytesMax) {
            throw new ConnectError(`peer batch larger than ${rt.limits.peerBatchBytesMax} bytes`, Code.ResourceExhausted);
          }
          if (req.partial) continue;
          req.messages = [concat(partial, partialBytes)];
          partial = [];
          partialBytes = 0;
        }
        try {
          rt.receive(Number(req.from), req.fromAddress, req.messages);
        } catch (e) {
          rt.logger.warn("malformed peer batch; stream cut", { from: Number(req.from), error: e });
          throw new ConnectError((e as Error).message, Code.InvalidArgument);
        }
      }
      return {};
    },
    async join(req, ctx) {
      requirePeerCertificate(ctx);
      try {
        if (req.name === "" || req.address === "" || req.storageId === "") {
          throw new OpError(Code.InvalidArgument, "join needs name, address and storage_id");
        }
        validateName(req.name, rt.limits.nameBytesMax, "name");
        validateName(req.storageId, rt.limits.nameBytesMax, "storage_id");
        validateMemberAddress(req.address, rt.limits);
        return await changes.join(req, ctx.requestHeader);
      } catch (e) {
        throw OpError.from(e).toConnectError();
      }
    },
    identify: (_req, ctx) => {
      requirePeerCertificate(ctx);
      return changes.identity();
    },
    // The snapshot a sync message of ours offered (snapshot/snapshot-offers.ts), pulled by its receiver.
    async *fetchSnapshot(req, ctx) {
      requirePeerCertificate(ctx);
      if (req.clusterId !== rt.clusterId || rt.clusterId === "") {
        throw new ConnectError(`this node belongs to cluster "${rt.clusterId}", not "${req.clusterId}"`, Code.FailedPrecondition);
      }
      const offers = rt.offers;
      if (offers === undefined || rt.closing) throw new ConnectError("this node offers no snapshot", Code.Unavailable);
      const rate = rt.limits.snapshotSendBytesPerSecond;
      const started = performance.now();
      try {
        for await (const chunk of offers.chunks(req.transferId, rt.clusterId, Number(req.from), rt.unsafe.corruptTransfer)) {
          if (ctx.signal.aborted) break;
          // --snapshot-send-rate: a chunk leaves no earlier than its bytes allow.
          const due = started + (chunk.offset / rate) * 1000;
          if (rate > 0 && due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
          yield { offset: BigInt(chunk.offset), data: chunk.data, crc32: chunk.crc32 };
        }
      } catch (e) {
        if (e instanceof UnknownOfferError) throw new ConnectError(e.message, Code.NotFound);
        throw e;
      }
    },
    admit(req, ctx) {
      requirePeerCertificate(ctx);
      try {
        changes.admit(req.clusterId, Number(req.nodeId), req.storageId, req.configurationMetadata);
        return {};
      } catch (e) {
        throw OpError.from(e).toConnectError();
      }
    },
  };
}

function concat(parts: Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
