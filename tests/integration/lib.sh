# lib.sh - shared helpers of the integration tests (sourced, POSIX sh + bash)
#
# Each test gets its own temp dir ($T), removed at exit along with every
# process it started. Tests run from the automake harness, which exports
# top_srcdir and top_builddir; run by hand they default to the usual layout.

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

# wait_for CMD... - retry a command for up to 10 s
wait_for() {
	for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# start_milter CONF [ARGS...] - run the daemon in the foreground on a unix
# socket in $T; its stderr log goes to $T/milter.log; sets MILTER_PID, SOCK
start_milter() {
	conf=$1; shift
	SOCK="$T/milter.sock"
	"$MILTER" -f -l -c "$conf" -p "unix:$SOCK" "$@" >>"$T/milter.log" 2>&1 &
	MILTER_PID=$!
	PIDS="$PIDS $MILTER_PID"
	wait_for test -S "$SOCK" || { cat "$T/milter.log" >&2; fail "milter did not open $SOCK"; }
}

# stop_milter - SIGTERM and wait; returns the daemon's exit status
stop_milter() {
	kill -TERM "$MILTER_PID"
	wait "$MILTER_PID"
}

# log_has PATTERN - the milter log contains an extended regex
log_has() { grep -Eq -- "$1" "$T/milter.log"; }

# wait_log PATTERN - wait up to 10 s for a log line
wait_log() { wait_for log_has "$1"; }

# log_count PATTERN - how many log lines match an extended regex
log_count() { grep -Ec -- "$1" "$T/milter.log"; }

# log_count_above PATTERN N - more than N log lines match (for wait_for:
# a count taken in the caller's $(...) would never change while it waits)
log_count_above() { [ "$(log_count "$1")" -gt "$2" ]; }
