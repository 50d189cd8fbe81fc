#!/bin/bash
# conversation.sh - the milter asks the MTA for the least that still does
# the whole job, per connection and per configuration: no MAIL step when
# the MTA takes macro lists (queue id and {auth_authen} come with RCPT),
# the MAIL step kept for an MTA that does not; RCPT unanswered when
# nothing configured replies to one, answered when Action or ActionMap may
# tempfail or reject; connect unanswered. Each conversation must still
# tag a bypass and exempt an authenticated sender; what an MTA writes
# before it hangs up must still be read.
. "$(dirname "$0")/mx_lib.sh"

require_miltertest
conf="$T/milter.conf"
bypass_up "$conf.base"
grep -v '^ActionMap' "$conf.base" >"$conf"
printf 'Action tag\n' >>"$conf"
start_milter "$conf"

# talk Q MTA WANT [ACTION] - one miltertest conversation (queue ids Q1,
# Q2) that must pass; then the log: Q1's bypass got ACTION, Q2 was exempt
talk() {
	local q=$1 mta=$2 want=$3 action=${4:-}
	"$MILTERTEST" -D sock="$SOCK" -D mta="$mta" -D want="$want" -D q="$q" \
		-D tag="$([ "$action" = log ] || [ "$mta" = ignores ] && echo no || echo yes)" \
		-s "$top_srcdir/tests/integration/conversation.lua" >"$T/mt.$q" 2>&1
	[ -z "$action" ] || check_decisions "$q" "$mta" "$want" "$action"
}
# check_decisions Q MTA WANT ACTION - it passed, and both were decided
check_decisions() {
	grep -qx 'conversation.lua: passed' "$T/mt.$1" \
		|| { cat "$T/mt.$1"; tail -n 20 "$T/milter.log"; fail "$2: miltertest: $3"; }
	logged milter "${1}1" live.bypass.test "client=192.0.2.7 verdict=bypass action=$4 rank=20 better=up.bypass.test reachable=up.bypass.test reason=better-mx-reachable"
	logged milter "${1}2" live.bypass.test "client=192.0.2.7 verdict=exempt action=accept reason=authenticated"
}
# replied Q ACTION - conversation Q's RCPT of live.bypass.test was answered
# with a reply code (the script wanted continue: it says what it got), and
# the log gives ACTION for it
replied() {
	grep -q 'user@live.bypass.test: reply 121.0, expected 99' "$T/mt.$1" \
		|| { cat "$T/mt.$1"; fail "$2: RCPT not answered with a reply code"; }
	logged milter "${1}1" live.bypass.test "client=192.0.2.7 verdict=bypass action=$2 rank=20 better=up.bypass.test reachable=up.bypass.test reason=better-mx-reachable"
}
# set_conf KEY VALUE... - rewrite keys ("-": remove) and reload
set_conf() {
	while [ $# -gt 1 ]; do
		grep -v "^$1 " "$conf" >"$conf.new" || true
		[ "$2" = - ] || echo "$1 $2" >>"$conf.new"
		mv "$conf.new" "$conf"
		shift 2
	done
	reload milter || fail "no reload"
}

talk A lists "+NOMAIL,-NR_MAIL,+NR_RCPT,+NR_HDR,+NR_CONN,-NOHDRS,-NORCPT" tag
pass "an MTA with macro lists, Action tag: no MAIL step; connect, RCPT and headers unanswered; tagged, {auth_authen} read at RCPT"

talk B nolists "-NOMAIL,+NR_MAIL,+NR_RCPT,+NR_HDR,+NR_CONN" tag
pass "an MTA without macro lists: the MAIL step kept, unanswered, for the queue id and {auth_authen}; tagged and exempt as before"

# an MTA that owes nothing a reply writes a session's last commands and
# closes at once (a client that quits after RCPT; or, with no RCPT, a
# session whose recipients the MTA deferred itself): the milter reads
# them all, the connect (the witness) and every recipient
totals milter
w0=$(field "$TOTALS" witnesses)
python3 "$top_srcdir/tests/tools/milter_hangup.py" "$SOCK" 192.0.2.8 K1 user@live.bypass.test \
	user@live2.bypass.test user@other.bypass.test >"$T/hangup.out" || fail "milter_hangup.py"
wait_for log_count_above 'K1: rcpt-domain=' 2 \
	|| { grep 'K1:' "$T/milter.log"; fail "a session that hung up at once: not every recipient decided"; }
logged milter K1 live2.bypass.test "client=192.0.2.8 verdict=bypass action=tag rank=20 better=up.bypass.test reachable=up.bypass.test reason=better-mx-reachable"
logged milter K1 other.bypass.test "client=192.0.2.8 verdict=not-mx action=accept reason=not-listed"
python3 "$top_srcdir/tests/tools/milter_hangup.py" "$SOCK" 192.0.2.9 K2 >"$T/hangup.out" || fail "milter_hangup.py"
wait_for -t 5 eval '[ "$(totals milter; field "$TOTALS" witnesses)" -ge $((w0 + 2)) ]' \
	|| fail "witnesses: $w0 before, $(field "$TOTALS" witnesses) after two sessions that hung up at once"
pass "an MTA that writes its last commands and hangs up at once (unix socket): every recipient decided, both connections seen as witnesses"

set_conf Action log
talk D lists "+NOMAIL,+NR_RCPT,+NR_CONN" log
pass "Action log: RCPT unanswered"

# a configuration that may reply at RCPT: the reply comes back (the script
# wants continue, so it stops there, saying what it got)
printf 'live.bypass.test reject\n' >"$T/actions.tag"
set_conf Action tag ActionMap "$T/actions.tag"
talk E lists "+NOMAIL,-NR_RCPT"
replied E reject
pass "Action tag with one ActionMap entry that rejects: RCPT answered with the reply"

set_conf ActionMap - Action tempfail
talk F nolists "-NOMAIL,+NR_MAIL,-NR_RCPT"
replied F tempfail
pass "Action tempfail (an MTA without lists): RCPT answered with the reply"

# an MTA that takes the lists and sends its own: {auth_authen} cannot be
# read, so nothing is done but the log line
set_conf ActionMap - Action tag
talk G ignores "+NOMAIL,+NR_RCPT"
grep -qx 'conversation.lua: passed' "$T/mt.G" || { cat "$T/mt.G"; fail "ignores: miltertest"; }
for m in G1 G2; do
	logged milter $m live.bypass.test "client=192.0.2.7 verdict=bypass action=log rank=20 better=up.bypass.test reachable=up.bypass.test reason=better-mx-reachable"
done
[ "$(log_count 'warning: milter: the MTA took the macro lists but did not send')" = 1 ] \
	|| fail "ignored lists: no warning, or more than one"
talk H lists "+NOMAIL,+NR_RCPT" tag
pass "an MTA that takes the macro lists and ignores them: bypasses only logged (an authenticated sender cannot be told), one warning; the next MTA connection is served as before"

# RCPT unanswered, the MTA waits for every decision at end of message:
# the recipients of a message share one DecisionTimeout. Two primaries
# that each hold a probe for ProbeTimeout (1000 ms): the second decision
# is cut at the message's deadline (1300 ms), not given one of its own.
set_conf DecisionTimeout 1300
cat >"$T/slow.lua" <<-LUA
	dofile("$top_srcdir/tests/integration/mt_lib.lua")
	run_script("slow.lua", function()
		local conn = connect_from("192.0.2.7", "127.0.0.30", "backup.bypass.test")
		check(mt.test_option(conn, SMFIP_NR_RCPT), "RCPT answered")
		mail_from(conn, "S1")
		rcpt_to(conn, "S1", "user@tarpit.bypass.test", SMFIR_CONTINUE)
		rcpt_to(conn, "S1", "user@synhole.bypass.test", SMFIR_CONTINUE)
		check(mt.eom(conn) == nil, "mt.eom() failed")
		check(mt.getreply(conn) == SMFIR_CONTINUE, "EOM: expected continue")
		mt.disconnect(conn)
	end)
LUA
t0=$(now_ms)
"$MILTERTEST" -D sock="$SOCK" -s "$T/slow.lua" >"$T/mt.S" 2>&1 || { cat "$T/mt.S"; fail "slow.lua"; }
t1=$(now_ms)
[ $((t1 - t0)) -ge 1200 ] && [ $((t1 - t0)) -lt 1800 ] \
	|| fail "two slow recipients: end of message after $((t1 - t0)) ms, expected about 1300"
logged milter S1 tarpit.bypass.test "client=192.0.2.7 verdict=backup action=accept rank=20 better=tarpit.bypass.test reason=better-mx-unreachable"
log_has 'S1: rcpt-domain=synhole\.bypass\.test client=192\.0\.2\.7 verdict=error .*reason=probe-unfinished$' \
	|| { grep 'S1: ' "$T/milter.log"; fail "the second recipient was not cut at the message's deadline"; }
pass "RCPT unanswered: a message's recipients share one DecisionTimeout (end of message after $((t1 - t0)) ms, not 2000)"
set_conf DecisionTimeout -

! log_has 'error:' || fail "errors logged: $(grep 'error:' "$T/milter.log" | head -3)"
pass "no error logged"
