#!/bin/bash
# valgrind.sh - the daemon under valgrind's memcheck through the miltertest
# phases of verdicts.lua (every verdict, action, exemption, header
# removal, retry) and a reload: no invalid access, no uninitialised value,
# no leak, and a clean stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dns_lib.sh"
. "$(dirname "$0")/mx_lib.sh"

[ -x "$MILTERTEST" ] || skip "miltertest not installed"
command -v valgrind >/dev/null || skip "valgrind not installed"
# a sanitizer build has its own checks, and valgrind cannot run it
ldd "$MILTER" | grep -q 'libasan\|libubsan' && skip "sanitizer build"

start_nsd
start_mx_hosts
conf="$T/milter.conf"
bypass_conf "$conf"

SOCK="$T/milter.sock"
valgrind --quiet --error-exitcode=3 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --track-origins=yes --log-file="$T/valgrind.log" \
	"$MILTER" -f -l -c "$conf" -p "unix:$SOCK" >>"$T/milter.log" 2>&1 &
MILTER_PID=$!
PIDS="$PIDS $MILTER_PID"
for _ in $(seq 1 300); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$T/milter.log" "$T/valgrind.log"; fail "milter under valgrind did not start"; }

for p in verdicts actions exempt; do mt_phase "$p"; done
kill -HUP "$MILTER_PID"
wait_for log_has 'config: reloaded' || fail "no reload under valgrind"
mt_phase exempt
kill -USR1 "$MILTER_PID"
wait_for log_has 'stats: totals' || fail "no statistics under valgrind"
pass "every phase answered under valgrind ($(grep -c ': rcpt-domain=' "$T/milter.log") recipients)"

kill -TERM "$MILTER_PID"
wait "$MILTER_PID"
rc=$?
[ -s "$T/valgrind.log" ] && { cat "$T/valgrind.log"; fail "valgrind reported (exit $rc)"; }
[ $rc = 0 ] || { cat "$T/milter.log"; fail "exit status $rc under valgrind"; }
pass "valgrind memcheck: no error, no leak, exit 0 after SIGTERM"
