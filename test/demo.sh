#!/usr/bin/env bash
# demo.sh - `make demo`: shows what NAP can do, with real parts only: a
# throwaway PKI issued by nap-certs, envelopes encoded, parsed and
# checked against xml/message.xsd, then a real federation on loopback
# (nap-platform and two nap-domain servers) with devices talking inside
# and across regions, a Locate, a refused spoof, a message stored for an
# offline device then delivered with its receipts, and the audit trail
# of one message across all three servers, verified and then tampered
# with; it ends with the operator's view of the federation through each
# server's admin API (nap-ctl --server status and links, /metrics).  It
# stops everything it started.
#
# usage: demo.sh SRCDIR BUILDDIR    (everything it makes is in
# BUILDDIR/demo-work, removed and made anew on each run)
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
certs="$src/certs/nap-certs"
dev="$build/devices/nap-device"
ctl="$build/tools/nap-ctl"
domain="$build/domain/nap-domain"
pids=
listener=
cleanup() {
	# Never stops half-way (errexit): every server started is killed.
	if [ -n "$listener" ]; then kill "$listener" 2>/dev/null || true; fi
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	true
}
trap cleanup EXIT
work="$build/demo-work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

rm -rf "$work"
mkdir -p "$work"

step "1. A throwaway PKI for a federation (DESIGN.md §2)"
run "$certs" --dir "$work/pki" init
for code in 00000000 00010000 00020000 00010001 00010002 00020002; do
	run "$certs" --dir "$work/pki" issue "$code"
done
run "$certs" --dir "$work/pki" list
printf '$ openssl verify -CAfile ca.crt 00010001.crt\n'
openssl verify -CAfile "$work/pki/ca.crt" "$work/pki/00010001.crt"
printf 'subject and roles of the device certificate:\n'
openssl x509 -in "$work/pki/00010001.crt" -noout -subject -ext extendedKeyUsage

step "2. A device in region 0001 writes to a device in region 0002 (§3)"
run "$dev" encode --from 00010001 --to 00020002 --type 1000 --seq 7 \
	--session 5F1C9A0E33B2D871 --ack --ttl 600 \
	--param '<text lang="en">hello from region 1 &amp; all</text>' \
	| tee "$work/hello.xml"

step "3. The servers' parser and the schema agree it is valid"
run "$dev" check "$work/hello.xml"
run xmllint --noout --nonet --schema "$src/xml/message.xsd" "$work/hello.xml"

step "4. The same message as a frame on the wire (§2: 4-byte length, then XML)"
"$dev" encode --from 00010001 --to 00020002 --type 1000 --seq 7 \
	--session 5F1C9A0E33B2D871 --param '<text>hi</text>' --frame \
	> "$work/hello.frame"
printf '$ od -A d -t x1z hello.frame | head -3\n'
od -A d -t x1z "$work/hello.frame" | head -3

