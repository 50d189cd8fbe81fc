#!/bin/bash
# sendmail.sh - the milter inside a real Sendmail that is the backup MX of
# zones/bypass.test (backup.bypass.test, 127.0.0.30), with NSD for DNS and
# smtp-sink as the primary (up.bypass.test, 127.0.0.21), driven by swaks:
# (1) a sender that skips the live primary is tagged, tempfailed or rejected;
# (2) while the primary is down, mail is accepted untagged, queued, and
# delivered untagged once the primary is back; (3) mail straight to the
# primary, or for a domain this host is the primary of, stays untagged.
#
# Sendmail needs a fully qualified host name and port 25, so the test runs
# in namespaces of its own (sendmail_lib.sh): every server listens on port
# 25 of its loopback address, as real MX hosts do, and the milter probes 25.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/sendmail_lib.sh"

# Outside: download what is missing (the namespace has no network), then run
# this script again inside.
sm_reenter sm_require sm_fetch SM_WHY "$0" "$@"

. "$(dirname "$0")/../integration/smtp_lib.sh"
. "$(dirname "$0")/../integration/dns_lib.sh"
. "$(dirname "$0")/../integration/mx_lib.sh"

[ -x "$MILTER" ] || fail "$MILTER not built"
sm_namespace_setup
sm_unpack

PRIMARY=127.0.0.21
BACKUP=127.0.0.30
# not in TrustedNetworks (10.9.9.0/24) and not an MX host of any domain
CLIENT=127.0.0.50
SINK="$T/sink"
conf="$T/milter.conf"

start_nsd
# start_sink sets SINK_PID (the sink is stopped in scenario 2)
start_sink "$PRIMARY:25" "$SINK"

PROBE_PORT=25
bypass_conf "$conf"
sed -i '/^RetryAfter /d' "$conf"
cat >>"$conf" <<-EOF
# debug: the connect line shows the local address Sendmail sent
LogLevel debug
# a primary stopped or started is seen within a second
ProbeTTLUp 1
ProbeTTLDown 1
# every tempfail here is final (no retry-then-accept)
RetryAfter 0
Action tag
EOF
start_milter "$conf"

sm_config "$BACKUP" "$PRIMARY" "$SOCK" live.bypass.test dead.bypass.test primary.bypass.test
sm_start

# failure reports carry what every party said
report() {
	echo "--- milter log" >&2
	tail -n 40 "$T/milter.log" >&2
	sm_show_logs
	fail "$@"
}

# send TAG SERVER RCPTS [SWAKS_ARGS...] - send_tagged from $CLIENT to port 25
# of SERVER; swaks' transcript goes to $T/swaks-TAG.out; returns swaks' status
send() {
	send_tagged "$2:25" "$1" "$3" --local-interface "$CLIENT" "${@:4}" >"$T/swaks-$1.out"
}

# send_ok TAG SERVER RCPTS [SWAKS_ARGS...] - send, and the message was accepted
send_ok() {
	send "$@" || { cat "$T/swaks-$1.out" >&2; report "swaks could not send message $1"; }
}

# swaks_has TAG LINE - swaks' transcript of TAG has this line, exactly
swaks_has() { grep -qxF -- "$2" "$T/swaks-$1.out"; }

# delivered TAG - wait until the primary saved message TAG whole (its last
# line is there); sets FILE to the saved copy
delivered() {
	wait_for -t 30 sink_copy "$SINK" "$1" || report "message $1 did not reach the primary"
	FILE=$(sink_copy "$SINK" "$1")
}

# untagged TAG - the saved copy of TAG carries no X-MX-Bypass header
untagged() {
	! bypass_headers "$FILE" >/dev/null || { cat "$FILE" >&2; report "message $1 was delivered with an X-MX-Bypass header"; }
}

