#!/bin/bash
# verdicts.sh - every verdict and action through the real daemon: miltertest
# plays the MTA, NSD serves zones/bypass.test, and real listeners on
# loopback are the better MX hosts (live, refused, tarpit, 421, 554). Check
# mode (-t) must reach the same verdict as the milter for every scenario.
. "$(dirname "$0")/mx_lib.sh"

require_miltertest
conf="$T/milter.conf"
bypass_up "$conf"
start_milter "$conf"

# A tarpit primary holds the probe for ProbeTimeout (1000 ms), no longer.
t0=$(now_ms); mt_phase tarpit; t1=$(now_ms)
[ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt 1500 ] \
	|| fail "tarpit: RCPT answered after $((t1 - t0)) ms, expected 1000 ms + a small margin"
pass "tarpit primary: answered in $((t1 - t0)) ms (ProbeTimeout 1000 ms)"

mt_phase verdicts
pass "one message, every verdict: all recipients accepted, one header naming each bypassed domain"
C="client=192.0.2.7"
B="rank=20 better=up.bypass.test"
logged milter T1 tarpit.bypass.test "$C verdict=backup action=accept rank=20 better=tarpit.bypass.test reason=better-mx-unreachable"
logged milter V1 live.bypass.test "$C verdict=bypass action=tag $B reachable=up.bypass.test reason=better-mx-reachable"
pass "bypass of a live primary (smtp-sink): tagged"
logged milter V1 dead.bypass.test "$C verdict=backup action=accept rank=20 better=down.bypass.test reason=better-mx-unreachable"
pass "primary refusing connections: backup"
logged milter V1 tarpit.bypass.test "$C verdict=backup action=accept rank=20 better=tarpit.bypass.test reason=better-mx-unreachable"
pass "tarpit primary: backup (and its result cached)"
logged milter V1 busy.bypass.test "$C verdict=backup action=accept rank=20 better=busy.bypass.test reason=better-mx-unreachable"
pass "primary greeting 421: backup"
logged milter V1 rude.bypass.test "$C verdict=backup action=accept rank=20 better=rude.bypass.test reason=better-mx-unreachable"
pass "primary greeting 554: backup"
logged milter V1 mixed.bypass.test "$C verdict=bypass action=tag rank=20 better=down.bypass.test,tarpit.bypass.test,up.bypass.test reachable=up.bypass.test reason=better-mx-reachable"
pass "three better MX, one live: bypass via the live one"
logged milter V1 primary.bypass.test "$C verdict=primary action=accept rank=10 reason=lowest-preference"
logged milter V1 equal.bypass.test "$C verdict=primary action=accept rank=10 reason=lowest-preference"
pass "this host the primary, or equal preference: primary"
logged milter V1 other.bypass.test "$C verdict=not-mx action=accept reason=not-listed"
pass "this host not an MX of the domain: not-mx"
logged milter V1 www.broken.test "$C verdict=error action=accept reason=servfail"
pass "SERVFAIL: error, accepted"
logged milter V1 '[literal]' "$C verdict=not-mx action=accept reason=not-a-domain"
logged milter V1 - "$C verdict=not-mx action=accept reason=not-a-domain"
pass "address literal and bare postmaster: not-mx, no lookup"
[ "$(log_count 'V1: rcpt-domain=live.bypass.test ')" = 2 ] \
	|| fail "two recipients of live.bypass.test: expected two log lines"
pass "two recipients in one domain: one line each, one group in the header"
log_has 'V1: removed 2 incoming X-MX-Bypass header' || fail "forged headers: removal not logged"
pass "two forged headers removed"
[ "$(grep -c '^accept' "$T/greeter-127.0.0.25.log")" = 1 ] || fail "greeter: not exactly one probe"
grep -qx 'recv: QUIT' "$T/greeter-127.0.0.25.log" || fail "greeter: the probe did not say QUIT"
pass "a greeted probe says QUIT"

mt_phase many
[ "$(log_count 'M1: rcpt-domain=many[0-9]+\.bypass\.test client=192\.0\.2\.7 verdict=bypass action=tag ')" = 10 ] \
	|| fail "ten bypassed domains: not ten tagged"
pass "ten bypassed domains: each logged and tagged; the header names 8 and says more=2"

