#!/bin/bash
# dashboard.sh - conf/grafana-dashboard.json against a real StatsFile: the
# daemon decides real recipients (miltertest, NSD, live and dead MX hosts,
# its state in a real redis-server) and writes the file; every metric the
# dashboard's PromQL queries, every label it filters, groups or names a
# legend by, must be in that file, counters read with rate().
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dns_lib.sh"
. "$(dirname "$0")/mx_lib.sh"
. "$(dirname "$0")/redis_lib.sh"
. "$(dirname "$0")/stats_lib.sh"

DASHBOARD="$top_srcdir/conf/grafana-dashboard.json"
need_python
python3 -m json.tool "$DASHBOARD" >/dev/null || fail "$DASHBOARD is not JSON"
pass "the dashboard parses as JSON"

start_stats_milter
drive_stats_milter
stop_milter || fail "milter exited non-zero on SIGTERM"
tail -n 3 "$T/milter.log" | grep -q "stats: totals uptime=[0-9]* rcpts=$STATS_RCPTS " \
	|| fail "no final totals at stop"

# The file has something to show in each row of the dashboard.
nonzero() { grep "^$1" "$STATS_FILE" | awk '$NF > 0' | wc -l; }
[ "$(nonzero 'mxbypass_rcpt_total{')" -ge 5 ] || fail "fewer than 5 verdicts counted"
[ "$(nonzero 'mxbypass_action_total{')" -ge 5 ] || fail "fewer than 5 actions counted"
[ "$(nonzero 'mxbypass_dns_lookups_total{')" = 2 ] || fail "no DNS hits and misses"
[ "$(nonzero 'mxbypass_probe_results_total{')" = 2 ] || fail "no probes up and down"
[ "$(nonzero 'mxbypass_top_')" -ge 2 ] || fail "no top lists"
stats_sample_is mxbypass_store_up 1 || fail "no mxbypass_store_up 1"
pass "a StatsFile with every verdict, action, DNS hits and misses, probes up and down, the top lists, the store up"

names=$(python3 "$PROMCHECK" dashboard "$DASHBOARD" "$STATS_FILE") || fail "the dashboard and the StatsFile differ"
[ -n "$names" ] || fail "no metric names from the dashboard"
echo "# queried: $names"
pass "the dashboard's $(echo "$names" | wc -w) metrics, their labels and types are the StatsFile's"

# promcheck.py must find a drift: a metric and a label value the file lacks.
sed 's/mxbypass_witnesses_total/mxbypass_witness_total/; s/verdict=\\"bypass\\"/verdict=\\"bypassed\\"/' \
	"$DASHBOARD" >"$T/drift.json"
python3 "$PROMCHECK" dashboard "$T/drift.json" "$STATS_FILE" >/dev/null 2>"$T/drift.err" \
	&& fail "a drifted dashboard passes"
grep -q 'mxbypass_witness_total is not in the StatsFile' "$T/drift.err" \
	&& grep -q 'no mxbypass_rcpt_total{verdict="bypassed"}' "$T/drift.err" \
	|| { cat "$T/drift.err"; fail "the drift was not named"; }
pass "a renamed metric and a label value the file lacks are found"
