#!/bin/bash
# senders.sh - real sending MTAs come to the backup MX while the primary is
# up, for the reasons real MTAs have: the primary greylisted them at RCPT
# (postgrey), answered 4xx after DATA, refused them (stopped), refused them
# a while ago (Exim then skips it for its retry time), or went down after
# the backup's milter saw it up. A real Postfix and a real Exim resolve
# fallback.test through NSD and deliver by their own MX logic; mx1 and mx2
# are real Postfix instances, mx2 with the milter (senders_lib.sh has the
# topology). Ratware goes straight to mx2 with swaks.
#
# Each legitimate scenario runs for each sender and with Action tag,
# reject and tempfail, in two modes: POOL (mx1 runs the milter too, both
# milters share one Redis: mx1's witnesses reach mx2) and NO POOL (only mx2
# runs it, memory store). Ratware runs with each Action in both modes; NO
# POOL greylisting also with Action tempfail and RetryAfter 3, waited for
# until delivered. Every run starts from scratch: fresh Postfix queues and
# logs, a fresh Exim spool (queue and retry database), fresh milters (their
# caches), a Redis key space of its own, a fresh postgrey. The test prints a
# line per run (a line per message), the totals, and asserts, first that
# each scenario did what it says (the 4xx or refusal each sender met at mx1,
# Exim skipping mx1 from its retry database), then: no legitimate fallback
# tagged, tempfailed or rejected in POOL mode, nor in NO POOL mode after an
# outage; greylisting with tempfail and RetryAfter ends delivered; every
# ratware message caught; every milter stopped with exit 0. Without a pool,
# greylist and defer-after-data are expected to be accused (nothing tells
# mx2 that the sender tried mx1): printed and counted apart, not asserted.
#
# Knobs: SENDERS_MODES ("POOL NOPOOL"), SENDERS_SENDERS ("postfix exim"),
# SENDERS_SCENARIOS ("greylist defer-after-data outage recent-outage
# outage-after-probe"), SENDERS_ACTIONS ("tag reject tempfail"),
# SENDERS_LOGLEVEL (the milters' LogLevel, info), SENDERS_TRACE (1: the
# seconds of each run; x: a shell trace with times). KEEP_TMP=1 keeps every
# run's logs, configurations and copies in $T/runs.

# shellcheck disable=SC1091,SC2016,SC2154  # libraries and top_builddir come at run time; awk programs
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/senders_lib.sh"

# Outside: download and install what is missing (the namespace has no
# network), then run this script again inside.
sm_reenter sx_require sx_fetch SX_WHY "$0" "$@"

. "$(dirname "$0")/../integration/postfix_lib.sh"
. "$(dirname "$0")/../integration/dns_lib.sh"
. "$(dirname "$0")/../integration/redis_lib.sh"

[ "${SENDERS_TRACE:-}" = x ] && { PS4='+ $EPOCHREALTIME '; set -x; }
[ -x "$MILTER" ] || fail "$MILTER not built"
T0=$SECONDS

MODES=${SENDERS_MODES:-POOL NOPOOL}
SENDERS=${SENDERS_SENDERS:-postfix exim}
SCENARIOS=${SENDERS_SCENARIOS:-greylist defer-after-data outage recent-outage outage-after-probe}
ACTIONS=${SENDERS_ACTIONS:-tag reject tempfail}
# ProbeConfirm in the milters' configuration, and a little more
CONFIRM_WAIT=3
# greylisting: long enough that no retry gets through, except in the
# tempfail run, where it is short (the sender must get through in the end)
PG_DELAY=60
PG_DELAY_RETRY=5

sx_namespace_setup
trap 'sx_run_end >/dev/null 2>&1; pf_cleanup; cleanup' EXIT

# What this build of the milter knows of the new evidence
SX_HAVE_WITNESS="" SX_HAVE_RECENTDOWN="" SX_HAVE_CONFIRM=""
sx_milter_supports WitnessWindow 600 && SX_HAVE_WITNESS=1
sx_milter_supports RecentDownWindow 1800 && SX_HAVE_RECENTDOWN=1
sx_milter_supports ProbeConfirm 30 && SX_HAVE_CONFIRM=1
HAVE_REDIS=""
grep -q '^#define HAVE_HIREDIS 1' "$top_builddir/autoconfig.h" 2>/dev/null && HAVE_REDIS=1
echo "# milter: $MILTER ($("$MILTER" -V 2>&1 | head -n 1))"
yn() { if [ -n "$1" ]; then echo yes; else echo no; fi; }
echo "# keys: WitnessWindow=$(yn "$SX_HAVE_WITNESS") RecentDownWindow=$(yn "$SX_HAVE_RECENTDOWN")" \
	"ProbeConfirm=$(yn "$SX_HAVE_CONFIRM") redis=$(yn "$HAVE_REDIS")"