mt_phase actions
logged milter A1 reject.bypass.test "$C verdict=bypass action=reject $B reachable=up.bypass.test reason=better-mx-reachable"
logged milter A1 temp.bypass.test "$C verdict=bypass action=tempfail $B reachable=up.bypass.test reason=better-mx-reachable"
logged milter A1 dryrun.bypass.test "$C verdict=bypass action=log $B reachable=up.bypass.test reason=better-mx-reachable"
logged milter A2 temp.bypass.test "$C verdict=bypass action=tempfail $B reachable=up.bypass.test reason=better-mx-reachable"
pass "ActionMap: reject, tempfail, log per recipient beside the default tag; an early retry tempfailed"

sleep 1.1
mt_phase retry
logged milter R1 temp.bypass.test "client=192.0.2.99 verdict=bypass action=retry-accept $B reachable=up.bypass.test reason=better-mx-reachable"
logged milter R2 temp.bypass.test "client=198.51.100.7 verdict=bypass action=tempfail $B reachable=up.bypass.test reason=better-mx-reachable"
pass "retry after RetryAfter from the same /24: accepted and tagged; another network tempfailed"

mt_phase exempt
logged milter E1 live.bypass.test "client=10.9.9.9 verdict=exempt action=accept reason=trusted-network"
logged milter E2 live.bypass.test "$C verdict=exempt action=accept reason=authenticated"
logged milter E3 outside.test "$C verdict=exempt action=accept reason=domain-not-listed"
logged milter E4 live.bypass.test "client=127.0.0.21 verdict=exempt action=accept $B reason=client-is-mx"
logged milter E5 live.bypass.test "client=2001:db8::7 verdict=bypass action=tag $B reachable=up.bypass.test reason=better-mx-reachable"
pass "exempt: trusted, authenticated, outside Domains, a better MX relaying; an IPv6 client tagged"
[ "$(grep -c '^accept' "$T/greeter-127.0.0.25.log")" = 1 ] || fail "greeter probed again within ProbeTTLUp"
pass "probe results cached: the greeter was probed once for two messages"

# SIGUSR1: the counters equal the log lines of each verdict and action
totals milter
stats=$TOTALS
for v in exempt not-mx primary backup bypass error; do
	echo "$stats" | grep -q " $v=$(log_count "verdict=$v ")\b" || fail "stats: $v differs from the log ($stats)"
done
echo "$stats" | grep -q " rcpts=$(log_count ': rcpt-domain=')\b" || fail "stats: rcpts ($stats)"
for a in tag:tagged tempfail:tempfailed reject:rejected log:logged retry-accept:retry-accepted; do
	echo "$stats" | grep -q " ${a#*:}=$(log_count "action=${a%%:*} ")\b" || fail "stats: ${a#*:} ($stats)"
done
pass "stats on SIGUSR1: every verdict and action counter equals its log lines"

# A reload to Action log, without the ActionMap: nothing refused or tagged.
sed -i '/^ActionMap/d' "$conf"
echo "Action log" >>"$conf"
reload milter || fail "no reload"
mt_phase reloaded
logged milter L1 live.bypass.test "$C verdict=bypass action=log $B reachable=up.bypass.test reason=better-mx-reachable"
logged milter L1 reject.bypass.test "$C verdict=bypass action=log $B reachable=up.bypass.test reason=better-mx-reachable"
pass "SIGHUP to Action log: the next connection only logs"

# A reload that moves DnsServers: the next lookup asks the new server, not
# a channel of the pool made for the old one; and back again.
# fresh DOMAIN - one recipient in DOMAIN, not looked up before
fresh() {
	"$MILTERTEST" -D sock="$SOCK" -D phase=fresh -D fresh="$1" \
		-s "$top_srcdir/tests/integration/verdicts.lua" >"$T/mt.out" 2>&1 \
		|| { cat "$T/mt.out" "$T/milter.log"; fail "miltertest phase fresh $1"; }
}
sed -i 's/^DnsServers .*/DnsServers 127.0.0.1:9/' "$conf"
reload milter || fail "no reload"
fresh nx1.bypass.test
logged milter F1 nx1.bypass.test "$C verdict=error action=accept reason=servfail"
sed -i "s/^DnsServers .*/DnsServers 127.0.0.1:$NSD_PORT/" "$conf"
reload milter || fail "no reload"
fresh nx2.bypass.test
logged milter F1 nx2.bypass.test "$C verdict=not-mx action=accept reason=nxdomain"
pass "SIGHUP moving DnsServers: the next cold lookup asks the new server, each way"
stop_milter || fail "milter exited non-zero on SIGTERM"
pass "clean stop"

