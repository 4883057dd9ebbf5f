#!/usr/bin/env bash
# bench-pki.sh DIR N [REGIONS]
# A throw-away PKI for nap-bench, fast enough for a full region (65535
# devices in a few minutes on 2 cores): one CA, the servers 00000000,
# 00010000, 00020000 (DIR/server/CODE.{crt,key}, SAN IP:127.0.0.1), and
# N device certificates per region in nap-certs' layout (DIR/CODE.crt,
# DIR/CODE.key, DIR/ca.crt), codes RRRR0001 up.  REGIONS: 1 (default:
# region 0001 only, T1) or 2 (0001 and 0002, N each, T2).
#
# Every device shares ONE private key (DIR/device.key; CODE.key are
# symbolic links to it): a benchmark needs distinct certificates (the CN
# is the code, DESIGN.md §2), not distinct keys, and generating 65535 EC
# keys is most of the cost of nap-certs issue.  Never for a deployment.
# Existing certificates are kept: raising N only adds the missing ones.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR N [REGIONS]" >&2; exit 2; }
D=$1; N=$2; R=${3:-1}
case "$N" in ''|*[!0-9]*) echo "$0: N: a number" >&2; exit 2 ;; esac
[ "$N" -ge 1 ] && [ "$N" -le 65535 ] || { echo "$0: N: 1..65535" >&2; exit 2; }
case "$R" in 1|2) ;; *) echo "$0: REGIONS: 1 or 2" >&2; exit 2 ;; esac
mkdir -p "$D/server"
cd "$D"
DAYS=3650
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
if [ ! -s ca.crt ]; then
	openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt \
		-subj /CN=nap-bench-ca -days $DAYS \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
fi
for cn in 00000000 00010000 00020000; do
	[ -s server/$cn.crt ] && continue
	openssl req -x509 "${ec[@]}" -keyout server/$cn.key \
		-out server/$cn.crt -subj /CN=$cn -days $DAYS -CA ca.crt \
		-CAkey ca.key -addext basicConstraints=critical,CA:FALSE \
		-addext keyUsage=critical,digitalSignature \
		-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
		-addext extendedKeyUsage=serverAuth,clientAuth 2>/dev/null
done
[ -s device.key ] || openssl genpkey -algorithm EC \
	-pkeyopt ec_paramgen_curve:P-256 -out device.key 2>/dev/null
chmod 600 ca.key device.key server/*.key
# The missing codes, then one openssl per certificate, one per core.
for r in $(seq 1 "$R"); do
	for i in $(seq 1 "$N"); do
		c=$(printf '%04X%04X' "$r" "$i")
		[ -s "$c.crt" ] || echo "$c"
		[ -e "$c.key" ] || ln -s device.key "$c.key"
	done
done | xargs -r -P "$(nproc)" -n 1 -I CODE openssl req -x509 -new \
	-key device.key -out CODE.crt -subj /CN=CODE -days $DAYS -CA ca.crt \
	-CAkey ca.key -addext basicConstraints=critical,CA:FALSE \
	-addext keyUsage=critical,digitalSignature \
	-addext extendedKeyUsage=clientAuth 2>/dev/null
echo "bench-pki: $D: CA, 3 servers, $(find . -maxdepth 1 -name '0*.crt' | wc -l) devices"
