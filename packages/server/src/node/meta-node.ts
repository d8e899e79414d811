// startNode: opens the data dir, binds the listener, then boots the node (active from its persisted
// configuration, joining with --join, or unprovisioned). The returned MetaNode is the embedding handle.

import type { ConnectRouter } from "@connectrpc/connect";
import { ClusterService, MetadataService, PeerService } from "@omnimeta/proto";
import { normaliseUrl, type NodeOptions } from "../config.ts";
import { DEFAULT_STATE_MACHINE_LIMITS, resolveLimits } from "../limits.ts";
import { createJsonLogger } from "../log.ts";
import { parseUnsafeFlags, warnUnsafe } from "../unsafe.ts";
import { openNodeStore } from "../storage/index.ts";
import { listenHttp2, type BoundServer } from "../rpc/http-server.ts";
import { TlsCredentials } from "../tls/tls-credentials.ts";
import { AccessControl } from "../auth/access-control.ts";
import { authInterceptor, authorizeFast } from "../auth/auth-interceptor.ts";
import { metadataService } from "../rpc/metadata-service.ts";
import { clusterService } from "../rpc/cluster-service.ts";
import { peerService } from "../rpc/peer-service.ts";
import { FORWARDED_HEADER } from "./leader-forwarder.ts";
import { health, ready } from "./health.ts";
import { MembershipChanges, type ProvisionOptions } from "./membership-changes.ts";
import { PeerProber } from "./peer-prober.ts";
import { NodeRuntime } from "./node-runtime.ts";
import { checkRestoreTarget, restoreFromSnapshot, validateSnapshotFile } from "../snapshot/restore.ts";
import { removeStaleSnapshotCopies } from "../snapshot/sqlite-snapshot-source.ts";
import type { NodeStatus } from "./node-status.ts";

/** A running node. */
export interface MetaNode {
  /** The advertised base URL (http://host:port, https:// with TLS), known once the listener is bound. */
  readonly address: string;
  readonly name: string;
  /** 0 until the node is provisioned or has joined a cluster. */
  readonly nodeId: number;
  status(): NodeStatus;
  /** Creates configuration 1 with this node alone (ClusterService.Provision); with --join peers, only after
   *  they all answered and none is in a cluster (forceNewCluster: unreachable peers are not waited for). */
  provision(options?: ProvisionOptions): Promise<{ alreadyProvisioned: boolean; clusterId: string }>;
  /** Resolves when status().state becomes `state` (e.g. "active" after a join). */
  waitForState(state: NodeStatus["state"], timeoutMs?: number): Promise<void>;
  /** Prometheus text of /metrics (this node's metrics and the process's). */
  metrics(): Promise<string>;
  /** Re-reads the TLS certificate, key and CA (SIGHUP does this in metad); throws, keeping the old ones, if they are unusable. */
  reloadTls(): void;
  /** Resolves when the node has stopped: after close(), or after a fatal error (then with that error). */
  readonly stopped: Promise<{ error?: unknown }>;
  /** Stops serving, fails pending requests, commits what is staged, closes the listener and the database. */
  close(): Promise<void>;
}