# Check mode reaches the milter's verdict for every scenario.
# tcheck DOMAIN CLIENT WANT-VERDICT [CONF] - the last line of -t
tcheck() {
	local out
	out=$("$MILTER" -c "${4:-$conf}" -t "$1" -a 127.0.0.30 -C "$2" 2>"$T/t.err" | tail -n 1)
	[ "$out" = "verdict: $3" ] || { cat "$T/t.err"; fail "-t $1 -C $2: [$out], expected $3"; }
}
for s in live:bypass live2:bypass mixed:bypass quiet:bypass dead:backup tarpit:backup \
	busy:backup rude:backup primary:primary equal:primary other:not-mx reject:bypass; do
	tcheck "${s%%:*}.bypass.test" 192.0.2.7 "${s#*:}"
done
tcheck www.broken.test 192.0.2.7 error
tcheck '[127.0.0.30]' 192.0.2.7 not-mx
tcheck live.bypass.test 10.9.9.9 exempt
tcheck live.bypass.test 127.0.0.21 exempt
tcheck outside.test 192.0.2.7 exempt
tcheck live.bypass.test 2001:db8::7 bypass
pass "check mode: the milter's verdict for all 18 scenarios"

# ... and the milter's action, chosen by the same code (the configuration
# of the phases above: ActionMap, Action tag).
bypass_conf "$T/actions.conf"
# taction DOMAIN CLIENT WANT - the action line of -t
taction() {
	"$MILTER" -c "$T/actions.conf" -t "$1" -a 127.0.0.30 -C "$2" >"$T/t.out" 2>"$T/t.err"
	grep -qxF "action: $3" "$T/t.out" || { cat "$T/t.out" "$T/t.err"; fail "-t $1 -C $2: no [action: $3]"; }
}
taction live.bypass.test 192.0.2.7 "tag (header X-MX-Bypass)"
taction reject.bypass.test 192.0.2.7 "reject (550 5.7.1)"
taction temp.bypass.test 192.0.2.7 "tempfail (451 4.7.1)"
grep -qx 'retry: 192.0.2.0/24 was not tempfailed for temp.bypass.test yet: this would be its first tempfail' \
	"$T/t.out" || { cat "$T/t.out"; fail "-t: no retry line for a first tempfail"; }
taction dryrun.bypass.test 192.0.2.7 log
taction dead.bypass.test 192.0.2.7 accept
taction live.bypass.test 10.9.9.9 accept
pass "check mode: the milter's action (tag, reject, tempfail, log per ActionMap; accept)"

# A primary that drops SYNs, or resets in the middle of its greeting: down,
# and the answer comes within ProbeTimeout.
for s in synhole reset; do
	t0=$(now_ms)
	tcheck $s.bypass.test 192.0.2.7 backup
	t1=$(now_ms)
	[ $((t1 - t0)) -lt 1500 ] || fail "$s: -t took $((t1 - t0)) ms"
	echo "# $s: $((t1 - t0)) ms"
done
pass "a primary dropping SYNs, or resetting mid-greeting: backup, within ProbeTimeout"

# Without ProbeBanner a listener that accepts is reachable, whatever it says.
sed 's/^ProbeTimeout.*/ProbeTimeout 500\nProbeBanner no/' "$conf" >"$T/nobanner.conf"
tcheck busy.bypass.test 192.0.2.7 bypass "$T/nobanner.conf"
tcheck tarpit.bypass.test 192.0.2.7 bypass "$T/nobanner.conf"
tcheck dead.bypass.test 192.0.2.7 backup "$T/nobanner.conf"
pass "ProbeBanner no: a 421 greeter and a tarpit count as reachable, a refused port does not"

# The recipient's DecisionTimeout cuts a probe short: error, fail open.
sed 's/^ProbeTimeout.*/ProbeTimeout 5000\nDecisionTimeout 300/' "$conf" >"$T/short.conf"
t0=$(now_ms)
"$MILTER" -c "$T/short.conf" -t tarpit.bypass.test -a 127.0.0.30 >"$T/t.out" 2>&1
rc=$?; t1=$(now_ms)
[ $rc = 1 ] && grep -qx 'reason: probe-unfinished' "$T/t.out" && grep -qx 'verdict: error' "$T/t.out" \
	|| { cat "$T/t.out"; fail "DecisionTimeout: expected error probe-unfinished, exit 1"; }
[ $((t1 - t0)) -lt 1500 ] || fail "DecisionTimeout 300: took $((t1 - t0)) ms"
pass "DecisionTimeout 300 ms against a tarpit: error (probe-unfinished) in $((t1 - t0)) ms"
