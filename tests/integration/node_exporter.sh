#!/bin/bash
# node_exporter.sh - the StatsFile read by Debian's prometheus-node-exporter
# (textfile collector, on loopback): the daemon decides real recipients and
# writes the file into the collector's directory; every sample of the file
# is scraped with its value, the file says what the last "stats: totals"
# line says, and rewriting it (every second, and on SIGUSR1) never makes a
# scrape fail or see a part of it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dns_lib.sh"
. "$(dirname "$0")/mx_lib.sh"
. "$(dirname "$0")/redis_lib.sh"
. "$(dirname "$0")/stats_lib.sh"

need_python
NODE_EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter) \
	|| skip "prometheus-node-exporter not installed"
command -v curl >/dev/null || skip "curl not installed"

start_stats_milter
drive_stats_milter

# start_node_exporter - only the textfile collector, on 127.0.0.1:$NE_PORT
start_node_exporter() {
	local try
	for try in 1 2 3 4 5; do
		NE_PORT=$(random_port)
		"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$NE_PORT" --web.disable-exporter-metrics \
			--collector.disable-defaults --collector.textfile \
			--collector.textfile.directory="$STATS_DIR" >>"$T/node_exporter.log" 2>&1 &
		NE_PID=$!
		PIDS="$PIDS $NE_PID"
		if wait_for curl -sf -o /dev/null "http://127.0.0.1:$NE_PORT/metrics" \
			&& kill -0 "$NE_PID" 2>/dev/null; then
			return 0
		fi
		kill "$NE_PID" 2>/dev/null
	done
	cat "$T/node_exporter.log" >&2
	fail "node_exporter did not start"
}

# scrape FILE - GET /metrics into FILE
scrape() { curl -sf -o "$1" "http://127.0.0.1:$NE_PORT/metrics" || fail "scrape failed"; }

start_node_exporter
echo "# $("$NODE_EXPORTER" --version 2>&1 | head -n 1)"
scrape "$T/scrape"
grep -q '^node_textfile_mtime_seconds{file=".*mxbypass\.prom"}' "$T/scrape" \
	|| fail "node_exporter did not read mxbypass.prom"
pass "node_exporter (textfile collector only) on 127.0.0.1:$NE_PORT reads the StatsFile"

# The daemon replaces the file by rename: a new inode each time.
ino=$(stat -c %i "$STATS_FILE")
kill -USR1 "$MILTER_PID"
inode_changed() { [ "$(stat -c %i "$STATS_FILE")" != "$ino" ]; }
wait_for inode_changed || fail "the StatsFile was rewritten in place (inode $ino kept)"
pass "the StatsFile is replaced whole (rename, a new inode)"

# Scrapes while the daemon rewrites the file as fast as SIGUSR1 comes: none
# fails, none sees a part of the file.
for i in $(seq 1 40); do
	kill -USR1 "$MILTER_PID"
	scrape "$T/scrape.$i"
	python3 "$PROMCHECK" scrape "$STATS_FILE" "$T/scrape.$i" >/dev/null \
		|| fail "scrape $i during the rewrites"
done
rewrites=$(grep -c 'stats: totals ' "$T/milter.log")
ls "$STATS_DIR" | grep -v '^mxbypass\.prom$' && fail "files left beside the StatsFile"
pass "40 scrapes during rewrites ($rewrites totals lines so far): no scrape error, every sample every time"

# Stopped, the daemon has written its last line and the file once more.
stop_milter || fail "milter exited non-zero on SIGTERM"
tail -n 3 "$T/milter.log" | grep -q "stats: totals uptime=[0-9]* rcpts=$STATS_RCPTS " \
	|| fail "no final totals at stop"
line=$(last_totals)
n=$(python3 "$PROMCHECK" statsline "$STATS_FILE" "$line") \
	|| { echo "$line" >&2; fail "the StatsFile differs from the last stats line"; }
pass "the StatsFile says what the last stats line says ($n samples and the top lists)"
scrape "$T/scrape"
n=$(python3 "$PROMCHECK" scrape "$STATS_FILE" "$T/scrape") || fail "the scrape differs from the StatsFile"
grep -qx 'node_textfile_scrape_error 0' "$T/scrape" || fail "node_textfile_scrape_error is not 0"
pass "all $n samples of the StatsFile scraped with their values; node_textfile_scrape_error 0"

# A file cut short in the same directory does break the scrape, and the
# check says so.
head -c 200 "$STATS_FILE" | sed 's/mxbypass_/other_/g' >"$STATS_DIR/cut.prom"
scrape "$T/scrape.cut"
grep -qx 'node_textfile_scrape_error 1' "$T/scrape.cut" || fail "a cut file: no scrape error"
python3 "$PROMCHECK" scrape "$STATS_FILE" "$T/scrape.cut" >/dev/null 2>&1 \
	&& fail "the check passes a scrape with node_textfile_scrape_error 1"
pass "a file cut short beside it: node_textfile_scrape_error 1, and the check fails"
