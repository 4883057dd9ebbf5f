#!/usr/bin/env bash
# compare.sh [--rounds R] [--n N] [--out FILE] [--bench DIR] [--build DIR]
#            [--rate MSGS/S]
# One sitting of NAP, Mosquitto and the bare mTLS relay of the shared
# benchmark, interleaved (this machine drifts by 20% between sittings:
# compare ratios taken in one), then the table of medians over R rounds
# (default 3) and NAP's ratios:
#   - closed loop, T1 and T2: Mosquitto QoS 0 (its TLS bridge in T2), the
#     relay, NAP (the shared loadgen's nap client, as nap-t1.sh and
#     nap-t2.sh run it);
#   - acknowledged, T1: Mosquitto QoS 1 against nap-bench --ack (and
#     nap-bench without --ack: libnap's client costs more CPU than the
#     shared loadgen's, on the same 2 cores as the server);
#   - paced, T1: the three at RATE msgs/s, half the lowest T1 peak of the
#     sitting unless --rate says, for latency below saturation.
# N devices (default 200), M = 200000/N messages each (env M overrides).
# --bench: the shared bench's sources (default ../shared/bench beside
# the source tree); they are copied to a scratch directory, built there,
# with certificates for N devices.  --build: NAP's build tree (default .).
# Installs mosquitto and libmosquitto-dev with apt-get when missing (as
# root).  Raw lines and the table go to --out FILE too.  Takes about
# R x 2 minutes at N=200.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
R=3 N=200 OUT= RATE_ARG=
SRC=${BENCH_SRC:-$here/../../../shared/bench}
BUILD=.
usage() { sed -n '2,3p' "$0" | sed 's/^# /usage: /;s/^#//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) R=${2:?}; shift 2 ;;
	--n) N=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--bench) SRC=${2:?}; shift 2 ;;
	--build) BUILD=${2:?}; shift 2 ;;
	--rate) RATE_ARG=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage ;;
	esac
done
case "$R$N" in *[!0-9]*) usage ;; esac
[ "$R" -ge 1 ] && [ "$N" -ge 2 ] && [ $((N % 2)) = 0 ] || {
	echo "compare.sh: --rounds at least 1, --n even, at least 2" >&2; exit 2; }
export N M=${M:-$((200000 / N))}
BUILD=$(cd "$BUILD" && pwd)
[ -x "$BUILD/tools/nap-bench" ] && [ -x "$BUILD/domain/nap-domain" ] || {
	echo "compare.sh: no NAP build in $BUILD (make first)" >&2; exit 1; }
[ -f "$SRC/run.sh" ] || { echo "compare.sh: no shared bench in $SRC" >&2; exit 1; }

# What the shared bench needs and the README's commands do not.
if ! command -v mosquitto >/dev/null || [ ! -e /usr/include/mosquitto.h ]; then
	echo "compare.sh: installing mosquitto libmosquitto-dev" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q mosquitto libmosquitto-dev >&2 ||
		{ apt-get update -q >&2 &&
		  apt-get install -y -q mosquitto libmosquitto-dev >&2; }
fi

