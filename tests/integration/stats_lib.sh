# stats_lib.sh - a real StatsFile for its readers (sourced; extends lib.sh,
# dns_lib.sh, mx_lib.sh and redis_lib.sh)
#
# start_stats_milter runs the daemon as stats.sh does (NSD, the MX hosts of
# zones/bypass.test), sharing its state in the test's own redis-server so
# that the file has the store's metrics too, with StatsInterval 1 and
# StatsFile $STATS_FILE ($T/textfile/mxbypass.prom). drive_stats_milter
# sends miltertest connections with every verdict and action, DNS lookups and
# probes through it, and waits until the file has seen every recipient.
# PROMCHECK is the script that compares the file with its readers.

STATS_DIR="$T/textfile"
STATS_FILE="$STATS_DIR/mxbypass.prom"
PROMCHECK="$top_srcdir/tests/integration/promcheck.py"
STATS_RCPTS=0

# need_python - skip without python3 (promcheck.py)
need_python() { command -v python3 >/dev/null || skip "python3 not installed"; }

start_stats_milter() {
	[ -x "$MILTERTEST" ] || skip "miltertest not installed"
	printf 'StateBackend redis\n' >"$T/redis.conf"
	"$MILTER" -n -c "$T/redis.conf" >/dev/null 2>&1 || skip "built without hiredis"
	start_nsd
	start_mx_hosts
	start_redis
	mkdir -p "$STATS_DIR"
	bypass_conf "$T/milter.conf"
	cat >>"$T/milter.conf" <<-EOF
	StateBackend redis
	RedisServer 127.0.0.1:$REDIS_PORT
	RedisPrefix stats$$:
	StatsInterval 1
	StatsFile $STATS_FILE
	EOF
	start_milter "$T/milter.conf"
}

# stats_sample NAME-AND-LABELS - its value in the StatsFile
stats_sample() { awk -v k="$1" '$1 == k { print $2 }' "$STATS_FILE" 2>/dev/null; }

# stats_sample_is NAME-AND-LABELS VALUE
stats_sample_is() { [ "$(stats_sample "$1")" = "$2" ]; }

# last_totals - the last "stats: totals" line of the log, bare
last_totals() {
	grep 'stats: totals ' "$T/milter.log" | tail -n 1 | sed 's/^.*stats: totals /stats: totals /'
}

drive_stats_milter() {
	local p bypass
	for p in verdicts actions; do mt_phase "$p"; done
	sleep 1.1	# RetryAfter 1: the retry phase is accepted
	for p in retry exempt; do mt_phase "$p"; done
	STATS_RCPTS=$(grep -c ': rcpt-domain=' "$T/milter.log")
	[ "$STATS_RCPTS" -ge 25 ] || fail "only $STATS_RCPTS recipients logged"
	wait_for grep -q "stats: totals uptime=[0-9]* rcpts=$STATS_RCPTS " "$T/milter.log" \
		|| { grep 'stats:' "$T/milter.log" | tail -n 2; fail "no totals line with rcpts=$STATS_RCPTS"; }
	bypass=$(grep -c ': rcpt-domain=.* verdict=bypass ' "$T/milter.log")
	wait_for stats_sample_is 'mxbypass_rcpt_total{verdict="bypass"}' "$bypass" \
		|| fail "the StatsFile does not reach $bypass bypasses"
}
