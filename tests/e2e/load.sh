#!/bin/bash
# load.sh - the milter under load in a real Postfix: 200 SMTP sessions at
# once with mixed verdicts (bypass, backup, primary, not-mx), a SIGHUP every
# second, then the milter killed with SIGKILL and restarted while mail
# flows. With default_action=accept not one message may be lost: every
# message sent is counted at the primary, and the milter answers after.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/e2e_lib.sh"

e2e_start
d=$(pf_dir backup)/etc
# room for 200 sessions at once
postconf -c "$d" -e default_process_limit=250 smtpd_client_connection_count_limit=0
postfix -c "$d" reload >/dev/null 2>&1
sleep 1

PER=600		# messages per domain; 50 sessions each
total=0
: >"$T/sources"
for dom in live dead primary other; do
	smtp-source -s 50 -m $PER -l 1024 -f load@client.test -t "user@$dom.bypass.test" "$BACKUP" \
		>"$T/source-$dom.out" 2>&1 &
	echo "$! $dom" >>"$T/sources"
	total=$((total + PER))
done

# a reload every second while the first half goes by, then SIGKILL
for i in 1 2 3 4; do
	sleep 1
	kill -HUP "$MILTER_PID"
done
kill -KILL "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
killed_at=$(sink_count "$T/primary")
sleep 1
start_milter "$MILTER_CONF"

while read -r pid dom; do
	wait "$pid" || { cat "$T/source-$dom.out"; fail "smtp-source for $dom failed"; }
done <"$T/sources"
wait_for -t 120 e2e_copies_atleast "$total" \
	|| fail "sent $total, delivered $(sink_count "$T/primary")"
sleep 1
got=$(sink_count "$T/primary")
[ "$got" = "$total" ] || fail "sent $total, delivered $got"
reloads=$(log_count 'config: reloaded')
[ "$reloads" -ge 3 ] || fail "only $reloads reloads logged"
pass "200 sessions, $total messages, $reloads reloads under load, SIGKILL after $killed_at deliveries: $got of $total delivered"

for v in bypass backup primary not-mx; do
	[ "$(log_count "verdict=$v ")" -gt 0 ] || fail "no verdict $v under load"
done
pass "mixed verdicts under load: $(for v in bypass backup primary not-mx; do printf '%s=%s ' $v "$(log_count "verdict=$v ")"; done)"

out=$(e2e_send "$BACKUP" after1 user@live.bypass.test)
grep -qE '^<- +250 .*queued as' <<<"$out" || { echo "$out"; fail "no 250 after the restart"; }
wait_for -t 20 e2e_delivered after1 || fail "after1 not delivered"
[ -n "$(e2e_header after1)" ] || fail "after1: the restarted milter did not tag"
pass "the restarted milter answers and tags"
stop_milter || fail "milter exited non-zero"
