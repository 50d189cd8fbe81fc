#!/bin/bash
# mxview.sh - the MX view of every case in zones/mxb.test, through check
# mode (-t) against a real NSD; this host is mx2 (127.0.0.12) unless a case
# says otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dns_lib.sh"

start_nsd
conf="$T/milter.conf"
# probes go to port 9, where nothing listens: every better MX is down
printf 'Syslog no\nDnsServers 127.0.0.1:%s\nDnsTimeout 1000\nProbePort 9\n' "$NSD_PORT" >"$conf"

# case NAME STATUS DOMAIN LOCAL-ADDR PATTERN... - run -t; exit STATUS and
# every pattern (an extended regex) matches a line of the output
case_() {
	local name=$1 want=$2 domain=$3 local=$4 got p
	shift 4
	"$MILTER" -c "$conf" -t "$domain" ${local:+-a "$local"} >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" = "$want" ] || { cat "$T/out" "$T/err"; fail "$name: exit $got, expected $want"; }
	for p in "$@"; do
		grep -Eq -- "$p" "$T/out" || { cat "$T/out" "$T/err"; fail "$name: no line matching /$p/"; }
	done
	tail -n 1 "$T/out" | grep -q '^verdict: ' || fail "$name: the last line is not the verdict"
	pass "$name"
}

M1='mx1\.mxb\.test addresses=127\.0\.0\.11'
M2='mx2\.mxb\.test addresses=127\.0\.0\.12'

case_ "two MX, this host the backup: rank 20, mx1 better" 0 two.mxb.test 127.0.0.12 \
	"^lookup: found ttl=300$" "^mx: pref=10 host=$M1 self=no probe=down$" \
	"^mx: pref=20 host=$M2 self=yes$" "^rank: 20 \(backup\)$" "^verdict: backup$"
case_ "two MX, this host the primary" 0 two.mxb.test 127.0.0.11 \
	"^rank: 10 \(primary\)$" "^verdict: primary$"
case_ "upper case and trailing dot in the domain" 0 TWO.MXB.TEST. 127.0.0.12 \
	"^domain: two\.mxb\.test$" "^rank: 20 \(backup\)$"
case_ "upper case target normalised" 0 two.mxb.test 127.0.0.12 "host=mx2\.mxb\.test "
case_ "equal preference counts as primary" 0 equal.mxb.test 127.0.0.12 \
	"^rank: 10 \(primary\)$" "^verdict: primary$"
case_ "implicit MX: the domain at preference 0" 0 implicit.mxb.test 127.0.0.12 \
	"^lookup: found \(implicit MX" "^mx: pref=0 host=implicit\.mxb\.test addresses=127\.0\.0\.12 self=yes$" \
	"^verdict: primary$"
case_ "null MX takes no mail" 0 nullmx.mxb.test 127.0.0.12 "^lookup: null-mx " "^verdict: not-mx$"
case_ "NODATA: no MX and no address" 0 nodata.mxb.test 127.0.0.12 "^lookup: no-mx ttl=" "^verdict: not-mx$"
case_ "NXDOMAIN" 0 missing.mxb.test 127.0.0.12 "^lookup: nxdomain " "^verdict: not-mx$"
case_ "SERVFAIL (zone that failed to load)" 1 www.broken.test 127.0.0.12 "^lookup: servfail " "^verdict: error$"
case_ "this host not in the MX set" 0 two.mxb.test 127.0.0.99 "^rank: none" "^verdict: not-mx$"
case_ "a target that does not resolve" 0 deadtarget.mxb.test 127.0.0.12 \
	"^mx: pref=10 host=nowhere\.mxb\.test addresses=none \(nxdomain\) self=no probe=none$" \
	"^rank: 20 \(backup\)$" "^verdict: backup$"
case_ "a CNAME target is followed and marked" 0 cname.mxb.test 127.0.0.12 \
	"^mx: pref=10 host=alias\.mxb\.test addresses=127\.0\.0\.11 cname=yes self=no probe=down$"