sx_exim_unpack
echo "# senders: Postfix $(postconf -d -h mail_version), Exim $SX_EXIM_VERSION (unpacked), postgrey $(postgrey --version 2>&1 | sed -n 's/.*postgrey \([0-9.]*\).*/\1/p' | head -n 1)"
sx_start_nsd
start_sink "$SX_SINK1:25" "$T/sink-mx1"
start_sink "$SX_SINK2:25" "$T/sink-mx2"
if [ -n "$HAVE_REDIS" ]; then
	start_redis
else
	MODES=$(for m in $MODES; do [ "$m" = POOL ] || echo "$m"; done | xargs)
	echo "# this build has no Redis support: POOL mode skipped"
fi

sx_postfix_setup

RESULTS="$T/results"
: >"$RESULTS"
# fields of $RESULTS, one message a line:
#  1 mode  2 action  3 sender  4 scenario  5 label (A, B legitimate; R ratware)
#  6 kind (legit|ratware)  7 what the sender met at mx1  8 where it went
#  9 tagged  10 mx2 milter  11 mx1 milter  12 extra (seconds to delivery)
# 13 witness: the pool's Redis holds one for the sender's /24 at mx1 (POOL)
FMT='  %-6s %-8s %-7s %-18s %-3s %-18s %-14s %-4s %-37s %s\n'

# client_of KIND - the address the message came to the MX hosts from
client_of() {
	if [ "$1" = ratware ]; then echo "$SX_RAT_ADDR"
	elif [ "$SENDER" = exim ]; then echo "$SX_EXIM_ADDR"
	else echo "$SX_PF_ADDR"
	fi
}