# rcpts FILE - the envelope recipients the primary was given, one a line
rcpts() { sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' "$1"; }

# via_backup TAG - the saved copy of TAG went through Sendmail, from $CLIENT
via_backup() {
	grep -qF "from client.test ([$CLIENT])" "$FILE" && grep -qF "by $SM_NAME" "$FILE" \
		|| { cat "$FILE" >&2; report "message $1 did not come through Sendmail"; }
}

# mark; new_log - the milter log lines written since the mark
mark() { MARK=$(wc -l <"$T/milter.log"); }
new_log() { tail -n +"$((MARK + 1))" "$T/milter.log"; }
new_log_has() { new_log | grep -Eq -- "$1"; }

# new_verdict LINE - since the mark, the milter logged this recipient line
# (everything after the queue id), exactly
new_verdict() {
	new_log | sed 's/^.*: rcpt-domain=/rcpt-domain=/' | grep -qxF -- "$1"
}

# verdict_logged LINE - wait for new_verdict LINE (it is written at RCPT,
# so it is there by the time swaks returns; the wait is for stderr buffers)
verdict_logged() {
	wait_for new_verdict "$1" || report "milter did not log [$1]"
}

# set_action ACTION - rewrite Action, SIGHUP, wait for the reload
set_action() {
	sed -i "s/^Action .*/Action $1/" "$conf"
	reload milter || report "milter did not reload its configuration (Action $1)"
}

LIVE="rcpt-domain=live.bypass.test client=$CLIENT"
BETTER="rank=20 better=up.bypass.test"
HEADER="X-MX-Bypass: bypass; domain=live.bypass.test; via=backup.bypass.test (pref 20); reachable=up.bypass.test (pref 10)"

# (1) the primary is up and the sender came to the backup: bypass
mark
send_ok s1 "$BACKUP" rcpt-s1@live.bypass.test
delivered s1
via_backup s1
[ "$(bypass_headers "$FILE")" = "$HEADER" ] || { cat "$FILE" >&2; report "message s1: expected exactly [$HEADER]"; }
pass "tag: the copy the primary got carries [$HEADER]"
# Sendmail sends the queue id with MAIL: the line already carries it
qid=$(sed -n 's/^<-  250 2\.0\.0 \([^ ]*\) Message accepted for delivery$/\1/p' "$T/swaks-s1.out")
[ -n "$qid" ] || report "no queue id in Sendmail's answer to s1"
verdict_logged "$LIVE verdict=bypass action=tag $BETTER reachable=up.bypass.test reason=better-mx-reachable"
new_log | grep -qF "$qid: rcpt-domain=live.bypass.test " || report "the verdict line of s1 is not tagged with queue id $qid"
pass "tag: milter logged verdict=bypass rank=20 under Sendmail's queue id $qid"
# rank=20 needs the local address: Sendmail sends no {if_addr} for
# loopback, so it came from {daemon_addr} (the milter's symbol list)
new_log | grep -qE "conn[0-9]+: connect from .*\[$CLIENT\] to $BACKUP$" \
	|| report "milter did not see the connection from $CLIENT to $BACKUP"
pass "tag: milter got the local address $BACKUP from Sendmail"

# Forged copies of the header (any case) are removed, the milter's own
# stays: Sendmail counts the index of smfi_chgheader per header name.
mark
send_ok s1f "$BACKUP" rcpt-s1f@live.bypass.test \
	--add-header "X-MX-Bypass: bypass; forged 1" --add-header "x-mx-bypass: bypass; forged 2"
delivered s1f
[ "$(bypass_headers "$FILE")" = "$HEADER" ] || { cat "$FILE" >&2; report "message s1f: expected only [$HEADER]"; }
wait_for new_log_has ": removed 2 incoming X-MX-Bypass header" || report "milter did not log the removal"
pass "tag: two forged X-MX-Bypass headers are replaced by the milter's"

# tempfail: only that recipient, the other one of the message goes through
set_action tempfail
mark
send_ok s1t "$BACKUP" rcpt-s1t@live.bypass.test,rcpt-s1t@primary.bypass.test
swaks_has s1t "<** 451 4.7.1 Please deliver to the primary MX host of this domain" \
	|| { cat "$T/swaks-s1t.out" >&2; report "tempfail: no 451 4.7.1 for rcpt-s1t@live.bypass.test"; }
delivered s1t
[ "$(rcpts "$FILE")" = "rcpt-s1t@primary.bypass.test" ] \
	|| { cat "$FILE" >&2; report "tempfail: the primary got other recipients than rcpt-s1t@primary.bypass.test"; }
untagged s1t
verdict_logged "$LIVE verdict=bypass action=tempfail $BETTER reachable=up.bypass.test reason=better-mx-reachable"
pass "tempfail: 451 4.7.1 for the bypassing recipient only, logged action=tempfail"

# reject
set_action reject
mark
send s1r "$BACKUP" rcpt-s1r@live.bypass.test
# Sendmail puts the address before the milter's text of a 5xx (not of a 4xx)
swaks_has s1r "<** 550 5.7.1 <rcpt-s1r@live.bypass.test>... Please deliver to the primary MX host of this domain" \
	|| { cat "$T/swaks-s1r.out" >&2; report "reject: no 550 5.7.1 for rcpt-s1r@live.bypass.test"; }
verdict_logged "$LIVE verdict=bypass action=reject $BETTER reachable=up.bypass.test reason=better-mx-reachable"
pass "reject: 550 5.7.1, logged action=reject"

# (2) the primary is down: a legitimate backup delivery, queued untagged
set_action tag
kill "$SINK_PID"
wait_for -t 10 tcp_closed "$PRIMARY:25" || report "smtp-sink did not stop"
# The probe result of the live primary is kept ProbeTTLUp (1 s): only a
# probe made after that sees it down.
sleep 1.1
mark
send_ok s2 "$BACKUP" rcpt-s2@live.bypass.test
verdict_logged "$LIVE verdict=backup action=accept $BETTER reason=better-mx-unreachable"
pass "primary down: accepted, logged verdict=backup"
wait_for -t 30 sm_queue_has "rcpt-s2@live\.bypass\.test" || report "message s2 is not in Sendmail's queue"
wait_for -t 30 sm_queue_has "Deferred: Connection refused by \[$PRIMARY\]" \
	|| { sm_queue >&2; report "message s2 was not deferred"; }
pass "primary down: message queued by Sendmail (connection refused)"

start_sink "$PRIMARY:25" "$SINK"
# a queue run skips a message its first delivery attempt still locks
run_queue_delivered() { sm_run_queue; sink_copy "$SINK" s2; }
wait_for -t 30 run_queue_delivered || { sm_queue >&2; report "queue run did not deliver s2"; }
delivered s2
via_backup s2
untagged s2
sm_queue_has "is empty" || { sm_queue >&2; report "Sendmail's queue is not empty after the queue run"; }
pass "primary back: the queued message was delivered untagged"

# The better MX refuses connections (dead.bypass.test: nothing on .22).
mark
send_ok s2d "$BACKUP" rcpt-s2d@dead.bypass.test
verdict_logged "rcpt-domain=dead.bypass.test client=$CLIENT verdict=backup action=accept rank=20 better=down.bypass.test reason=better-mx-unreachable"
delivered s2d
untagged s2d
pass "better MX refusing connections: verdict=backup, delivered untagged"

# (3) straight to the primary: the milter is not involved, nothing is added
mark
send_ok s3 "$PRIMARY" rcpt-s3@live.bypass.test
delivered s3
grep -qx "X-Client-Addr: $CLIENT" "$FILE" || { cat "$FILE" >&2; report "message s3 did not come straight from $CLIENT"; }
untagged s3
new_log | grep -q 'rcpt-domain=' && report "the milter saw mail sent straight to the primary"
pass "sender at the primary: delivered untagged"

# This host is the best MX of primary.bypass.test; a forged header goes.
mark
send_ok s3p "$BACKUP" rcpt-s3p@primary.bypass.test --add-header "X-MX-Bypass: bypass; forged"
delivered s3p
via_backup s3p
untagged s3p
verdict_logged "rcpt-domain=primary.bypass.test client=$CLIENT verdict=primary action=accept rank=10 reason=lowest-preference"
pass "domain whose primary is this host: verdict=primary, delivered untagged (forged header removed)"

sm_stop
stop_milter || fail "milter did not exit cleanly"
pass "Sendmail and the milter stopped"
