#!/usr/bin/env bash
# nap-t1.sh BENCHDIR BUILDDIR [nap-domain options...]
# T1 of ../shared/bench for NAP: one nap-domain (--threads 2) holding every
# device, loadgen's NAP backend with all devices in region 0001 (-O).
# BENCHDIR is a built copy of the shared bench (make; ONE_REGION=1
# ./gen-certs.sh N certs1).  N, M, W, RATE and P as in run.sh (defaults
# 200, 200000/N, 8, 0, 200).  CLIENT=nap-bench runs tools/nap-bench
# instead of loadgen (certificates from certs1/dev, which then needs a
# ca.crt: a link to ../ca.crt), with NB_FLAGS added (--ack...).
# Prints the client's result line.  Starts and stops its own server.
set -euo pipefail
bench=$(cd "$1" && pwd); build=$(cd "$2" && pwd); shift 2
N=${N:-200}; M=${M:-$((200000 / N))}; W=${W:-8}; RATE=${RATE:-0}; P=${P:-200}
ulimit -n "$(ulimit -Hn)"	# 2000 devices need more than 1024 descriptors
work=$(mktemp -d /tmp/nap-t1.XXXXXX)
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$build/tools/nap-ctl" --registry "$work/reg.db" init --region 0001 >/dev/null
"$build/tools/nap-ctl" --registry "$work/reg.db" device add \
	"00010001-0001$(printf '%04X' "$N")" >/dev/null
"$build/domain/nap-domain" --threads 2 --listen 127.0.0.1:0 \
	--port-file "$work/port" --cert "$bench/certs1/server/00010000.crt" \
	--key "$bench/certs1/server/00010000.key" --ca "$bench/certs1/ca.crt" \
	--registry "$work/reg.db" --log-level warn "$@" 2> "$work/domain.log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
if [ "${CLIENT:-loadgen}" = nap-bench ]; then
	# shellcheck disable=SC2086
	"$build/tools/nap-bench" -q -s "127.0.0.1:$port" -d "$bench/certs1/dev" \
		-n "$N" -m "$M" -w "$W" -r "$RATE" -p "$P" -P "$pid" \
		${NB_FLAGS:-} | sed -n 1p
else
	"$bench/loadgen" -b nap -O -s "127.0.0.1:$port" -d "$bench/certs1" \
		-n "$N" -m "$M" -w "$W" -r "$RATE" -p "$P" -P "$pid" 2>&1 | tail -1
fi
