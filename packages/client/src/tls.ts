// TLS settings of the client: the CA that signs the servers' certificates, and for mutual TLS this
// client's certificate and key. Used for https:// endpoints; http:// endpoints ignore them.

import { readFileSync } from "node:fs";

export interface ClientTls {
  /** PEM CA bundle the servers' certificates must chain to (default: the system's CAs). */
  ca?: string | Buffer;
  /** PEM client certificate, presented when the server asks (required with client-cert-required). */
  cert?: string | Buffer;
  /** PEM private key of `cert`. */
  key?: string | Buffer;
}

/** Reads the PEM files (any may be absent); throws one readable line when a file cannot be read. */
export function tlsFromFiles(files: { ca?: string; cert?: string; key?: string }): ClientTls {
  const read = (path: string | undefined, what: string): Buffer | undefined => {
    if (path === undefined || path === "") return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const tls: ClientTls = {};
  const ca = read(files.ca, "CA");
  const cert = read(files.cert, "certificate");
  const key = read(files.key, "key");
  if ((cert === undefined) !== (key === undefined)) throw new Error("a TLS client certificate needs its key, and a key its certificate");
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  return tls;
}
