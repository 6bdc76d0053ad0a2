#!/usr/bin/env bash
# make-certs.sh DIR — a throw-away test PKI for the TLS Kamailio, with openssl:
#   DIR/ca.pem, ca.key          self-signed CA "stox interop test CA"
#   DIR/server.pem, server.key  server cert for CN=pbx.test,
#                               SAN DNS:pbx.test, DNS:localhost, IP:127.0.0.1
#   DIR/client.pem, client.key  a client cert (CN=stox) signed by the same CA,
#                               for clients that want to present one (not required)
#   DIR/tls.cfg                 the Kamailio tls module config using them
# Idempotent: keeps an existing complete set.  No root needed.
set -euo pipefail
DIR="${1:?usage: make-certs.sh DIR}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
cd "$DIR"

if [[ -s ca.pem && -s server.pem && -s server.key && -s client.pem && -s tls.cfg ]]; then
    exit 0
fi

umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -keyout ca.key -out ca.pem -subj "/O=stox interop/CN=stox interop test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

cat > server.ext <<'X'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:pbx.test,DNS:localhost,IP:127.0.0.1
X
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj "/O=stox interop/CN=pbx.test" 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 3650 -sha256 -extfile server.ext -out server.pem 2>/dev/null

cat > client.ext <<'X'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
subjectAltName=DNS:stox.test
X
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr \
    -subj "/O=stox interop/CN=stox" 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 3650 -sha256 -extfile client.ext -out client.pem 2>/dev/null
rm -f server.csr client.csr server.ext client.ext ca.srl

# Kamailio's tls module: server side presents server.pem; client certificates
# are optional (not required, and not verified); outgoing TLS (none in these
# tests) would not verify the peer either.
cat > tls.cfg <<X
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = $DIR/server.key
certificate = $DIR/server.pem
ca_list = $DIR/ca.pem

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
X
chmod 0644 ca.pem server.pem client.pem tls.cfg
echo "make-certs.sh: test CA and pbx.test server certificate in $DIR" >&2