grep -q 'MX target alias.mxb.test is an alias (CNAME)' "$T/err" || fail "CNAME target not logged"
pass "a CNAME target is logged as a misconfiguration"
case_ "an IPv6-only target" 0 v6only.mxb.test 127.0.0.12 \
	"^mx: pref=10 host=mx6\.mxb\.test addresses=2001:db8::25 self=no probe=down$"
case_ "three levels, this host in the middle" 0 three.mxb.test 127.0.0.12 \
	"^rank: 15 \(backup\)$" "^mx: pref=5 host=mx1.* probe=down$" "^mx: pref=25 host=mx3.* self=no$"
case_ "TTL below MinTTL raised to 60" 0 shortttl.mxb.test 127.0.0.11 "^lookup: found ttl=60$"
case_ "TTL above MaxTTL cut to 3600" 0 longttl.mxb.test 127.0.0.11 "^lookup: found ttl=3600$"
# 63 better MX hosts: 32 addresses are probed, the rest stay unknown, and an
# unfinished probe is an error (the mail is accepted)
case_ "64 MX records (over TCP) all kept" 1 many.mxb.test 127.0.0.12 \
	"^mx: pref=1 host=m1\.mxb\.test addresses=127\.0\.1\.1 self=no probe=down$" \
	"^mx: pref=33 host=m33\.mxb\.test .* probe=unknown$" "^rank: 64 \(backup\)$" \
	"^reason: probe-unfinished$" "^verdict: error$"
[ "$(grep -c '^mx: ' "$T/out")" = 64 ] || fail "many: $(grep -c '^mx: ' "$T/out") entries, not 64"
pass "64 entries printed"
case_ "70 MX records: the best 64 kept" 0 toomany.mxb.test 127.0.0.12 \
	"^note: more than 64 MX records" "^rank: 5 \(backup\)$"
[ "$(grep -c '^mx: ' "$T/out")" = 64 ] || fail "toomany: not 64 entries"
grep -q '^mx: pref=65 ' "$T/out" && fail "toomany: preference 65 kept"
pass "70 records: preferences 1..64 kept"
case_ "address literal: not looked up" 0 '[127.0.0.1]' "" "^lookup: not-a-domain \(address literal\)" \
	"^verdict: not-mx$"
case_ "malformed domain: not looked up" 0 'bad..mxb.test' "" "^lookup: not-a-domain \(malformed\)" \
	"^verdict: not-mx$"
case_ "IPv6 local address" 0 v6only.mxb.test 2001:db8::25 "^rank: 10 \(primary\)$"

# LocalAddresses and LocalNames make entries self without -a matching them.
printf 'LocalAddresses 127.0.0.12\n' >>"$conf"
case_ "LocalAddresses (NAT) makes mx2 self" 0 two.mxb.test 10.0.0.1 "^mx: pref=20 host=$M2 self=yes$"
printf 'Syslog no\nDnsServers 127.0.0.1:%s\nProbePort 9\nLocalNames MX2.mxb.test\n' "$NSD_PORT" >"$conf"
case_ "LocalNames makes mx2 self" 0 two.mxb.test 10.0.0.1 "^mx: pref=20 host=mx2.* self=yes$"
# Without -a, the interface addresses count (127.0.0.1 is one, .12 is not);
# with -a they do not.
printf 'Syslog no\nDnsServers 127.0.0.1:%s\nProbePort 9\n' "$NSD_PORT" >"$conf"
case_ "no local address: interface addresses decide" 0 lo.mxb.test "" "^local: \(every interface" \
	"^mx: pref=10 host=mxlo\.mxb\.test addresses=127\.0\.0\.1 self=yes$" "^mx: pref=20 host=mx2.* self=no$" \
	"^verdict: primary$"
case_ "a local address given: interface addresses do not count" 0 lo.mxb.test 127.0.0.12 \
	"^mx: pref=10 host=mxlo.* self=no probe=down$" "^rank: 20 \(backup\)$"