# record LABEL KIND - one message's result (SX_MX1_MET, SX_WHERE, SX_TAGGED,
# the milters' verdicts since the mark) in $RESULTS and as a line of the matrix
record() {
	local client v2 v1 first witness
	client=$(client_of "$2")
	v2=$(sx_verdicts "$client" mx2)
	v1=$(sx_verdicts "$client" mx1)
	witness=-
	if [ "$MODE" = POOL ]; then
		witness=no
		redis_cli --scan --pattern "mxb-$RUN_ID:witness:*" 2>/dev/null \
			| grep -qE "^mxb-$RUN_ID:witness:${client%.*}\.0[^:]*:$SX_MX1\$" && witness=yes
	fi
	# mx1's column: the witness (POOL), then its verdicts (primary: accept)
	v1=${v1//\/accept/}
	[ "$witness" != - ] && [ "$2" = legit ] && v1="witness=$witness${v1:+ $v1}"
	printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$MODE" "$ACTION" "$SENDER" "$SCENARIO" \
		"$1" "$2" "${SX_MX1_MET:--}" "$SX_WHERE" "$SX_TAGGED" "${v2:--}" "${v1:--}" "${EXTRA:-}" \
		"$witness" >>"$RESULTS"
	first=$(awk -F'|' -v m="$MODE" -v a="$ACTION" -v s="$SENDER" -v c="$SCENARIO" \
		'$1 == m && $2 == a && $3 == s && $4 == c { n++ } END { print n + 0 }' "$RESULTS")
	if [ "$first" = 1 ]; then
		# shellcheck disable=SC2059
		printf "$FMT" "$MODE" "$ACTION" "$SENDER" "$SCENARIO" "$1" "${SX_MX1_MET:--}" \
			"$SX_WHERE${EXTRA:+ ($EXTRA)}" "$SX_TAGGED" "${v1:--}" "${v2:--}"
	else
		# shellcheck disable=SC2059
		printf "$FMT" "" "" "" "" "$1" "${SX_MX1_MET:--}" "$SX_WHERE${EXTRA:+ ($EXTRA)}" \
			"$SX_TAGGED" "${v1:--}" "${v2:--}"
	fi
	[ "$SX_WHERE" = lost ] && { show_run; fail "$RUN_ID $SENDER $SCENARIO: message $1 was lost"; }
	EXTRA=""
	return 0
}

# show_run - the logs of the run, for a failure
show_run() {
	local f
	for f in "$RUN"/*.log "$RUN"/*.maillog "$RUN"/exim/log/mainlog "$RUN"/*.out; do
		[ -s "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
	done >&2
}

# legit LABEL [SECS FINAL] - the run's sender sends a message; the test
# waits until the sender is done with it (with FINAL: until it is delivered
# or bounced, up to SECS) and records it
legit() {
	local tag="$RUN_ID-$1" t0
	t0=$(now_ms)
	sx_mark
	case $SENDER in
	postfix)
		sx_pf_submit "$tag"
		sx_pf_outcome "$tag" "$SX_QID" "${2:-30}" "${3:-}"
		SX_MX1_MET=$(sx_pf_mx1 "$SX_QID")
		;;
	exim)
		sx_exim_submit "$tag"
		if [ -n "${3:-}" ]; then
			# a forced queue run a second: time passes faster here
			# than the retry rule's 15 minutes
			while [ $(( $(now_ms) - t0 )) -lt $(( $2 * 1000 )) ]; do
				case $(sx_exim_status "$SX_EXIM_ID") in delivered|bounced) break ;; esac
				sleep 1
				sx_exim -qf >>"$RUN/queue-runs.out" 2>&1
			done
		fi
		sx_exim_outcome "$tag" "$SX_EXIM_ID"
		SX_MX1_MET=$(sx_exim_mx1 "$SX_EXIM_ID")
		# Exim skips a host it failed to reach before its retry time
		if [ -z "$SX_MX1_MET" ] && grep -q "T:mx1\.$SX_DOMAIN:$SX_MX1" "$RUN/retrydb-$1" 2>/dev/null; then
			SX_MX1_MET=not-tried,retry-db
		fi
		;;
	esac
	[ -n "$SX_MX1_MET" ] || SX_MX1_MET=not-tried
	[ -n "${3:-}" ] && EXTRA=$(awk -v ms=$(( $(now_ms) - t0 )) 'BEGIN { printf "%.1f s", ms / 1000 }')
	record "$1" legit
}

# ratware LABEL - a message straight to the backup
ratware() {
	sx_mark
	sx_rat_send "$RUN_ID-$1"
	SX_MX1_MET=not-tried
	record "$1" ratware
}

# run MODE ACTION SENDER SCENARIO - one scenario from scratch
run() {
	MODE=$1 ACTION=$2 SENDER=$3 SCENARIO=$4
	local pool=no greylist=() mx1=()
	[ "$MODE" = POOL ] && pool=yes
	RUN_T0=$SECONDS
	sx_run_begin "$MODE-$ACTION-$SENDER-$SCENARIO"
	[ "$pool" = yes ] && { redis_cli FLUSHALL >/dev/null || fail "redis FLUSHALL"; }
	sx_milter_conf "$RUN/mx2.conf" "$ACTION" "$pool"
	sx_milter mx2 "$RUN/mx2.conf"
	if [ "$pool" = yes ]; then
		sx_milter_conf "$RUN/mx1.conf" "$ACTION" yes
		sx_milter mx1 "$RUN/mx1.conf"
		mx1+=("smtpd_milters = { unix:$SX_SOCK_mx1, default_action=tempfail, command_timeout=15s }")
	fi
	greylist=("smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:$SX_PG_ADDR")
	sx_start_mx2
	case $SENDER in
	postfix) sx_start_sender ;;
	exim) sx_exim_config ;;
	esac

	case $SCENARIO in
	greylist)
		sx_postgrey "$PG_DELAY"
		sx_start_mx1 "${mx1[@]}" "${greylist[@]}"
		legit A
		;;
	greylist-retry)
		sx_postgrey "$PG_DELAY_RETRY"
		sx_start_mx1 "${mx1[@]}" "${greylist[@]}"
		legit A 45 final
		;;
	defer-after-data)
		sx_start_mx1 "${mx1[@]}" "smtpd_end_of_data_restrictions = defer"
		legit A
		;;
	outage)
		legit A
		;;
	recent-outage)
		legit A
		sx_start_mx1 "${mx1[@]}"
		# ProbeTTLDown 1: the cached "down" is gone when B comes
		sleep 2
		[ "$SENDER" = exim ] && sx_exim_retrydb >"$RUN/retrydb-B"
		legit B
		;;
	outage-after-probe)
		sx_start_mx1 "${mx1[@]}"
		# ProbeTTLUp 300: the backup's milter keeps mx1 "up"
		ratware R
		sx_postfix_stop mx1
		sleep "$CONFIRM_WAIT"
		legit A
		;;
	ratware)
		sx_start_mx1 "${mx1[@]}"
		ratware R
		;;
	*) fail "no scenario $SCENARIO" ;;
	esac
	sx_run_end
	[ -z "${SENDERS_TRACE:-}" ] || echo "#   $RUN_ID: $((SECONDS - RUN_T0)) s"
}

echo "# per message (A, B: legitimate; R: ratware): what the sender met at mx1, where the"
echo "# message went (+ seconds to delivery), tagged (X-MX-Bypass), the milters' verdict/reason/action"
# shellcheck disable=SC2059
printf "$FMT" mode action sender scenario msg "at mx1" went tag "mx1 milter" "mx2 milter"
for MODE_ in $MODES; do
	for ACTION_ in $ACTIONS; do
		for SENDER_ in $SENDERS; do
			for SCENARIO_ in $SCENARIOS; do
				run "$MODE_" "$ACTION_" "$SENDER_" "$SCENARIO_"
			done
		done
	done
	for ACTION_ in tag reject tempfail; do
		run "$MODE_" "$ACTION_" rat ratware
	done
done
case " $MODES " in *" NOPOOL "*)
	for SENDER_ in $SENDERS; do
		run NOPOOL tempfail "$SENDER_" greylist-retry
	done
	;;
esac
ELAPSED_ALL=$((SECONDS - T0))
sx_milters_reap

# --- totals ----------------------------------------------------------------
echo
awk -F'|' '
	function add(k) {
		fb[k]++
		if ($9 == "yes") tg[k]++
		if ($10 ~ /\/tempfail/) tf[k]++
		if ($10 ~ /\/reject/) rj[k]++
	}
	$6 == "legit" && $10 != "-" {
		if ($4 == "greylist-retry") add("retry")
		else if ($1 == "NOPOOL" && ($4 == "greylist" || $4 == "defer-after-data")) add("expected")
		else add($1)
	}
	$6 == "ratware" {
		rs[$1]++
		if ($10 ~ /^bypass\// && ($9 == "yes" || $8 == "rejected" || $8 == "tempfailed")) rc[$1]++
	}
	END {
		printf "# legitimate fallbacks (messages that reached mx2): %d\n", fb["POOL"] + fb["NOPOOL"] + fb["expected"] + fb["retry"]
		printf "#   POOL, every scenario:                        %3d, falsely tagged %d, tempfailed %d, rejected %d\n", fb["POOL"], tg["POOL"], tf["POOL"], rj["POOL"]
		printf "#   NO POOL, outages:                            %3d, falsely tagged %d, tempfailed %d, rejected %d\n", fb["NOPOOL"], tg["NOPOOL"], tf["NOPOOL"], rj["NOPOOL"]
		printf "#   NO POOL, greylist/defer-after-data (no witness without a pool, expected):\n"
		printf "#                                                %3d, tagged %d, tempfailed %d, rejected %d\n", fb["expected"], tg["expected"], tf["expected"], rj["expected"]
		printf "#   NO POOL, greylist with tempfail+RetryAfter:  %3d, tagged %d, tempfailed %d (then delivered)\n", fb["retry"], tg["retry"], tf["retry"]
		printf "# ratware sent/caught: POOL %d/%d, NO POOL %d/%d\n", rs["POOL"], rc["POOL"], rs["NOPOOL"], rc["NOPOOL"]
	}' "$RESULTS"
echo "# $(grep -c . "$RESULTS") messages, $SX_RUN_N runs in $ELAPSED_ALL s"

# --- assertions --------------------------------------------------------------
FAILED=0
# check MESSAGE COMMAND... - pass, or count a failure (all are reported)
check() {
	local msg=$1
	shift
	if "$@"; then pass "$msg"; else echo "FAIL: $msg" >&2; FAILED=$((FAILED + 1)); fi
}
# q AWK_CONDITION - how many messages match; none AWK_CONDITION - not one
q() { awk -F'|' "$1 { n++ } END { print n + 0 }" "$RESULTS"; }
none() { [ "$(q "$1")" = 0 ]; }
CAUGHT='($10 ~ /^bypass\// && ($9 == "yes" || $8 == "rejected" || $8 == "tempfailed"))'
# all_caught AWK_CONDITION - some messages match, every one of them caught
all_caught() { [ "$(q "$1")" -gt 0 ] && none "$1 && !$CAUGHT"; }
ACCUSED='($9 == "yes" || $10 ~ /\/(reject|tempfail)/)'

# The scenarios did what they say (else the rest proves nothing)
ran() { [ "$(q '$4 == "'"$1"'"')" -gt 0 ]; }
ran greylist && check "greylist: every sender met a 4xx at RCPT at mx1 (postgrey)" \
	none '$4 == "greylist" && $7 !~ /^4[0-9][0-9]@rcpt$/'
ran defer-after-data && check "defer-after-data: every sender met a 4xx after DATA at mx1" \
	none '$4 == "defer-after-data" && $7 !~ /^4[0-9][0-9]@data$/'
{ ran outage || ran recent-outage || ran outage-after-probe; } \
	&& check "outage, recent-outage (A), outage-after-probe: every sender was refused at mx1" \
	none '$6 == "legit" && ($4 == "outage" || $4 == "outage-after-probe" || ($4 == "recent-outage" && $5 == "A")) && $7 != "refused"'
ran recent-outage && check "recent-outage (B): Postfix delivered to mx1 again, Exim skipped mx1 (retry database)" \
	none '$4 == "recent-outage" && $5 == "B" && !(($3 == "postfix" && $7 == "accepted" && $8 == "primary") || ($3 == "exim" && $7 ~ /^not-tried/))'
check "every message mx2 took or refused has its verdict line from mx2's milter" \
	none '($8 == "backup" || $8 == "bounced" || $8 == "rejected" || $8 == "tempfailed" || ($8 == "queued" && $6 == "legit")) && $10 == "-"'
check "no legitimate message went to mx1 where it should have fallen back (recent-outage B aside)" \
	none '$6 == "legit" && !($4 == "recent-outage" && $5 == "B") && $8 == "primary" && $4 != "greylist-retry"'
case " $MODES " in *" POOL "*)
	ran defer-after-data && check "POOL: mx1's milter saw the senders mx1 deferred after DATA (verdict=primary)" \
		none '$1 == "POOL" && $4 == "defer-after-data" && $11 !~ /primary\//'
	{ ran greylist || ran defer-after-data; } \
		&& check "POOL: mx1's milter left a witness in Redis for every sender mx1 greylisted or deferred" \
		none '$1 == "POOL" && ($4 == "greylist" || $4 == "defer-after-data") && $13 != "yes"'
	;;
esac

for MODE_ in $MODES; do
	for SENDER_ in $SENDERS; do
		for SCENARIO_ in $SCENARIOS; do
			this='$1 == "'"$MODE_"'" && $3 == "'"$SENDER_"'" && $4 == "'"$SCENARIO_"'" && $6 == "legit"'
			[ "$(q "$this")" -gt 0 ] || continue
			if [ "$MODE_" = NOPOOL ]; then
				case $SCENARIO_ in greylist|defer-after-data)
					echo "# NO POOL $SENDER_ $SCENARIO_: $(q "$this && $ACCUSED") of $(q "$this") accused (expected without a pool, not asserted)"
					continue ;;
				esac
			fi
			check "$MODE_ $SENDER_ $SCENARIO_: no legitimate fallback tagged, tempfailed or rejected (Action ${ACTIONS// /, })" \
				none "$this && $ACCUSED"
		done
	done
	rat='$1 == "'"$MODE_"'" && $6 == "ratware"'
	check "$MODE_: every ratware message caught ($(q "$rat") sent: tagged, rejected or tempfailed as the Action says)" \
		all_caught "$rat"
done
case " $MODES " in *" NOPOOL "*)
	for SENDER_ in $SENDERS; do
		line=$(awk -F'|' -v s="$SENDER_" '$1 == "NOPOOL" && $3 == s && $4 == "greylist-retry"' "$RESULTS")
		where=$(cut -d'|' -f8 <<<"$line")
		check "NO POOL $SENDER_ greylisted by mx1, Action tempfail, RetryAfter 3: delivered ($where after $(cut -d'|' -f12 <<<"$line"))" \
			grep -qxE 'primary|backup' <<<"$where"
	done
	;;
esac
check "all $SX_REAPED milters stopped cleanly (exit 0)${SX_REAP_BAD:+; not:$SX_REAP_BAD}" \
	test -z "$SX_REAP_BAD"
[ "$FAILED" = 0 ] || fail "$FAILED assertions failed (logs: KEEP_TMP=1, then $T/runs)"