export async function startNode(options: NodeOptions): Promise<MetaNode> {
  const logger = options.logger ?? createJsonLogger({ fields: { node: options.name } });
  const limits = resolveLimits(options.limits);
  const unsafe = parseUnsafeFlags(process.env.OMNIMETA_UNSAFE);
  warnUnsafe(unsafe, logger);
  const tls = options.tls ? new TlsCredentials(options.tls) : undefined;
  // --restore: the whole file is checked before the data dir is even opened, so a bad file changes nothing.
  if (options.restore !== undefined) await validateSnapshotFile(options.restore).catch((e: Error) => {
    throw new Error(`cannot restore from ${options.restore}: ${e.message}`);
  });
  const stateMachineLimits = { ...DEFAULT_STATE_MACHINE_LIMITS, watchHistoryRevisions: limits.watchHistoryRevisions };
  const { store, stateMachine } = openNodeStore({ dataDir: options.dataDir, name: options.name, stateMachineLimits });
  removeStaleSnapshotCopies(options.dataDir);
  try {
    checkRestoreTarget(store, options.dataDir, options.restore);
  } catch (e) {
    store.close();
    throw e;
  }
  const rt = new NodeRuntime(options, store, stateMachine, limits, unsafe, logger);
  if (tls) rt.clients.setTls(tls);
  const access = new AccessControl(options.auth ?? {}, rt.metrics);
  // Outbound node-to-node calls carry the peer secret, and the client token for requests forwarded to the leader.
  rt.clients.setCredentials({ peerSecret: options.auth?.peerSecret, token: options.auth?.token });
  if (access.enabled && !tls && !access.peerSecretRequired) {
    logger.warn("peer calls are not authenticated (no TLS, no --peer-secret-file): anyone who reaches this port can act as a peer");
  }
  const changes = new MembershipChanges(rt);
  try {
    await refuseForeignCluster(rt, changes);
  } catch (e) {
    rt.clients.close();
    store.close();
    throw e;
  }
  let server: BoundServer;
  try {
    server = await listenHttp2(options.listen.host, options.listen.port, {
      routes: (router: ConnectRouter) => {
        router.service(MetadataService, metadataService({ router: rt.router, watches: () => (rt.state === "active" ? rt.watches : `node is ${rt.state}`), limits }));
        router.service(ClusterService, clusterService(rt, changes));
        router.service(PeerService, peerService(rt, changes));
      },
      health: () => health({ status: rt.status(), shuttingDown: rt.closing || rt.draining }),
      ready: () => ready({ status: rt.status(), shuttingDown: rt.closing || rt.draining }),
      metrics: () => rt.metrics.render(),
      metricsContentType: rt.metrics.contentType,
      tls,
      interceptors: access.enabled ? [authInterceptor(access)] : [],
      fastUnary: {
        execute: (op, forwarded) => rt.router.execute(op, forwarded),
        forwardedHeader: FORWARDED_HEADER,
        readMaxBytes: 64 * 1024 * 1024,
        authorize: authorizeFast(access),
      },
    });
  } catch (e) {
    store.close();
    throw new Error(`cannot listen on ${options.listen.host}:${options.listen.port}: ${(e as Error).message}`);
  }
  const scheme = tls ? "https" : "http";
  rt.address = options.advertise ? normaliseUrl(options.advertise, scheme) : `${scheme}://${hostForUrl(server.host)}:${server.port}`;
  tls?.watch((e) => {
    if (e === undefined) logger.info("TLS certificates reloaded (files changed)");
    else logger.error("TLS reload failed; keeping the previous certificates", { error: (e as Error).message });
  });

  const prober = new PeerProber({ status: () => rt.status(), clients: rt.clients, metrics: rt.metrics });

  let resolveStopped!: (r: { error?: unknown }) => void;
  const stopped = new Promise<{ error?: unknown }>((r) => (resolveStopped = r));
  let closing: Promise<void> | undefined;
  const close = (error?: unknown): Promise<void> => {
    closing ??= (async () => {
      logger.info("stopping", { reason: error === undefined ? "close" : "fatal error" });
      prober.close();
      await rt.close();
      await server.close();
      tls?.close();
      store.close();
      logger.info("stopped");
      resolveStopped(error === undefined ? {} : { error });
    })();
    return closing;
  };
  rt.onFatal = (e) => {
    logger.error("fatal: stopping the node", { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    void close(e);
  };

  try {
    if (options.restore !== undefined) await restoreFromSnapshot(rt, options.restore);
    else rt.boot();
  } catch (e) {
    await close(e);
    throw e;
  }
  if (rt.state === "unprovisioned" && (options.join?.length ?? 0) > 0) void changes.joinLoop();
  prober.start();
  logger.info("listening", { address: rt.address, state: rt.state, nodeId: rt.nodeId, clusterId: rt.clusterId || undefined });

  return {
    get address() {
      return rt.address;
    },
    name: options.name,
    get nodeId() {
      return rt.nodeId;
    },
    status: () => rt.status(),
    provision: (o) => changes.provision(o),
    metrics: () => rt.metrics.render(),
    reloadTls: () => {
      if (!tls) throw new Error("TLS is not configured");
      tls.reload();
      logger.info("TLS certificates reloaded");
    },
    stopped,
    waitForState: (state, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        if (rt.state === state) return resolve();
        const timer = setTimeout(() => {
          off();
          reject(new Error(`node ${options.name} did not become ${state} within ${timeoutMs} ms (it is ${rt.state}${rt.stateDetail ? `: ${rt.stateDetail}` : ""})`));
        }, timeoutMs);
        const off = rt.onStateChange(() => {
          if (rt.state !== state) return;
          clearTimeout(timer);
          off();
          resolve();
        });
      }),
    close: () => close(),
  };
}

/**
 * A data dir that belongs to one cluster, started with --join peers of another, refuses to start.
 * Unreachable peers prove nothing (a whole cluster may be restarting), so only an answer counts.
 */
async function refuseForeignCluster(rt: NodeRuntime, changes: MembershipChanges): Promise<void> {
  const mine = rt.store.identity.clusterId;
  const targets = rt.options.join ?? [];
  if (!mine || targets.length === 0) return;
  const answers = await Promise.all(targets.map((t) => changes.identify(t, 1000).then((id) => [t, id.clusterId] as const, () => undefined)));
  for (const a of answers) {
    if (a && a[1] !== "" && a[1] !== mine) {
      throw new Error(`data dir ${rt.options.dataDir} belongs to cluster ${mine}, but --join peer ${a[0]} is in cluster ${a[1]}; use another data dir`);
    }
  }
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
