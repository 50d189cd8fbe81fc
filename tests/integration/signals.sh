#!/bin/bash
# signals.sh - PID file, SIGHUP reload (good and bad files, bursts),
# SIGUSR1, SIGTERM, daemon mode and the privilege drop.
. "$(dirname "$0")/lib.sh"

require_miltertest

# milter_answers - a full transaction through the socket still works
milter_answers() {
	"$MILTERTEST" -D sock="$SOCK" -s "$top_srcdir/tests/integration/smoke.lua" \
		> "$T/mt.out" 2>&1
}

conf="$T/milter.conf"
printf 'Syslog no\nLogLevel debug\nHeaderName X-MX-Bypass\n' > "$conf"
start_milter "$conf" -P "$T/milter.pid"
[ "$(cat "$T/milter.pid")" = "$MILTER_PID" ] || fail "PID file does not hold the daemon's pid"
pass "PID file written"

# A good new file is taken: the forged-header removal follows HeaderName.
printf 'Syslog no\nLogLevel debug\nHeaderName X-Other\nUMask 077\n' > "$conf"
kill -HUP "$MILTER_PID"
wait_log "config: reloaded $conf" || fail "reload not logged"
log_has 'UMask changed in .*takes effect at the next restart' \
	|| fail "a start-up-only key change was not reported"
milter_answers && fail "smoke script passed although HeaderName changed"
grep -q 'forged header not deleted' "$T/mt.out" || { cat "$T/mt.out"; fail "unexpected failure after reload"; }
pass "SIGHUP reload applies the new file to new connections"

# A bad file keeps the running configuration, and says why.
printf 'Syslog no\nAction bounce\nLogLevel debug\n' > "$conf"
kill -HUP "$MILTER_PID"
wait_log "reload of $conf failed: keeping the running configuration" || fail "failed reload not logged"
log_has "config: $conf:2: Action: \"bounce\" is not" || fail "the bad line was not named"
kill -0 "$MILTER_PID" || fail "milter died on a bad reload"
milter_answers && fail "the bad file changed HeaderName back"
pass "SIGHUP with a bad file keeps the old configuration and names FILE:LINE"

# Back to the original; then a burst of reloads must not stop the milter.
printf 'Syslog no\nLogLevel info\nHeaderName X-MX-Bypass\n' > "$conf"
for _ in $(seq 1 300); do kill -HUP "$MILTER_PID"; done
sleep 1
kill -0 "$MILTER_PID" || fail "milter died under 300 SIGHUPs"
milter_answers || { cat "$T/mt.out"; fail "milter does not answer after 300 SIGHUPs"; }
pass "300 SIGHUPs in a burst: still serving"

kill -USR1 "$MILTER_PID"
sleep 0.3
kill -0 "$MILTER_PID" || fail "milter died on SIGUSR1"
pass "SIGUSR1 does not stop the milter"

stop_milter || fail "exit status non-zero after SIGTERM"
[ ! -e "$T/milter.pid" ] || fail "PID file left behind"
[ ! -e "$SOCK" ] || fail "socket left behind"
pass "SIGTERM: exit 0, PID file and socket removed"

# A SIGHUP the moment the socket appears (an init system reloading early)
# is a reload, never the default action of the signal, which would kill.
for i in 1 2 3 4 5; do
	rm -f "$T/early.sock"
	"$MILTER" -f -c "$conf" -p "unix:$T/early.sock" 2>>"$T/early.log" &
	epid=$!
	PIDS="$PIDS $epid"
	while [ ! -S "$T/early.sock" ] && kill -0 "$epid" 2>/dev/null; do :; done
	kill -HUP "$epid"
	sleep 0.3
	kill -0 "$epid" 2>/dev/null || fail "SIGHUP right after the socket appeared killed the milter (try $i)"
	kill -TERM "$epid"
	wait "$epid" || fail "early SIGHUP: exit status $? after SIGTERM"
done
pass "SIGHUP as soon as the socket exists: still serving (5 tries)"

# Daemon mode: the parent returns once the child serves.
: > "$T/milter.log"
"$MILTER" -l -c "$conf" -p "unix:$T/d.sock" -P "$T/d.pid" 2>>"$T/milter.log" \
	|| fail "daemon start failed"
dpid=$(cat "$T/d.pid")
PIDS="$PIDS $dpid"
[ -S "$T/d.sock" ] || fail "daemon socket missing when the parent returned"
[ "$(ps -o ppid= -p "$dpid" | tr -d ' ')" != "$$" ] || fail "daemon is still our child"
SOCK="$T/d.sock" milter_answers || { cat "$T/mt.out"; fail "daemon does not answer"; }
kill -TERM "$dpid"
wait_for sh -c "! kill -0 $dpid" || fail "daemon did not stop"
pass "daemon mode: detached, serving, stops on SIGTERM"

# Privileges: as root with UserID, the daemon runs as that user and the
# socket belongs to it, mode from UMask.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	printf 'Syslog no\nUserID nobody\nUMask 007\n' > "$T/user.conf"
	start_milter "$T/user.conf"
	# the socket exists a moment before the privileges are dropped
	want="$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)"
	wait_for sh -c "[ \"\$(awk '/^Uid:/ { print \$2 \$3 \$4 \$5 }' /proc/$MILTER_PID/status)\" = $want ]"
	uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$MILTER_PID/status")
	[ "$uid" = "$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)" ] \
		|| fail "daemon runs with uids $uid, not nobody"
	[ "$(stat -c %U "$SOCK")" = nobody ] || fail "socket not owned by nobody"
	[ "$(stat -c %a "$SOCK")" = 770 ] || fail "socket mode $(stat -c %a "$SOCK"), UMask 007 wants 770"
	milter_answers || { cat "$T/mt.out"; fail "unprivileged daemon does not answer"; }
	stop_milter || fail "unprivileged daemon did not stop cleanly"
	pass "UserID: privileges dropped, socket chowned, mode from UMask"

	# UserID that cannot be applied (started as nobody, asked to become
	# postfix): the daemon refuses to start, and says why
	if id postfix >/dev/null 2>&1 && command -v setpriv >/dev/null; then
		mkdir -m 1777 "$T/nb"
		printf 'Syslog no\nUserID postfix\n' > "$T/nb/user.conf"
		setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
			"$MILTER" -f -l -c "$T/nb/user.conf" -p "unix:$T/nb/x.sock" >"$T/nb/out" 2>&1
		rc=$?
		[ $rc != 0 ] && grep -Eq 'fatal: .*cannot (chown|switch)' "$T/nb/out" \
			|| { cat "$T/nb/out"; fail "UserID not applicable: exit $rc"; }
		pass "UserID that cannot be applied: refuses to run (exit $rc, reason logged)"
	fi
else
	echo "# not root: privilege drop not tested"
fi
