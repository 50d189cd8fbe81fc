#!/bin/bash
# pool.sh - the shared store going away under mail and coming back: the
# milter in a real Postfix backup MX with StateBackend redis against a
# real redis-server. Mail flows without a pause (four recipients a
# message: three bypassing domains and one backup delivery) while Redis is
# killed with SIGKILL and, a while later, started again. Not one message
# may be lost or left undecided: every message sent is counted at the
# primary with its header, every recipient has its verdict line, the
# change of state is logged once each way, and the statistics count one
# outage and a store that is up again.
#
# Knob: POOL_PHASE (100), messages sent before the kill, during the
# outage, and after Redis answers again.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/e2e_lib.sh"
. "$(dirname "$0")/../integration/redis_lib.sh"

PHASE=${POOL_PHASE:-100}
DOMAINS="live live2 mixed dead"
RCPTS=$(for d in $DOMAINS; do printf 'user@%s.bypass.test,' "$d"; done)
RCPTS=${RCPTS%,}
AWAY='store: redis [^ ]+ is away \('
BACK='store: redis [^ ]+ answers again after [0-9.]+ s: sharing resumes'

require_postfix
grep -q '^#define HAVE_HIREDIS 1' "$top_builddir/autoconfig.h" 2>/dev/null \
	|| skip "this build has no Redis support"
start_redis
e2e_start "StateBackend redis" "RedisServer 127.0.0.1:$REDIS_PORT" "Action tag"
wait_log "store: redis 127.0.0.1:$REDIS_PORT: sharing" || fail "the milter did not connect to Redis"