step "5. Hostile and malformed envelopes are refused with a §4 code"
cat > "$work/laughs.xml" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE Message [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<Message version="1.0"><Header Message_Type="1000" SessionId="" Seq="1" From="00010001" To="00020002"/><parameters>&b;</parameters></Message>
XML
sed 's/Seq="7"/Seq="-7"/' "$work/hello.xml" > "$work/bad-seq.xml"
sed 's/From="00010001"/From="0001000G"/' "$work/hello.xml" > "$work/bad-from.xml"
printf '<Message version="1.0"><Header Message_Type="1000" SessionId="" Seq="1" From="00010001" To="00020002"/></Message><extra/>' > "$work/trailing.xml"
printf '$ nap-device check laughs.xml bad-seq.xml bad-from.xml trailing.xml\n'
rc=0
(cd "$work" && "$dev" check laughs.xml bad-seq.xml bad-from.xml trailing.xml) || rc=$?
if [ "$rc" != 1 ]; then
	echo "demo: nap-device check exited $rc, not 1" >&2
	exit 1
fi
printf 'exit status 1: every one refused\n'
printf '$ xmllint --schema message.xsd bad-seq.xml (the schema agrees)\n'
xmllint --noout --nonet --schema "$src/xml/message.xsd" "$work/bad-seq.xml" 2>&1 \
	| head -1 || true

step "6. A federation on loopback: a platform server and two domain servers"
platform="$build/platform/nap-platform"
audit="$build/tools/nap-audit"
run "$ctl" --registry "$work/reg.db" init --region 0001
run "$ctl" --registry "$work/reg.db" device add 00010001 00010002 --kind CU
run "$ctl" --registry "$work/reg2.db" init --region 0002
run "$ctl" --registry "$work/reg2.db" device add 00020002 --kind CU
run "$ctl" --registry "$work/reg.db" device list
# start NAME PORTFILE PROGRAM ARGS...: in the background, until it listens
start() {
	local name=$1 pf=$2; shift 2
	rm -f "$pf" "$pf.admin"		# a run before this one's
	printf '$ %s --listen 127.0.0.1:0 ... &\n' "$(basename "$1")"
	"$@" --listen 127.0.0.1:0 --port-file "$pf" --ca "$work/pki/ca.crt" \
		--crl "$work/pki/crl.pem" --log-level info \
		--admin 127.0.0.1:0 --admin-port-file "$pf.admin" 2> "$work/$name.log" &
	pids="$pids $!"
	for _ in $(seq 100); do [ -s "$pf" ] && [ -s "$pf.admin" ] && break; sleep 0.1; done
	[ -s "$pf" ] || { echo "demo: $name did not start" >&2; cat "$work/$name.log" >&2; exit 1; }
	echo "$name (pid $!) listens on 127.0.0.1:$(cat "$pf"), admin API on 127.0.0.1:$(cat "$pf.admin")"
}
start platform "$work/pport" "$platform" --cert "$work/pki/00000000.crt" \
	--key "$work/pki/00000000.key" --audit "$work/platform.audit" \
	--audit-instance p1
pp=$(cat "$work/pport")
start domain1 "$work/port" "$domain" --cert "$work/pki/00010000.crt" \
	--key "$work/pki/00010000.key" --registry "$work/reg.db" \
	--platform "127.0.0.1:$pp" --audit "$work/domain1.audit" \
	--audit-instance d1
start domain2 "$work/port2" "$domain" --cert "$work/pki/00020000.crt" \
	--key "$work/pki/00020000.key" --registry "$work/reg2.db" \
	--platform "127.0.0.1:$pp" --audit "$work/domain2.audit" \
	--audit-instance d2
port=$(cat "$work/port")
port2=$(cat "$work/port2")
for _ in $(seq 50); do
	grep -q 'region 0002 up' "$work/domain1.log" && grep -q 'region 0001 up' "$work/domain2.log" && break
	sleep 0.1
done
printf 'each domain logged in to the platform and hears the other region is up:\n'
grep -h 'logged in\|region' "$work/domain1.log" "$work/domain2.log" | sed 's/^/  /'
d1=(--server "127.0.0.1:$port" --ca "$work/pki/ca.crt" --cert "$work/pki/00010001.crt" --key "$work/pki/00010001.key")
d2=(--server "127.0.0.1:$port" --ca "$work/pki/ca.crt" --cert "$work/pki/00010002.crt" --key "$work/pki/00010002.key")
r2=(--server "127.0.0.1:$port2" --ca "$work/pki/ca.crt" --cert "$work/pki/00020002.crt" --key "$work/pki/00020002.key")

step "7. Inside region 0001: 00010002 listens, 00010001 writes to it over mutual TLS"
"$dev" listen "${d2[@]}" --count 2 > "$work/listen.out" 2>&1 &
listener=$!
sleep 0.5
run "$dev" ping "${d1[@]}" --count 2
run "$dev" send "${d1[@]}" --to 00010002 --type 1000 --param '<text>hello, neighbour</text>'
run "$dev" send "${d1[@]}" --to 00010002 --type 1000 --param '<reading unit="C">21.5</reading>'
wait "$listener" || true
listener=
printf 'what 00010002 received (type from to seq parameters):\n'
cat "$work/listen.out"

step "8. Across regions: 00010001 (domain 1) writes to 00020002 (domain 2) through the platform"
"$dev" listen "${r2[@]}" --count 1 --xml > "$work/listen2.out" 2>&1 &
listener=$!
sleep 0.5
run "$dev" send "${d1[@]}" --to 00020002 --type 1000 --wait-ack \
	--param '<text>hello from region 1</text>' | tee "$work/cross.out"
wait "$listener" || true
listener=
printf 'what 00020002 received: Via names the domain and the platform it crossed\n'
cat "$work/listen2.out"
cross_seq=$(awk '/^sent seq/ {print $3}' "$work/cross.out")

step "9. Locate (§5): where is 00020002? domain 1 asks the platform, domain 2 answers"
run "$dev" request "${d1[@]}" --to 00000000 --type 30 --xml \
	--param '<locate code="00020002"/>'
printf '$ nap-device send --to 00030001 (region 0003 was never up: 503 at once)\n'
"$dev" send "${d1[@]}" --to 00030001 --type 1000 --wait-ack --param '<x/>' || true

step "10. A spoof: 00010001 claims to be 00010002 (§4: Error 403, the link stays)"
"$dev" encode --from 00010002 --to 00020002 --type 1000 --param '<text>not me</text>' > "$work/spoof.xml"
printf '$ nap-device send --raw spoof.xml (From="00010002" on 00010001'"'"'s link)\n'
rc=0
"$dev" send "${d1[@]}" --raw "$work/spoof.xml" || rc=$?
[ "$rc" = 1 ] || { echo "demo: the spoof was not refused (exit $rc)" >&2; exit 1; }
printf 'refused, exit status 1\n'
printf '$ nap-device send --to 000100FF --wait-ack (not registered: 404)\n'
"$dev" send "${d1[@]}" --to 000100FF --type 1000 --wait-ack --param '<x/>' || true

step "11. Store and forward (§5): 00010002 is offline; a message asks for receipts"
printf '$ nap-device send --to 00010002 --ack --wait-ack ... &   (waits for "delivered")\n'
"$dev" send "${d1[@]}" --timeout 20000 --to 00010002 --type 1000 --wait-ack \
	--param '<text>while you were away</text>' > "$work/sender.out" 2>&1 &
listener=$!
for _ in $(seq 100); do grep -q stored "$work/sender.out" 2>/dev/null && break; sleep 0.1; done
printf 'the sender heard (once the store had committed it to disk):\n'
sed 's/^/  /' "$work/sender.out"
sleep 0.5	# the sender confirms what it got at login within 200 ms
run "$ctl" --registry "$work/reg.db" store list
run "$ctl" --registry "$work/reg.db" store show 00010002
printf 'now 00010002 logs in: the stored message comes first, then it confirms\n'
run "$dev" listen "${d2[@]}" --count 1
rc=0
wait "$listener" || rc=$?
listener=
printf 'the sender heard, and exited with status %s:\n' "$rc"
sed 's/^/  /' "$work/sender.out"
[ "$rc" = 0 ] || { echo "demo: no delivered receipt" >&2; exit 1; }
run "$ctl" --registry "$work/reg.db" store list

step "12. Stop the federation (SIGTERM: Logout to every peer, exit 0)"
for p in $pids; do kill -TERM "$p"; done
for p in $pids; do
	rc=0
	wait "$p" || rc=$?
	[ "$rc" = 0 ] || { echo "demo: a server exited with $rc" >&2; exit 1; }
done
pids=
echo "all three exited with status 0; domain 1's log:"
sed 's/^/  /' "$work/domain1.log"

step "13. The audit trail (§8): one message across domain 1, the platform and domain 2"
run "$audit" trace --from 00010001 --seq "$cross_seq" "$work/domain1.audit" \
	"$work/platform.audit" "$work/domain2.audit"
run "$audit" verify "$work/domain1.audit" "$work/platform.audit" "$work/domain2.audit"
cp "$work/platform.audit" "$work/platform-edited.audit"
printf '$ (one byte of a copy of the platform log changed)\n'
off=$(( $(wc -c < "$work/platform-edited.audit") / 2 ))
printf 'X' | dd of="$work/platform-edited.audit" bs=1 seek="$off" conv=notrunc 2>/dev/null
rc=0
run "$audit" verify "$work/platform-edited.audit" || rc=$?
[ "$rc" = 1 ] || { echo "demo: verify did not catch the edit (exit $rc)" >&2; exit 1; }
printf 'exit status 1: the edited record is named\n'

step "14. How fast the parser is on this machine (make bench for more)"
"$build/test/bench_envelope" 0.3 | head -3

step "15. The operator's view (§12): the federation again, seen through its admin API"
start platform "$work/pport" "$platform" --cert "$work/pki/00000000.crt" \
	--key "$work/pki/00000000.key"
pp=$(cat "$work/pport")
start domain1 "$work/port" "$domain" --cert "$work/pki/00010000.crt" \
	--key "$work/pki/00010000.key" --registry "$work/reg.db" \
	--platform "127.0.0.1:$pp"
start domain2 "$work/port2" "$domain" --cert "$work/pki/00020000.crt" \
	--key "$work/pki/00020000.key" --registry "$work/reg2.db" \
	--platform "127.0.0.1:$pp"
d1[1]="127.0.0.1:$(cat "$work/port")"
d2[1]="127.0.0.1:$(cat "$work/port")"
"$dev" listen "${d2[@]}" --count 2 --timeout 5000 > /dev/null 2>&1 &
listener=$!
for _ in $(seq 50); do
	grep -q '00010002 logged in' "$work/domain1.log" && break
	sleep 0.1
done
"$dev" send "${d1[@]}" --to 00010002 --type 1000 \
	--param '<text>seen by the metrics</text>' > /dev/null
for s in platform:pport domain1:port domain2:port2; do
	url="http://127.0.0.1:$(cat "$work/${s#*:}.admin")"
	printf '\n-- %s\n' "${s%%:*}"
	run "$ctl" --server "$url" status
	run "$ctl" --server "$url" links
done
url="http://127.0.0.1:$(cat "$work/port.admin")"
printf '$ curl -s %s/metrics | grep ...\n' "$url"
curl -s "$url/metrics" | grep -E '^nap_(messages_total|logins_total|links|route_latency_seconds_(count|sum)|bytes_total|store_messages)' | head -12
kill "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
listener=
for p in $pids; do kill -TERM "$p"; done
for p in $pids; do wait "$p" || true; done
pids=

printf '\nDemo done. Everything it made is in %s.\n' "$work"
