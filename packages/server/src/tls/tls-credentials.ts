// A node's TLS material (certificate, key, CA) read from files, and kept current: reload() re-reads the
// files (SIGHUP, or a change seen by the file watcher) and hands the new material to every subscriber
// (the listener's setSecureContext, the peer clients' secure context). A failed reload keeps the old one.

import { readFileSync, unwatchFile, watchFile } from "node:fs";
import * as tls from "node:tls";

/** TLS settings of a node (config file "tls", flags --tls-*). */
export interface TlsOptions {
  /** PEM certificate chain this node presents, to clients and (as a client certificate) to peers. */
  certFile: string;
  /** PEM private key of certFile. */
  keyFile: string;
  /** PEM CA bundle: peers' and clients' certificates must chain to it, and so must peers' server certificates. */
  caFile: string;
  /** Refuse, at the TLS handshake, every client without a certificate from the CA (mutual TLS for clients too). */
  clientCertRequired?: boolean;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** How often the watcher stats the three files. */
const watchIntervalMs = 1000;

export class TlsCredentials {
  private material: TlsMaterial;
  private context: tls.SecureContext;
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private watching = false;

  constructor(readonly options: TlsOptions) {
    this.material = readMaterial(options);
    this.context = tls.createSecureContext(this.material);
  }

  get clientCertRequired(): boolean {
    return this.options.clientCertRequired === true;
  }

  /** The current material (PEM buffers). */
  current(): TlsMaterial {
    return this.material;
  }

  /** The secure context for outbound connections (this node's certificate, the CA as trust). */
  clientContext(): tls.SecureContext {
    return this.context;
  }

  /** Options of http2.createSecureServer: always ask for a certificate (peers must show one). */
  serverOptions(): tls.TlsOptions {
    return {
      ...this.material,
      requestCert: true,
      rejectUnauthorized: this.clientCertRequired,
      ALPNProtocols: ["h2", "http/1.1"],
    };
  }

  /** Calls `fn` with the new material after each successful reload; returns the unsubscribe. */
  onReload(fn: (m: TlsMaterial) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Re-reads the files; throws (and keeps the old material) when they are unreadable or do not match. */
  reload(): void {
    const next = readMaterial(this.options);
    const context = tls.createSecureContext(next);
    this.material = next;
    this.context = context;
    for (const fn of this.listeners) fn(next);
  }

  /** Reloads whenever one of the files changes (polled: survives editors and atomic renames). */
  watch(onResult: (error: unknown) => void): void {
    if (this.watching) return;
    this.watching = true;
    let timer: NodeJS.Timeout | undefined;
    const changed = (): void => {
      // A renewal rewrites cert and key one after the other: wait for both.
      clearTimeout(timer);
      timer = setTimeout(() => {
        try {
          this.reload();
          onResult(undefined);
        } catch (e) {
          onResult(e);
        }
      }, 200);
      timer.unref();
    };
    for (const f of this.files()) watchFile(f, { interval: watchIntervalMs, persistent: false }, changed);
  }

  close(): void {
    if (!this.watching) return;
    this.watching = false;
    for (const f of this.files()) unwatchFile(f);
  }

  private files(): string[] {
    return [...new Set([this.options.certFile, this.options.keyFile, this.options.caFile])];
  }
}

function readMaterial(o: TlsOptions): TlsMaterial {
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`cannot read TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const material = { cert: read(o.certFile, "certificate"), key: read(o.keyFile, "key"), ca: read(o.caFile, "CA") };
  try {
    // Fails when the key does not match the certificate, or a file is not PEM.
    tls.createSecureContext(material);
  } catch (e) {
    throw new Error(`TLS files ${o.certFile}, ${o.keyFile}, ${o.caFile} are not a usable certificate, key and CA: ${(e as Error).message}`);
  }
  return material;
}
