#!/usr/bin/env bash
# nap-t2.sh BENCHDIR BUILDDIR [nap-domain options...]
# T2 of ../shared/bench for NAP: nap-platform and two nap-domain servers
# (regions 0001 and 0002, --threads 2 each); every message crosses
# domain -> platform -> domain.  BENCHDIR is a built copy of the shared
# bench with ./gen-certs.sh N certs (two regions).  Prints loadgen's
# result line.  Starts and stops its own servers.
set -euo pipefail
bench=$(cd "$1" && pwd); build=$(cd "$2" && pwd); shift 2
N=${N:-200}; M=${M:-$((200000 / N))}; W=${W:-8}; RATE=${RATE:-0}; P=${P:-200}
ulimit -n "$(ulimit -Hn)"	# 2000 devices need more than 1024 descriptors
half=$(printf '%04X' $(( (N + 1) / 2 )))
work=$(mktemp -d /tmp/nap-t2.XXXXXX)
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
c="$bench/certs"
for r in 0001 0002; do
	"$build/tools/nap-ctl" --registry "$work/$r.db" init --region $r >/dev/null
	"$build/tools/nap-ctl" --registry "$work/$r.db" device add \
		"${r}0001-${r}${half}" >/dev/null
done
"$build/platform/nap-platform" --threads 2 --listen 127.0.0.1:0 \
	--port-file "$work/pport" --cert "$c/server/00000000.crt" \
	--key "$c/server/00000000.key" --ca "$c/ca.crt" --log-level warn \
	2> "$work/platform.log" &
pids="$pids $!"; ppid=$!
for _ in $(seq 100); do [ -s "$work/pport" ] && break; sleep 0.1; done
for r in 0001 0002; do
	"$build/domain/nap-domain" --threads 2 --listen 127.0.0.1:0 \
		--port-file "$work/$r.port" --cert "$c/server/${r}0000.crt" \
		--key "$c/server/${r}0000.key" --ca "$c/ca.crt" \
		--registry "$work/$r.db" --platform "127.0.0.1:$(cat "$work/pport")" \
		--log-level warn "$@" 2> "$work/$r.log" &
	pids="$pids $!"
done
for _ in $(seq 100); do
	grep -q . "$work/0001.port" 2>/dev/null && grep -q . "$work/0002.port" 2>/dev/null && break
	sleep 0.1
done
sleep 0.5	# the uplinks log in and hear the other region is up
set -- $pids
"$bench/loadgen" -b nap -T 2 -s "127.0.0.1:$(cat "$work/0001.port")" \
	-S "127.0.0.1:$(cat "$work/0002.port")" -d "$c" -n "$N" -m "$M" \
	-w "$W" -r "$RATE" -p "$P" -P "$2" -P "$3" -P "$ppid" 2>&1 | tail -1
