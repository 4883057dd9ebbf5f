#!/usr/bin/env bash
# demo.sh - `make demo`: shows what NAP can do so far, with real parts
# only.  Until the servers exist (issues 3-6) that is: a throwaway PKI
# issued by nap-certs, envelopes encoded by nap-device, parsed by the
# servers' parser and checked against xml/message.xsd, and a frame.
#
# usage: demo.sh SRCDIR BUILDDIR    (everything it makes is in
# BUILDDIR/demo-work, removed and made anew on each run)
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
certs="$src/certs/nap-certs"
dev="$build/devices/nap-device"
work="$build/demo-work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

rm -rf "$work"
mkdir -p "$work"

step "1. A throwaway PKI for a federation (DESIGN.md §2)"
run "$certs" --dir "$work/pki" init
for code in 00000000 00010000 00020000 00010001 00020002; do
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

step "6. How fast the parser is on this machine (make bench for more)"
"$build/test/bench_envelope" 0.3 | head -3

printf '\nDemo done. Everything it made is in %s.\n' "$work"
