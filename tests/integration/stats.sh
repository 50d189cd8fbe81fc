#!/bin/bash
# stats.sh - the statistics lines and the Prometheus file of a daemon that
# decides real recipients (miltertest, NSD, live and dead MX hosts): every
# number must equal the count of the per-recipient log lines behind it.
. "$(dirname "$0")/mx_lib.sh"

require_miltertest
conf="$T/milter.conf"
prom="$T/metrics/mxbypass.prom"
mkdir -p "$T/metrics"
bypass_up "$conf"
printf 'StatsInterval 1\nStatsFile %s\n' "$prom" >>"$conf"
start_milter "$conf"

for p in verdicts actions exempt; do mt_phase "$p"; done

# lines VERDICT-OR-ACTION - per-recipient log lines with that word
lines() { log_count ": rcpt-domain=.* $1 "; }
rcpts=$(log_count ': rcpt-domain=')
[ "$rcpts" -ge 25 ] || fail "only $rcpts recipients logged"

# Wait for a totals line that has seen every recipient.
wait_log "stats: totals uptime=[0-9]* rcpts=$rcpts " \
	|| { grep 'stats:' "$T/milter.log" | tail -n 2; fail "no totals line with rcpts=$rcpts"; }
pass "a statistics line every second without a signal"
totals_bare=$(log_lines milter | grep -m 1 "stats: totals uptime=[0-9]* rcpts=$rcpts ")

# the interval lines up to that totals line add up to it
sums=$(awk -v stop="$totals_bare" '
	index($0, "stats: interval=") {
		for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[2] ~ /^[0-9]+$/) sum[kv[1]] += kv[2]
	}
	$0 == stop { for (k in sum) print k "=" sum[k]; exit }' <(log_lines milter))
for v in exempt not-mx primary backup bypass error; do
	n=$(lines "verdict=$v")
	[ "$(field "$totals_bare" "$v")" = "$n" ] || fail "totals: $v=$(field "$totals_bare" "$v"), log lines $n"
	echo "$sums" | grep -qx "$v=$n" || fail "intervals: $v does not add up to $n"
done
pass "verdicts: totals and the sum of the intervals equal the log lines ($rcpts recipients)"
for a in tag:tagged tempfail:tempfailed reject:rejected log:logged retry-accept:retry-accepted; do
	n=$(lines "action=${a%%:*}")
	[ "$(field "$totals_bare" "${a#*:}")" = "$n" ] || fail "totals: ${a#*:} differs from $n log lines"
done
pass "actions: totals equal the log lines"

# top lists: every bypass here came from 192.0.2.0/24 (and one IPv6 client)
v4=$(log_count ': rcpt-domain=.* client=192\.0\.2\.[0-9]* verdict=bypass ')
live=$(log_count ': rcpt-domain=live\.bypass\.test .*verdict=bypass ')
echo "$totals_bare" | grep -q " top-clients=192\.0\.2\.0/24:$v4,2001:db8::/64:1 " \
	|| fail "top-clients: expected 192.0.2.0/24:$v4 first ($totals_bare)"
echo "$totals_bare" | grep -q " top-domains=live\.bypass\.test:$live," \
	|| fail "top-domains: expected live.bypass.test:$live first"
pass "top clients (by /24 and /64) and top domains, with their counts"
dns=$(( $(field "$totals_bare" dns-hits) + $(field "$totals_bare" dns-misses) ))
[ "$dns" -gt 0 ] && [ "$(field "$totals_bare" probes)" -gt 0 ] \
	&& [ "$(field "$totals_bare" dns-cached)" -gt 0 ] || fail "cache figures missing"
pass "cache figures: $dns lookups, $(field "$totals_bare" probes) probes"

# The Prometheus file: every line parses, the numbers are the log's.
[ -f "$prom" ] || fail "no $prom"
bad=$(grep -vE '^# (HELP|TYPE) [a-z_]+ .+$|^[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"\})? [0-9]+$' "$prom")
[ -z "$bad" ] || fail "lines that do not parse: $bad"
ls "$T/metrics" | grep -q tmp && fail "a temporary file was left beside $prom"
# metric_is NAME-AND-LABELS VALUE - the file says so (rewritten each second)
metric_is() { [ "$(metric "$prom" "$1")" = "$2" ]; }
wait_for metric_is 'mxbypass_rcpt_total{verdict="bypass"}' "$(lines verdict=bypass)" \
	|| fail "file: bypass $(metric "$prom" 'mxbypass_rcpt_total{verdict="bypass"}')"
for v in exempt not-mx primary backup bypass error; do
	[ "$(metric "$prom" "mxbypass_rcpt_total{verdict=\"$v\"}")" = "$(lines "verdict=$v")" ] \
		|| fail "file: $v differs from the log"
done
for a in tag tempfail reject log retry-accept; do
	[ "$(metric "$prom" "mxbypass_action_total{action=\"$a\"}")" = "$(lines "action=$a")" ] \
		|| fail "file: action $a differs from the log"
done
pass "Prometheus file: $(grep -vc '^#' "$prom") samples parse; verdicts and actions equal the log"

# StatsInterval 0 after a reload: no more periodic lines, but SIGUSR1 at once.
sed -i 's/^StatsInterval 1$/StatsInterval 0/' "$conf"
reload milter || fail "no reload"
sleep 1.5
before=$(log_count 'stats: interval=')
sleep 1.5
[ "$(log_count 'stats: interval=')" = "$before" ] || fail "StatsInterval 0: lines still come"
pass "StatsInterval 0 (after a reload): no periodic line"
t0=$(now_ms)
kill -USR1 "$MILTER_PID"
wait_for log_count_above 'stats: interval=' "$before" || fail "no line on SIGUSR1"
t1=$(now_ms)
[ $((t1 - t0)) -lt 500 ] || fail "SIGUSR1: the line came after $((t1 - t0)) ms"
pass "SIGUSR1: a statistics line in $((t1 - t0)) ms"

stop_milter || fail "milter exited non-zero on SIGTERM"
tail -n 3 "$T/milter.log" | grep -q "stats: totals uptime=[0-9]* rcpts=$rcpts " \
	|| fail "no final totals at stop"
pass "the totals logged at stop"