work=$(mktemp -d /tmp/nap-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
bench=$work/bench
cp -R "$SRC/." "$bench"
chmod -R u+w "$bench"
rm -rf "$bench/logs"
make -s -C "$bench" >&2
(cd "$bench" && ./gen-certs.sh "$N" certs >/dev/null &&
	ONE_REGION=1 ./gen-certs.sh "$N" certs1 >/dev/null)
ln -sf ../ca.crt "$bench/certs1/dev/ca.crt"	# nap-bench's -d layout
lines=$work/lines
: > "$lines"

# run LABEL CMD...: one run, its line kept under LABEL ("failed" if none).
run() {
	local label=$1 out
	shift
	echo "compare.sh: $label" >&2
	out=$("$@" 2>"$work/err" | tail -1) || true
	[ -n "$out" ] || { out=failed; sed 's/^/  /' "$work/err" >&2; }
	printf '%s\t%s\n' "$label" "$out" | tee -a "$lines" >&2
}
shared() { (cd "$bench" && env "$@"); }
nap1() { env "$@" bash "$here/nap-t1.sh" "$bench" "$BUILD"; }
nap2() { env "$@" bash "$here/nap-t2.sh" "$bench" "$BUILD"; }

# median LABEL KEY: the median of KEY= over LABEL's lines ("-" if none).
median() {
	awk -F'\t' -v l="$1" -v k="$2" '$1 == l {
		n = split($2, f, " ")
		for (i = 1; i <= n; i++) {
			split(f[i], kv, "=")
			if (kv[1] == k || (k == "rate" && kv[1] == "msgs/s"))
				v[c++] = kv[2] + 0
		}
	} END {
		if (c == 0) { print "-"; exit }
		for (i = 0; i < c; i++) for (j = i + 1; j < c; j++)
			if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		print (c % 2) ? v[int(c / 2)] : (v[c / 2 - 1] + v[c / 2]) / 2
	}' "$lines"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {
	if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

for r in $(seq "$R"); do
	echo "compare.sh: round $r of $R" >&2
	run mosq-T1 shared QOS=0 ./run.sh mosquitto T1
	run raw-T1 shared ./run.sh raw T1
	run nap-T1 nap1
	run mosq-T2 shared QOS=0 ./run.sh mosquitto T2
	run raw-T2 shared ./run.sh raw T2
	run nap-T2 nap2
	run mosq1-T1 shared QOS=1 ./run.sh mosquitto T1
	run napack-T1 nap1 CLIENT=nap-bench NB_FLAGS=--ack
	run napbench-T1 nap1 CLIENT=nap-bench
done

# Paced: one rate for all, under every system's peak.
RATE=$RATE_ARG
if [ -z "$RATE" ]; then
	RATE=$(printf '%s\n' "$(median mosq-T1 rate)" "$(median raw-T1 rate)" \
		"$(median nap-T1 rate)" | grep -v '^-$' | sort -n | head -1)
	RATE=$(awk -v r="${RATE:-0}" 'BEGIN { printf "%d", r / 2 }')
fi
if [ "$RATE" -gt 0 ]; then
	for r in $(seq "$R"); do
		echo "compare.sh: paced round $r of $R ($RATE msgs/s)" >&2
		run mosq-paced shared RATE="$RATE" ./run.sh mosquitto T1
		run raw-paced shared RATE="$RATE" ./run.sh raw T1
		run nap-paced nap1 RATE="$RATE"
	done
fi

row() {	# LABEL-PREFIX NAME
	printf '%-30s %10s %10s\n' "$2" "$(median "$1-T1" rate)" \
		"$(median "$1-T2" rate)"
}
lat() {	# LABEL NAME
	printf '%-30s %10s %8s %8s %8s\n' "$2" "$(median "$1" rate)" \
		"$(median "$1" p50_ms)" "$(median "$1" p99_ms)" \
		"$(median "$1" max_ms)"
}
table() {
	local n1 n2 m1 m2 r1 r2
	n1=$(median nap-T1 rate) n2=$(median nap-T2 rate)
	m1=$(median mosq-T1 rate) m2=$(median mosq-T2 rate)
	r1=$(median raw-T1 rate) r2=$(median raw-T2 rate)
	echo "compare.sh: N=$N M=$M W=8, medians of $R interleaved rounds," \
		"$(date -u +%FT%TZ)"
	echo
	printf '%-30s %10s %10s\n' "closed loop" "T1 msgs/s" "T2 msgs/s"
	row mosq "Mosquitto QoS 0 (T2: bridge)"
	row raw "bare mTLS relay"
	row nap "NAP"
	printf '%-30s %10s %10s\n' "NAP / Mosquitto" "$(ratio "$n1" "$m1")" \
		"$(ratio "$n2" "$m2")"
	printf '%-30s %10s %10s\n' "NAP / relay" "$(ratio "$n1" "$r1")" \
		"$(ratio "$n2" "$r2")"
	echo
	printf '%-30s %10s %8s %8s %8s\n' "acknowledged, T1" "msgs/s" p50_ms \
		p99_ms max_ms
	lat mosq1-T1 "Mosquitto QoS 1"
	lat napack-T1 "NAP (nap-bench --ack)"
	lat napbench-T1 "NAP (nap-bench, no Ack)"
	printf '%-30s %10s\n' "NAP / Mosquitto QoS 1" \
		"$(ratio "$(median napack-T1 rate)" "$(median mosq1-T1 rate)")"
	echo
	printf '%-30s %10s %8s %8s %8s\n' "paced T1, $RATE msgs/s" "msgs/s" \
		p50_ms p99_ms max_ms
	lat mosq-paced "Mosquitto QoS 0"
	lat raw-paced "bare mTLS relay"
	lat nap-paced "NAP"
}
if [ -n "$OUT" ]; then
	{ table; echo; echo "raw lines:"; cat "$lines"; } > "$OUT"
fi
table
