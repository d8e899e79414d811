#!/usr/bin/env bash
# Makes a throw-away PKI for the TLS example with openssl: a CA, one certificate per node (n1-n3; server
# and client auth, SAN 127.0.0.1 and localhost: nodes present them to clients and, for mutual TLS, to
# each other) and one client certificate for ctl. Everything goes to examples/tls/certs/ (git-ignored).
# Usage: bash examples/tls/make-certs.sh [--force]   (keeps existing certificates unless --force)
set -euo pipefail

if ! command -v openssl >/dev/null 2>&1; then
  echo "make-certs.sh: openssl is not installed; install it (e.g. apt-get install openssl) and run this again." >&2
  exit 1
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/certs"
if [[ -f "$out/ca.pem" && "${1:-}" != "--force" ]]; then
  echo "certificates already in $out (use --force to make new ones)"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out"
cd "$out"

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 365 -subj "/CN=omnimeta example CA" \
  -keyout ca-key.pem -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

issue() { # issue NAME EXTENDED_KEY_USAGE
  local name="$1" eku="$2"
  cat >"$name.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$name" -keyout "$name-key.pem" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 365 -sha256 \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
for n in n1 n2 n3; do issue "$n" serverAuth,clientAuth; done
issue client clientAuth
rm -f ca.srl
chmod 600 ./*-key.pem
echo "made a CA, node certificates n1-n3 and a client certificate in $out"