# send_loop ID - messages one after another until $T/stop exists; the
# tag of each accepted one goes to $T/sent.ID, of any other to $T/failed
send_loop() {
	local i=0 tag out
	while [ -d "$T" ] && [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		tag=m$1-$i
		out=$(e2e_send "$BACKUP" "$tag" "$RCPTS")
		if grep -qE '^<- +250 .*queued as' <<<"$out"; then
			echo "$tag" >>"$T/sent.$1"
		else
			echo "$tag" >>"$T/failed"
			printf '== %s\n%s\n' "$tag" "$out" >>"$T/failed.out"
		fi
	done
}
sent() { cat "$T"/sent.* 2>/dev/null | wc -l; }
sent_atleast() { [ "$(sent)" -ge "$1" ]; }
# wait_ms T0 SECS PATTERN - wait for a log line; print the milliseconds
# from T0 (now_ms) until it was there
wait_ms() {
	local t0=$1 end=$(($1 + $2 * 1000))
	until log_has "$3"; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.05
	done
	echo $(( $(now_ms) - t0 ))
}
stop_senders() {
	touch "$T/stop"
	wait "$S1" "$S2" 2>/dev/null
}
trap 'touch "$T/stop"; pf_cleanup; cleanup' EXIT

send_loop 1 &
S1=$!
send_loop 2 &
S2=$!
PIDS="$PIDS $S1 $S2"

wait_for -t 120 sent_atleast "$PHASE" || { stop_senders; fail "only $(sent) messages sent in 120 s"; }
t0=$(now_ms)
kill_redis
at_kill=$(sent)
away_ms=$(wait_ms "$t0" 10 "$AWAY") || { stop_senders; fail "no 'is away' line 10 s after the kill"; }
at_away=$(sent)
wait_for -t 120 sent_atleast $((at_away + PHASE)) || { stop_senders; fail "mail stalled while Redis was away"; }
t0=$(now_ms)
restart_redis
at_restart=$(sent)
back_ms=$(wait_ms "$t0" 20 "$BACK") || { stop_senders; fail "no 'answers again' line 20 s after the restart"; }
at_back=$(sent)
wait_for -t 120 sent_atleast $((at_back + PHASE)) || { stop_senders; fail "mail stalled after Redis came back"; }
stop_senders
total=$(sent)
failed=0
[ ! -e "$T/failed" ] || failed=$(wc -l <"$T/failed")
[ "$failed" = 0 ] || { head -n 60 "$T/failed.out"; fail "$failed messages not accepted"; }
pass "sent $total messages of 4 recipients: $at_kill before the kill, $((at_restart - at_kill)) while Redis was down, $((at_back - at_restart)) between its restart and the milter's reconnect, $((total - at_back)) after"

# every message at the primary, tagged for its three bypassing domains
# delivered_tags - the tags of the messages the primary received
delivered_tags() { grep -ho 'end-of-m[0-9]*-[0-9]*$' "$T/primary"/* 2>/dev/null | sed 's/^end-of-//' | sort -u; }
# tags_delivered_atleast N - N of them or more
tags_delivered_atleast() { [ "$(delivered_tags | wc -l)" -ge "$1" ]; }
wait_for -t 120 tags_delivered_atleast "$total"
sleep 1
got=$(delivered_tags | wc -l)
missing=$(cat "$T"/sent.* | sort | comm -23 - <(delivered_tags) | head -n 5 | tr '\n' ' ')
[ "$got" = "$total" ] && [ -z "$missing" ] \
	|| fail "sent $total, delivered $got (missing: ${missing:-none})"
copies=$(sink_count "$T/primary")
[ "$copies" = "$total" ] || fail "sent $total, the primary holds $copies copies"
tagged=0
for f in "$T/primary"/*; do
	h=$(bypass_headers "$f")
	case $h in
	*"domain=live.bypass.test;"*"domain=live2.bypass.test;"*"domain=mixed.bypass.test;"*)
		tagged=$((tagged + 1)) ;;
	esac
done
[ "$tagged" = "$total" ] || fail "$tagged of $total delivered copies name the three bypassing domains"
pass "delivered $got of $total, each tagged for live, live2 and mixed"

# every recipient decided, none in error
L="client=$E2E_CLIENT verdict="
for d in live live2 mixed; do
	n=$(log_count ": rcpt-domain=$d.bypass.test ${L}bypass action=tag ")
	[ "$n" = "$total" ] || fail "$d.bypass.test: $n bypass lines for $total messages"
done
n=$(log_count ": rcpt-domain=dead.bypass.test ${L}backup action=accept ")
[ "$n" = "$total" ] || fail "dead.bypass.test: $n backup lines for $total messages"
all=$(log_count ": rcpt-domain=[^ ]+ $L")
[ "$all" = $((4 * total)) ] || fail "$all verdict lines for $((4 * total)) recipients"
[ "$(log_count 'verdict=error')" = 0 ] || fail "verdict error: $(grep -m1 'verdict=error' "$T/milter.log")"
pass "$all verdict lines for $((4 * total)) recipients: bypass/tag for live, live2, mixed, backup for dead, no error"

# each change of state said once
sleep 2
[ "$(log_count "$AWAY")" = 1 ] || fail "$(log_count "$AWAY") 'is away' lines"
[ "$(log_count "$BACK")" = 1 ] || fail "$(log_count "$BACK") 'answers again' lines"
away_line=$(grep -Eo "${AWAY}[^)]*\)" "$T/milter.log")
said=$(grep -Eo 'answers again after [0-9.]+ s' "$T/milter.log" | grep -Eo '[0-9.]+')
pass "one 'is away' line $away_ms ms after the kill [${away_line#store: }], one 'answers again' line $back_ms ms after the restart (away $said s by the milter's count)"

# the pool's memory is fed again: counters written to the new, empty
# server, as -S reads them
pool_line() { "$MILTER" -c "$MILTER_CONF" -S 2>&1; }
pool_fed() { pool_line | grep -Eq '^stats: pool .*milters=1 rcpts=[1-9]'; }
wait_for -t 5 pool_fed || fail "no counters in the restarted Redis: $(pool_line)"
pass "counters in the restarted Redis: $(pool_line | grep -Eo 'milters=[0-9]+ rcpts=[0-9]+')"

totals milter
line=$TOTALS
[ "$(field "$line" store)" = up ] || fail "stats: store=$(field "$line" store): $line"
[ "$(field "$line" store-down)" = 1 ] || fail "stats: store-down=$(field "$line" store-down): $line"
[ "$(field "$line" store-local)" -gt 0 ] 2>/dev/null || fail "stats: nothing answered locally during the outage: $line"
pass "stats: store=up store-down=1 store-local=$(field "$line" store-local) probe-shared=$(field "$line" probe-shared) rcpts=$(field "$line" rcpts)"

stop_milter || fail "milter exited non-zero"
! log_has 'ERROR: (Address|Leak)Sanitizer|runtime error:' || fail "sanitizer: $(grep -Em1 'Sanitizer|runtime error:' "$T/milter.log")"
pass "clean stop"
