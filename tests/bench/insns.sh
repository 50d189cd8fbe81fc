#!/bin/bash
# insns.sh - the milter's own instructions per message, counted by
# callgrind (user space, every thread; repeatable, whatever else the
# machine is doing): the daemon runs under valgrind behind a real
# Postfix backup (e2e_lib.sh), Action tag, every message a warm bypass;
# two runs, of FEW and of FEW + MANY messages, and the difference over
# MANY is the cost of one message without the start-up.
#
#   insns.sh [BUILD-DIR...]     (default: this build)
#
# Knobs: INSNS_FEW (50), INSNS_MANY (500). Needs root (Postfix) and valgrind.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
FEW=${INSNS_FEW:-50}
MANY=${INSNS_MANY:-500}

# one BUILD N OUT - the daemon of BUILD under callgrind for N messages
one() (
	top_builddir=$1
	. "$top_srcdir/tests/e2e/e2e_lib.sh"
	command -v valgrind >/dev/null || skip "valgrind not installed"
	printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s %s "$@"\n' \
		"$3" "$top_builddir/milter/mxbypass-milter" >"$T/vg.sh"
	chmod 755 "$T/vg.sh"
	MILTER=$T/vg.sh
	e2e_start "Action tag" >/dev/null
	chmod 666 "$3"			# the daemon writes it as UserID
	e2e_send "$BACKUP" warm user@live.bypass.test >/dev/null
	[ "$2" = 0 ] || smtp-source -s 4 -m "$2" -l 512 -f bench@client.test -t user@live.bypass.test \
		"$BACKUP" >/dev/null 2>&1 || fail "smtp-source"
	wait_for log_count_above ': rcpt-domain=' "$2" || fail "$2 messages not decided"
	stop_milter || true	# the count is written; the exit status is not the point
)

# total FILE - the instructions callgrind counted
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'; }

[ $# -gt 0 ] || set -- "${top_builddir:-$top_srcdir}"
out=$(mktemp -d)
chmod 755 "$out"		# the daemon, as UserID, writes its count there
for b in "$@"; do
	one "$b" "$FEW" "$out/few.out" || exit 1
	one "$b" $((FEW + MANY)) "$out/many.out" || exit 1
	a=$(total "$out/few.out"); z=$(total "$out/many.out")
	printf 'instructions per message: %d  (%s: %d for %d messages, %d for %d)\n' \
		$(( (z - a) / MANY )) "$b" "$a" "$FEW" "$z" $((FEW + MANY))
done
rm -rf "$out"
