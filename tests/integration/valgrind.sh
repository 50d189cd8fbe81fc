#!/bin/bash
# valgrind.sh - the daemon under valgrind's memcheck through the miltertest
# phases of verdicts.lua (every verdict, action, exemption, header
# removal, retry) and a reload: no invalid access, no uninitialised value,
# no leak, and a clean stop.
. "$(dirname "$0")/mx_lib.sh"

require_miltertest
command -v valgrind >/dev/null || skip "valgrind not installed"
# a sanitizer build has its own checks, and valgrind cannot run it
ldd "$MILTER" | grep -q 'libasan\|libubsan' && skip "sanitizer build"

conf="$T/milter.conf"
bypass_up "$conf"

# the daemon under valgrind (exec: the PID is the daemon's), which starts slowly
vg="valgrind --quiet --error-exitcode=3 --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --track-origins=yes --log-file=$T/valgrind.log"
printf '#!/bin/sh\nexec %s %s "$@"\n' "$(echo $vg)" "$MILTER" >"$T/valgrind-milter"
chmod 755 "$T/valgrind-milter"
MILTER="$T/valgrind-milter" MILTER_START_SECS=30
start_milter "$conf"

for p in verdicts actions exempt; do mt_phase "$p"; done
reload milter || fail "no reload under valgrind"
mt_phase exempt
kill -USR1 "$MILTER_PID"
wait_log 'stats: totals' || fail "no statistics under valgrind"
pass "every phase answered under valgrind ($(log_count ': rcpt-domain=') recipients)"

stop_milter
rc=$?
[ -s "$T/valgrind.log" ] && { cat "$T/valgrind.log"; fail "valgrind reported (exit $rc)"; }
[ $rc = 0 ] || { cat "$T/milter.log"; fail "exit status $rc under valgrind"; }
pass "valgrind memcheck: no error, no leak, exit 0 after SIGTERM"
