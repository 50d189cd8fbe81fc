# lib.sh - the helpers every shell test shares: the integration tests, the
# end-to-end tests and the benchmarks (sourced, bash)
#
# Each test gets its own temp dir ($T), removed at exit along with every
# process it started (each one's PID appended to $PIDS). Tests run from the
# automake harness, which exports top_srcdir and top_builddir; run by hand
# they default to the usual layout.
#
#   outcome      fail, skip, pass; require_miltertest
#   waiting      wait_for [-t SECS] CMD..., now_ms
#   network      random_port, tcp_open, tcp_closed, wait_listen
#   daemons      start_milter/stop_milter (the test's milter, "milter"),
#                start_daemon/stop_daemon NAME (more of them), run_milter
#                (any socket and log), pid_of, reload, totals
#   their logs   log_has, wait_log, log_count, log_count_above (the test's
#                milter); dlog_count, dlog_count_above, log_lines, logged
#                (daemon NAME's)
#   values       field (KEY=value in a line), metric (a Prometheus file)
#
# Beside it: dns_lib.sh (NSD, dnsmasq, a silent server), mx_lib.sh (the MX
# hosts of zones/bypass.test), redis_lib.sh, smtp_lib.sh (smtp-sink and a
# tagged sender: both MTA suites), postfix_lib.sh (Postfix instances).

# once per test, however many libraries source it
[ -z "${MXB_LIB_SH:-}" ] || return 0
MXB_LIB_SH=1

set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${MILTERTEST:=$(command -v miltertest || true)}"
MILTER="$top_builddir/milter/mxbypass-milter"

T=$(mktemp -d "${TMPDIR:-/tmp}/mxb-test.XXXXXX")
chmod 755 "$T"
PIDS=""

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$p" 2>/dev/null
	done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
pass() { echo "ok - $*"; }

# require_miltertest - skip unless miltertest can play the MTA
require_miltertest() { [ -x "$MILTERTEST" ] || skip "miltertest not installed"; }

# wait_for [-t SECS] CMD... - retry a command every 0.1 s for up to SECS
# seconds (10 by default) until it succeeds
wait_for() {
	local n=100
	if [ "$1" = -t ]; then n=$(($2 * 10)); shift 2; fi
	for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# now_ms - the time in milliseconds since the epoch
now_ms() { date +%s%3N; }

# random_port - a port number unlikely to be taken (tests run in parallel)
random_port() { echo $(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 )); }

# tcp_open ADDR:PORT - something listens there
tcp_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# tcp_closed ADDR:PORT - nothing listens there
tcp_closed() { ! tcp_open "$1"; }

# wait_listen SECS ADDR:PORT LOG WHAT - wait until WHAT listens on ADDR:PORT,
# else fail showing its LOG
wait_listen() {
	wait_for -t "$1" tcp_open "$2" || { cat "$3" >&2; fail "$4 does not listen on $2"; }
}

# run_milter VAR SOCK LOG CONF [ARGS...] - the daemon in the foreground on
# unix:SOCK, its stderr appended to LOG, stopped at exit; its PID in VAR.
# Waits MILTER_START_SECS (10) for the socket, else fails showing LOG.
run_milter() {
	local var=$1 sock=$2 log=$3 conf=$4 pid
	shift 4
	"$MILTER" -f -l -c "$conf" -p "unix:$sock" "$@" >>"$log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	eval "$var=$pid"
	wait_for -t "${MILTER_START_SECS:-10}" test -S "$sock" \
		|| { cat "$log" >&2; fail "milter did not open $sock"; }
}

# start_daemon NAME CONF [ARGS...] - a milter named NAME: socket
# $T/NAME.sock, log $T/NAME.log, its PID in PID_NAME
start_daemon() {
	local name=$1
	shift
	run_milter "PID_$name" "$T/$name.sock" "$T/$name.log" "$@"
}

# start_milter CONF [ARGS...] - the test's milter, daemon "milter": its
# stderr log goes to $T/milter.log; sets MILTER_PID, SOCK
start_milter() {
	start_daemon milter "$@"
	SOCK="$T/milter.sock"
	MILTER_PID=$PID_milter
}

# stop_milter - SIGTERM and wait; returns the daemon's exit status
stop_milter() {
	kill -TERM "$MILTER_PID"
	wait "$MILTER_PID"
}

# pid_of NAME - the PID of daemon NAME
pid_of() { eval "echo \$PID_$1"; }

# stop_daemon NAME - SIGTERM; it must exit 0 (and, sanitized, leak nothing)
stop_daemon() {
	local pid rc
	pid=$(pid_of "$1")
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || { tail -n 30 "$T/$1.log" >&2; fail "milter $1 exited $rc on SIGTERM"; }
}

# log_has PATTERN - the milter log contains an extended regex
log_has() { grep -Eq -- "$1" "$T/milter.log"; }

# wait_log PATTERN - wait up to 10 s for a log line
wait_log() { wait_for log_has "$1"; }

# log_count PATTERN - how many log lines match an extended regex
log_count() { dlog_count milter "$1"; }

# log_count_above PATTERN N - more than N log lines match (for wait_for:
# a count taken in the caller's $(...) would never change while it waits)
log_count_above() { [ "$(log_count "$1")" -gt "$2" ]; }

# dlog_count NAME PATTERN - how many lines of daemon NAME's log match
dlog_count() { grep -Ec -- "$2" "$T/$1.log"; }

# dlog_count_above NAME PATTERN N - more than N of them (for wait_for)
dlog_count_above() { [ "$(dlog_count "$1" "$2")" -gt "$3" ]; }

# log_lines NAME - daemon NAME's log without the "mxbypass-milter[PID]: LEVEL: "
log_lines() { sed 's/^mxbypass-milter\[[0-9]*\]: [a-z]*: //' "$T/$1.log"; }

# logged NAME QID DOMAIN REST - daemon NAME logged this recipient line, exactly
logged() {
	local line="$2: rcpt-domain=$3 $4"
	grep -qxF -- "$line" <(log_lines "$1") \
		|| { grep -F "$2: rcpt-domain=$3 " "$T/$1.log" >&2; fail "$1: no log line [$line]"; }
}

# reload NAME - SIGHUP daemon NAME; true once it logged one more reload
reload() {
	local n
	n=$(dlog_count "$1" 'config: reloaded')
	kill -HUP "$(pid_of "$1")"
	wait_for dlog_count_above "$1" 'config: reloaded' "$n"
}

# totals NAME - SIGUSR1, then daemon NAME's fresh "stats: totals" line into TOTALS
totals() {
	local n
	n=$(dlog_count "$1" 'stats: totals ')
	kill -USR1 "$(pid_of "$1")"
	wait_for dlog_count_above "$1" 'stats: totals ' "$n" || fail "$1: no stats line on SIGUSR1"
	TOTALS=$(grep 'stats: totals ' "$T/$1.log" | tail -n 1)
}

# field LINE KEY - the value of KEY= in a line of KEY=value words
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# metric FILE NAME - the value of sample NAME (with its labels) in a
# Prometheus text file
metric() { awk -v m="$2" '$1 == m { print $2 }' "$1"; }
