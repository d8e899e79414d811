// A throw-away PKI for tests, in pure JS (node-forge; the keys come from node:crypto): a CA, and
// certificates it signs for nodes (server + client auth, SAN 127.0.0.1 and localhost) and clients.
// Written as PEM files so that metad and ctl read them like an operator's files.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";

export interface TestCa {
  name: string;
  certPem: string;
  keyPem: string;
  /** Path of the CA certificate once written with writeCa. */
  certFile: string;
}

export interface TestCert {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  /** Hex serial number, to tell two certificates of one name apart. */
  serial: string;
}

let serialCounter = 1;

function nextSerial(): string {
  // Positive, unique within the process and across runs.
  return `0${Date.now().toString(16)}${(serialCounter++).toString(16).padStart(4, "0")}`;
}

function keyPair(): forge.pki.rsa.KeyPair {
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

/** A self-signed CA, written to `<dir>/<name>.pem`. */
export function makeCa(dir: string, name: string): TestCa {
  const keys = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = nextSerial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const subject = [{ name: "commonName", value: name }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const certFile = join(dir, `${name}.pem`);
  const certPem = forge.pki.certificateToPem(cert);
  writeFileSync(certFile, certPem);
  return { name, certPem, keyPem: forge.pki.privateKeyToPem(keys.privateKey), certFile };
}

/**
 * A certificate signed by `ca` for `commonName`, usable as server and client certificate, written to
 * `<dir>/<file>.pem` and `<dir>/<file>-key.pem` (file defaults to commonName).
 */
export function issueCert(dir: string, ca: TestCa, commonName: string, file = commonName): TestCert {
  const keys = keyPair();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = nextSerial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: "commonName", value: commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }, { type: 2, value: "localhost" }] },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const keyPem = forge.pki.privateKeyToPem(keys.privateKey);
  const certFile = join(dir, `${file}.pem`);
  const keyFile = join(dir, `${file}-key.pem`);
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, keyPem);
  return { certPem, keyPem, certFile, keyFile, serial: cert.serialNumber };
}
