#!/bin/bash
# refresh.sh - refresh ahead through the real daemon: a domain whose MX set
# lives 2 s (MinTTL 0), asked for every 0.2 s for 10 s, is looked up once
# by a recipient and from then on refreshed in the background, so that no
# recipient waits on DNS again; a probe result that lives 2 s (ProbeTTLUp)
# is renewed in the background the same way, so that recipients never
# wait on a probe after the first.
. "$(dirname "$0")/mx_lib.sh"

require_miltertest
# hot.fast.test: this host is not an MX (no probe); probe.fast.test: this
# host is the backup of a live primary (a probe of 127.0.0.21), its MX set
# kept 300 s
printf '%s\n' '$ORIGIN fast.test.' '$TTL 2' '@ SOA ns hostmaster 1 3600 600 86400 2' \
	'@ NS ns' 'ns A 127.0.0.1' 'hot MX 10 up.bypass.test.' \
	'probe 300 MX 10 up.bypass.test.' 'probe 300 MX 20 backup.bypass.test.' >"$T/fast.test.zone"
NSD_EXTRA_ZONES="fast.test:$T/fast.test.zone"
conf="$T/milter.conf"
bypass_up "$conf"
sed -i 's/^Domains .*/Domains .bypass.test, .fast.test/' "$conf"
printf 'MinTTL 0\nProbeTTLUp 2\nProbeConfirm 0\n' >>"$conf"
start_milter "$conf"

# hot DOMAIN COUNT - COUNT recipients of DOMAIN, 0.2 s apart, one connection
hot() {
	"$MILTERTEST" -D sock="$SOCK" -D domain="$1" -D count="$2" -D pause=0.2 \
		-s "$top_srcdir/tests/integration/refresh.lua" >"$T/mt.out" 2>&1 \
		|| { cat "$T/mt.out" "$T/milter.log"; fail "miltertest: $1"; }
}

hot hot.fast.test 50
totals milter
misses=$(field "$TOTALS" dns-misses) joins=$(field "$TOTALS" dns-joins)
refreshes=$(field "$TOTALS" dns-refreshes) hits=$(field "$TOTALS" dns-hits)
[ "$(log_count ': rcpt-domain=hot\.fast\.test .*verdict=not-mx ')" = 50 ] \
	|| fail "hot.fast.test: not 50 not-mx lines"
[ "$misses" = 1 ] && [ "$joins" = 0 ] \
	|| fail "a 2 s TTL asked for over 10 s: dns-misses=$misses dns-joins=$joins, expected 1 and 0 ($TOTALS)"
[ "$refreshes" -ge 3 ] || fail "dns-refreshes=$refreshes, expected at least 3 ($TOTALS)"
[ "$hits" = 49 ] || fail "dns-hits=$hits, expected 49"
pass "a 2 s TTL in steady use for 10 s: one lookup by a recipient, $refreshes refreshes, 49 hits"
[ "$(field "$TOTALS" refresh-dropped)" = 0 ] || fail "refreshes dropped ($TOTALS)"
[ "$(field "$TOTALS" dns-cached)" = 1 ] || fail "dns-cached is not 1 ($TOTALS)"
pass "nothing dropped, one entry cached"

hot probe.fast.test 40
totals milter
probes=$(field "$TOTALS" probes) renewed=$(field "$TOTALS" probe-refreshes)
[ "$(log_count ': rcpt-domain=probe\.fast\.test .*verdict=bypass .*reason=better-mx-reachable')" = 40 ] \
	|| fail "probe.fast.test: not 40 bypass lines"
[ "$probes" = 1 ] || fail "a 2 s probe result in use for 8 s: probes=$probes, expected 1 ($TOTALS)"
[ "$renewed" -ge 2 ] || fail "probe-refreshes=$renewed, expected at least 2 ($TOTALS)"
[ "$(field "$TOTALS" probe-joins)" = 0 ] || fail "a recipient waited for a probe ($TOTALS)"
pass "a 2 s probe result in use for 8 s: one probe by a recipient, $renewed renewed in the background"

# a reload moves the worker to the new DnsServers: a silent server, so
# its refresh fails, and the good answer stays until it expires; then a
# recipient looks it up (and times out)
hot hot.fast.test 5
start_blackhole
sed -i "s/^DnsServers .*/DnsServers 127.0.0.1:$BLACKHOLE_PORT/; s/^DnsTimeout .*/DnsTimeout 200/" "$conf"
echo "DnsTries 1" >>"$conf"
before=$(field "$TOTALS" dns-refreshes)
reload milter || fail "no reload"
n0=$(log_count ': rcpt-domain=')
hot hot.fast.test 15
totals milter
after=$(log_lines milter | grep ': rcpt-domain=hot\.fast\.test ' | tail -n 15 | sed 's/.* verdict=//; s/ .* reason=/:/')
[ "$(field "$TOTALS" dns-refreshes)" -gt "$before" ] || fail "no refresh after the reload ($TOTALS)"
[ "$(echo "$after" | head -n 1)" = not-mx:not-listed ] || fail "after the reload: $(echo $after)"
[ "$(echo "$after" | tail -n 1)" = error:timeout ] || fail "after the reload, at the end: $(echo $after)"
# once an error, it stays an error (cached for NegativeTTL): the answers
# are some not-mx, then errors
echo "$after" | uniq | tr '\n' ' ' | grep -qx 'not-mx:not-listed error:timeout ' \
	|| fail "after the reload: $(echo $after)"
pass "a reload to a silent DnsServers: the refresh fails, the good answer stays until it expires, then a recipient looks it up"

stop_milter || fail "milter exited non-zero on SIGTERM"
pass "clean stop with the worker running"
